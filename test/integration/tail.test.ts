/**
 * inputs.tail driven as `mon collect` processes over real files: rotation by rename and by
 * copytruncate while lines are appended, SIGKILL and restart (every line stored exactly once),
 * nginx combined lines, a regex that does not compile, a file removed and recreated, events.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, it} from 'node:test'
import {BIN, runMon} from '../helpers/cli.js'
import {tempDir, waitFor} from '../helpers/servers.js'

let tmp: ReturnType<typeof tempDir>
before(() => {
  tmp = tempDir('mon-tail-')
})
after(() => tmp.cleanup())

const BASE = 1_700_000_000_000 // 2023-11-14T22:13:20Z: line n has time BASE + n ms
const AT = '2023-11-14T23:00:00Z'

function startCollect(config: string): {child: ChildProcess; err: () => string; out: () => string} {
  const child = spawn(process.execPath, [BIN, 'collect', '--config', config, '--json'], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  return {child, err: () => err, out: () => out}
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))))
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * A config tailing `log` from its beginning, each line `ts=<ms> n=<n>` a point with field n at its
 * own time; `agent` and `input` add settings to those sections.
 */
function numberedTailConfig(dir: string, log: string, opts: {agent?: string; input?: string} = {}): string {
  const config = join(dir, 'mon.yaml')
  writeFileSync(
    config,
    `data_dir: ${dir}/data
host: box
agent: {${opts.agent ?? ''}self_metrics: false}
inputs:
  host: {enabled: false}
  tail:
    - name: app
      files: [${log}]
      from_beginning: true
      pattern: '^ts=(?P<ts>\\d+) n=(?P<n>\\d+)$'
      fields: {n: int}
      time: {field: ts, format: unix_ms}
${opts.input ?? ''}`,
  )
  return config
}

/** Lines `from`..`to` of a numbered log (line n at time BASE + n ms). */
const numberedLines = (from: number, to: number) => Array.from({length: to - from + 1}, (_, i) => `ts=${BASE + from + i} n=${from + i}\n`).join('')

async function queryValue(config: string, expr: string): Promise<number | undefined> {
  const q = await runMon(['query', expr, '--at', AT, '--config', config, '--json'])
  assert.equal(q.code, 0, q.stderr)
  const r = JSON.parse(q.stdout) as {series: Array<{values: Array<[string, number]>}>}
  if (r.series.length === 0) return undefined
  assert.equal(r.series.length, 1, q.stdout)
  return Number(r.series[0]!.values[0]![1])
}

it('rotation by rename and by copytruncate, SIGKILL and restart: every line stored exactly once', {timeout: 180_000}, async () => {
  const dir = join(tmp.dir, 'rot')
  mkdirSync(join(dir, 'logs'), {recursive: true})
  const log = join(dir, 'logs', 'app.log')
  const config = numberedTailConfig(dir, log, {agent: 'flush_interval: 100ms, ', input: '      interval: 200ms\n'})
  const statePath = join(dir, 'data', 'state', 'tail', 'tail_app.json')
  let next = 1
  const append = (count: number) => {
    let text = ''
    for (let i = 0; i < count; i++, next++) text += `ts=${BASE + next} n=${next}\n`
    appendFileSync(log, text)
  }
  /** appends `count` lines in small bursts, letting the collector run in between */
  const appendSlowly = async (count: number) => {
    for (let done = 0; done < count; done += 25) {
      append(Math.min(25, count - done))
      await pause(20)
    }
  }
  const committed = () => {
    if (!existsSync(statePath)) return undefined
    return (JSON.parse(readFileSync(statePath, 'utf8')) as {files: Record<string, {ino: number; offset: number}>}).files[log]
  }
  /** the state says the collector has read (and spooled) all of the current file */
  const caughtUp = async () => {
    const s = statSync(log)
    const c = committed()
    return c !== undefined && c.ino === s.ino && c.offset === s.size
  }

  writeFileSync(log, '')
  let run = startCollect(config)
  append(1)
  // the collector is following the file (a file renamed before it first looked is not its to read)
  await waitFor(async () => (committed()?.offset ?? 0) > 0, 'collector following the file', 60_000, run.child, run.err)
  await appendSlowly(399)
  // rotation by rename while the collector runs: the old file is read to its end, the new one from its start
  renameSync(log, log + '.1')
  await appendSlowly(400)
  await waitFor(caughtUp, 'collector caught up after a rename', 60_000, run.child, run.err)
  // SIGKILL in the middle of appending
  await appendSlowly(100)
  run.child.kill('SIGKILL')
  await exited(run.child)
  append(100)
  // rotation by rename while the collector is down: found again by its inode after the restart
  append(200)
  renameSync(log, log + '.2')
  append(200)

  run = startCollect(config)
  await waitFor(caughtUp, 'collector caught up after the restart', 60_000, run.child, run.err)
  // copytruncate: the file is copied away and truncated; it starts over at 0
  copyFileSync(log, log + '.3')
  truncateSync(log, 0)
  append(50)
  await waitFor(caughtUp, 'collector caught up after copytruncate', 60_000, run.child, run.err)
  await appendSlowly(150)
  await waitFor(caughtUp, 'collector caught up at the end', 60_000, run.child, run.err)
  run.child.kill('SIGTERM')
  assert.equal(await exited(run.child), 0, run.err())
  const summary = JSON.parse(run.out()) as {inputs: Array<{name: string; dropped: number}>}
  assert.equal(summary.inputs.find((i) => i.name === 'tail:app')?.dropped, 0)

  const total = next - 1
  assert.equal(total, 1600)
  assert.equal(await queryValue(config, `count_over_time(tail.n[1h])`), total, 'every line once')
  assert.equal(await queryValue(config, `sum_over_time(tail.n[1h])`), (total * (total + 1)) / 2, 'each number once')
})

const NGINX = [
  '203.0.113.7 - alice [14/Nov/2023:22:13:20 +0000] "GET /api/users?id=1 HTTP/1.1" 200 512 "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)"',
  '203.0.113.8 - - [14/Nov/2023:22:13:21 +0000] "POST /api/orders HTTP/2.0" 502 157 "-" "curl/8.5.0"',
  '198.51.100.2 - - [14/Nov/2023:23:13:22 +0100] "POST /api/orders HTTP/2.0" 503 - "-" "curl/8.5.0"',
  'this is not an access log line',
]

it('nginx combined lines: tags, fields, time; 5xx lines as events counted in rules syntax', {timeout: 60_000}, async () => {
  const dir = join(tmp.dir, 'nginx')
  mkdirSync(dir, {recursive: true})
  const log = join(dir, 'access.log')
  writeFileSync(log, NGINX.join('\n') + '\n')
  const config = join(dir, 'mon.yaml')
  writeFileSync(
    config,
    `data_dir: ${dir}/data
host: box
agent: {self_metrics: false}
inputs:
  host: {enabled: false}
  tail:
    - name: nginx
      files: [${dir}/*.log]
      from_beginning: true
      format: nginx
      measurement: nginx_access
      tags: [method, status, path]
      fields: {bytes: int}
      events:
        - match: '" (?P<code>5\\d\\d) '
          title: '{{code}} on {{path}}'
          tags: [method]
`,
  )
  const once = await runMon(['collect', '--once', '--json', '--config', config])
  assert.equal(once.code, 0, once.stderr)
  const q = await runMon(['query', 'last_over_time(nginx_access.bytes[1h])', '--at', AT, '--config', config, '--json'])
  assert.equal(q.code, 0, q.stderr)
  const series = (JSON.parse(q.stdout) as {series: Array<{tags: Record<string, string>; values: Array<[string, number]>}>}).series
  const byStatus = Object.fromEntries(series.map((s) => [s.tags.status, s]))
  assert.deepEqual(Object.keys(byStatus).sort(), ['200', '502'], '503 has no bytes field ("-")')
  assert.deepEqual(byStatus['200']!.tags, {file: log, host: 'box', method: 'GET', path: '/api/users?id=1', status: '200'})
  assert.equal(byStatus['200']!.values[0]![1], 512)
  assert.equal(byStatus['502']!.values[0]![1], 157)
  // time from the line: 23:13:22 +0100 is 22:13:22Z
  const c = await runMon(['query', 'count_over_time(nginx_access.count[1h])', '--at', AT, '--config', config, '--json'])
  assert.match(c.stdout, /"status": "503"/)
  const t = await runMon(['query', 'timestamp(last_over_time(nginx_access.count{status="503"}[1h]))', '--at', AT, '--config', config, '--json'])
  assert.equal(t.code, 0, t.stderr)
  assert.match(t.stdout, /1700000002/)

  assert.equal(await queryValue(config, 'sum(count_over_time(events{source="tail"}[1h]))'), 2)
  const e = await runMon(['query', 'count_over_time(events{source="tail", method="POST"}[1h])', '--at', AT, '--config', config, '--json'])
  assert.match(e.stdout, new RegExp(`"file": "${log.replace(/[/.]/g, '\\$&')}"`))
  // the titles, read back as line protocol
  const lp = join(dir, 'out.lp')
  const a = await runMon(['store', 'archive', '--after', '2023-11-14T00:00:00Z', '--before', AT, '--to', lp, '--config', config])
  assert.equal(a.code, 0, a.stderr)
  const events = readFileSync(lp, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('events,'))
    .sort()
  assert.equal(events.length, 2, events.join('\n'))
  assert.match(events[0]!, /^events,file=\S+,host=box,method=POST,source=tail title="502 on \/api\/orders",value=1 1700000001000$/)
  assert.match(events[1]!, /^events,file=\S+,host=box,method=POST,source=tail title="503 on \/api\/orders",value=1 1700000002000$/)
  // the unmatched line is counted
  const u = await runMon(['query', `last_over_time(mon_internal.unmatched{component="tail"}[10000d])`, '--config', config, '--json'])
  assert.equal(u.code, 0, u.stderr)
  assert.match(u.stdout, /"values": \[\s*\[\s*"[^"]+",\s*1\s*\]/)
})

it('a pattern that does not compile is a config error with file:line:col, exit 2', {timeout: 30_000}, async () => {
  const dir = join(tmp.dir, 'badre')
  mkdirSync(dir, {recursive: true})
  const config = join(dir, 'mon.yaml')
  writeFileSync(
    config,
    `data_dir: ${dir}/data
inputs:
  tail:
    - files: [${dir}/x.log]
      pattern: '(?P<n>\\d+'
`,
  )
  const r = await runMon(['collect', '--once', '--config', config])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, new RegExp(`mon\\.yaml:5:16: .*invalid regular expression`))
  const events = config.replace('mon.yaml', 'ev.yaml')
  writeFileSync(events, `data_dir: ${dir}/data\ninputs:\n  tail:\n    - files: [${dir}/x.log]\n      events:\n        - match: 'a(b'\n          title: x\n`)
  const e = await runMon(['collect', '--once', '--config', events])
  assert.equal(e.code, 2, e.stderr)
  assert.match(e.stderr, /ev\.yaml:6:18: .*invalid regular expression/)
})

it('a file removed and recreated: counted as missing, then followed again from its start', {timeout: 60_000}, async () => {
  const dir = join(tmp.dir, 'gone')
  mkdirSync(dir, {recursive: true})
  const log = join(dir, 'app.log')
  const config = numberedTailConfig(dir, log)
  writeFileSync(log, numberedLines(1, 10))
  const first = await runMon(['collect', '--once', '--json', '--config', config])
  assert.equal(first.code, 0, first.stderr)
  rmSync(log)
  const second = await runMon(['collect', '--once', '--json', '--config', config])
  const s2 = JSON.parse(second.stdout) as {runs: Array<{input: string; error?: string}>}
  assert.match(s2.runs[0]!.error ?? '', /app\.log: missing \(looked for again at the next run\)/)
  const missing = await runMon(['query', `last_over_time(mon_internal.missing{component="tail"}[10000d])`, '--config', config, '--json'])
  assert.match(missing.stdout, /"values": \[\s*\[\s*"[^"]+",\s*1\s*\]/, missing.stdout)
  // recreated, longer than before: a new file from its start, even if it got the old inode number
  writeFileSync(log, numberedLines(11, 30))
  const third = await runMon(['collect', '--once', '--json', '--config', config])
  assert.equal(third.code, 0, third.stderr)
  assert.equal((JSON.parse(third.stdout) as {runs: Array<{error?: string}>}).runs[0]!.error, undefined)
  assert.equal(await queryValue(config, 'count_over_time(tail.n[1h])'), 30)
  assert.equal(await queryValue(config, 'sum_over_time(tail.n[1h])'), (30 * 31) / 2)

  // the same in a running collector: removed, counted, recreated, followed
  rmSync(log)
  const run = startCollect(config)
  await waitFor(async () => /missing/.test(run.err()), 'the collector saw the file missing', 30_000, run.child, run.err)
  writeFileSync(log, numberedLines(31, 33))
  await waitFor(async () => (await queryValue(config, 'count_over_time(tail.n[1h])')) === 33, 'lines of the recreated file stored', 30_000, run.child, run.err)
  run.child.kill('SIGTERM')
  assert.equal(await exited(run.child), 0, run.err())
  assert.equal(await queryValue(config, 'sum_over_time(tail.n[1h])'), (33 * 34) / 2)
})


it('an unreadable path (a directory where the log should be): counted and reported, then read once it is a file', {timeout: 60_000}, async () => {
  const dir = join(tmp.dir, 'unreadable')
  mkdirSync(dir, {recursive: true})
  const log = join(dir, 'app.log')
  const config = numberedTailConfig(dir, log)
  mkdirSync(log)
  const first = await runMon(['collect', '--once', '--json', '--config', config])
  const s1 = JSON.parse(first.stdout) as {runs: Array<{error?: string}>}
  assert.match(s1.runs[0]!.error ?? '', /app\.log: .*EISDIR.*\(tried again at the next run\)/)
  const u = await runMon(['query', `last_over_time(mon_internal.unreadable{component="tail"}[10000d])`, '--config', config, '--json'])
  assert.match(u.stdout, /"values": \[\s*\[\s*"[^"]+",\s*1\s*\]/, u.stdout)
  rmSync(log, {recursive: true})
  writeFileSync(log, numberedLines(1, 2))
  const second = await runMon(['collect', '--once', '--json', '--config', config])
  assert.equal(second.code, 0, second.stderr)
  assert.equal((JSON.parse(second.stdout) as {runs: Array<{error?: string}>}).runs[0]!.error, undefined)
  assert.equal(await queryValue(config, 'count_over_time(tail.n[1h])'), 2)
})
