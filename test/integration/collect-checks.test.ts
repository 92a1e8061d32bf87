/**
 * Pull inputs against real loopback servers, through the same path as `mon collect --once`
 * (collect → spool → store): an exporter page scraped from static URLs and file_sd targets, HTTP
 * checks answering 200, 500 and not at all, a TCP check, an exec script; then the CLI's --once
 * with the store unreachable keeps the points in the spool, and the next run writes them.
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {createServer as createTcpServer, type Server as TcpServer} from 'node:net'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {buildInputs, collectorContext} from '../../src/core/collectors/registry.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {silentLogger} from '../../src/core/log.js'
import {runOnce} from '../../src/core/pipeline/once.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {ROOT, runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

const page = readFileSync(join(ROOT, 'test', 'fixtures', 'prometheus', 'node-exporter.txt'), 'utf8')
let http: Server
let tcp: TcpServer
let base: string
let tcpPort: number
let tmp: ReturnType<typeof tempDir>

before(async () => {
  tmp = tempDir('mon-checks-')
  http = createServer((req, res) => {
    if (req.url === '/metrics' || req.url === '/other/metrics?module=x') res.writeHead(200, {'content-type': 'text/plain; version=0.0.4'}).end(page)
    else if (req.url === '/ok') res.end('all good')
    else if (req.url === '/error') res.writeHead(500).end('broken')
    else if (req.url === '/slow') return // never answers
    else res.writeHead(404).end()
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  tcp = createTcpServer((s) => s.on('data', () => s.end('+PONG\r\n')))
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r))
  tcpPort = (tcp.address() as AddressInfo).port
  const port = (http.address() as AddressInfo).port
  writeFileSync(join(tmp.dir, 'targets.json'), JSON.stringify([{targets: [`127.0.0.1:${port}`], labels: {job: 'node', env: 'test', __metrics_path__: '/other/metrics', __param_module: 'x'}}]))
})

after(async () => {
  http.closeAllConnections()
  await new Promise((r) => http.close(r))
  await new Promise((r) => tcp.close(r))
  tmp.cleanup()
})

function config(dataDir: string, store = '') {
  return `data_dir: ${dataDir}
host: test-host
${store}
agent: {self_metrics: true}
inputs:
  host: {enabled: false}
  http:
    - {name: ok, url: ${base}/ok, body_regex: good, tags: {team: web}}
    - {name: error, url: ${base}/error}
    - {name: slow, url: ${base}/slow, timeout: 300ms}
  tcp:
    - {name: redis, address: 127.0.0.1:${tcpPort}, send: "PING\\r\\n", expect: "+PONG"}
  prometheus:
    - {name: node, urls: [${base}/metrics]}
    - {name: sd, file_sd: [${join(tmp.dir, '*.json')}]}
  exec:
    - {name: script, command: [${JSON.stringify(process.execPath)}, -e, "console.log(JSON.stringify({depth: 4, queue: 'mail'}))"], data_format: json, name_override: queue, tag_keys: [queue]}
`
}

describe('pull inputs into the store', () => {
  it('collect once: checks, scrapes and exec land in the store with Telegraf names', async () => {
    const dataDir = join(tmp.dir, 'once')
    const {config: cfg} = parseConfigText(config(dataDir), '<test>', {})
    const store = new SqliteStore({path: join(dataDir, 'mon.db')})
    const inputs = buildInputs(cfg, collectorContext(cfg, dataDir, systemClock, silentLogger))
    assert.deepEqual(
      inputs.map((i) => i.name),
      ['http:ok', 'http:error', 'http:slow', 'tcp:redis', 'prometheus:node', 'prometheus:sd', 'exec:script'],
    )
    const summary = await runOnce({config: cfg, dataDir, inputs, store, clock: systemClock, timeout: 10_000, flushTimeout: 5000})
    assert.equal(summary.failed, 0, JSON.stringify(summary.runs))
    assert.equal(summary.pending, 0)
    assert.ok(summary.written >= summary.points)

    const q = async (measurement: string, field: string) => store.query({measurement, field, matchers: [], start: 0, end: Date.now() + 60_000})
    const http = Object.fromEntries((await q('http_response', 'result_code')).map((f) => [f.tags.server, {tags: f.tags, code: f.rows[0]![1]}]))
    assert.deepEqual(http[`${base}/ok`]!.tags, {host: 'test-host', method: 'GET', result: 'success', server: `${base}/ok`, status_code: '200', team: 'web'})
    assert.equal(http[`${base}/ok`]!.code, 0)
    assert.equal(http[`${base}/error`]!.tags.result, 'response_status_code_mismatch')
    assert.equal(http[`${base}/error`]!.tags.status_code, '500')
    assert.equal(http[`${base}/slow`]!.tags.result, 'timeout')
    assert.equal(http[`${base}/slow`]!.code, 4)
    const matched = await q('http_response', 'response_string_match')
    assert.equal(matched[0]!.rows[0]![1], 1)

    const [net] = await q('net_response', 'result_code')
    assert.deepEqual(net!.tags, {host: 'test-host', port: String(tcpPort), protocol: 'tcp', result: 'success', server: '127.0.0.1'})

    const load = await q('node_load1', 'gauge')
    const byUrl = Object.fromEntries(load.map((f) => [f.tags.url, f]))
    assert.equal(byUrl[`${base}/metrics`]!.rows[0]![1], 0.52)
    const sd = byUrl[`${base}/other/metrics?module=x`]!
    assert.equal(sd.tags.job, 'node', 'file_sd labels become tags')
    assert.equal(sd.tags.env, 'test')
    assert.equal(sd.tags.__metrics_path__, undefined)
    const quantiles = await q('go_gc_duration_seconds', '0.5')
    assert.equal(quantiles[0]!.rows[0]![1], 5.4461e-5, 'summaries keep their quantiles as fields')

    const [queue] = await q('queue', 'depth')
    assert.equal(queue!.tags.queue, 'mail')
    const internal = await q('mon_internal', 'gathered')
    assert.ok(internal.some((f) => f.tags.input === 'prometheus:node' && (f.rows[0]![1] as number) > 10))
    await store.close()
  })

  it('file_sd re-reads a target file when it changes', async () => {
    const dataDir = join(tmp.dir, 'sd')
    const file = join(tmp.dir, 'targets.json')
    const original = readFileSync(file, 'utf8')
    const {config: cfg} = parseConfigText(config(dataDir), '<test>', {})
    const [sd] = buildInputs(cfg, collectorContext(cfg, dataDir, systemClock, silentLogger), ['prometheus:sd'])
    const first = await sd!.collector.collect(AbortSignal.timeout(5000))
    assert.ok(first.every((p) => p.tags.env === 'test'))
    writeFileSync(file, original.replace('"env":"test"', '"env":"staging"') + '\n')
    const second = await sd!.collector.collect(AbortSignal.timeout(5000))
    assert.ok(second.length > 0 && second.every((p) => p.tags.env === 'staging'))
    writeFileSync(file, original)
  })

  it('mon collect --once with the store down keeps the points in the spool; the next run writes them', async () => {
    const dataDir = join(tmp.dir, 'cli')
    const file = join(tmp.dir, 'cli.yaml')
    const down = `store: {type: influxdb, url: "http://127.0.0.1:1", version: 1, max_retries: 0, timeout: 1s}`
    writeFileSync(file, config(dataDir, down))
    const r1 = await runMon(['collect', '--once', '--config', file, '--drain-timeout', '1s', '--input', 'http', '--json'])
    assert.equal(r1.code, 1, r1.stderr)
    const s1 = JSON.parse(r1.stdout) as {mode: string; pending: number; points: number; written: number}
    assert.equal(s1.mode, 'once')
    assert.equal(s1.written, 0)
    assert.ok(s1.pending >= 3)
    assert.match(r1.stderr, /error: store unavailable \(cannot reach InfluxDB at http:\/\/127\.0\.0\.1:1.*\): \d+ points kept in the spool .*; they are written on the next run/)

    writeFileSync(file, config(dataDir)) // store back (the embedded one)
    const r2 = await runMon(['collect', '--once', '--config', file, '--input', 'tcp', '--json'])
    assert.equal(r2.code, 0, r2.stderr)
    const s2 = JSON.parse(r2.stdout) as {backlog: number; written: number; pending: number}
    assert.equal(s2.backlog, s1.pending, 'the earlier run left these')
    assert.ok(s2.written >= s1.pending + 1)
    assert.equal(s2.pending, 0)
    const q = await runMon(['query', 'count(http_response.result_code)', '--since', '1h', '--config', file, '--json'])
    assert.equal(q.code, 0, q.stderr)
    assert.match(q.stdout, /"value": 3|3/)
  })

  it('--input names are checked, with a suggestion', async () => {
    const file = join(tmp.dir, 'cli.yaml')
    const r = await runMon(['collect', '--once', '--config', file, '--input', 'http:okk'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--input http:okk: no such input/)
    assert.match(r.stderr, /did you mean http:ok\?/)
  })
})
