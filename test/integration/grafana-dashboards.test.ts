/**
 * The dashboards `mon grafana export` writes work on a collected host, on the embedded store and on
 * an InfluxDB store (a real influxd): `mon collect --once` (host metrics, an HTTPS check against a
 * loopback server of the test — so http_response and x509_cert — and a TCP check) a few times and
 * `mon alerts eval --once` with a rule that fires (the `alerts` series and alert events) fill the
 * store; then a `mon daemon` on it answers EVERY panel query, template variable query and
 * annotation query of the exported dashboards through its /query, sent as Grafana's InfluxQL
 * backend sends them with Grafana's macros substituted: each without an error and with data.
 * The exported JSON and provisioning files are checked for shape too (unique uids and panel ids,
 * the data source referenced by uid, gridPos inside the 24-column grid without overlaps).
 *
 * Grafana's macros: $timeFilter for an absolute range (`time >= <from>ms and time <= <to>ms`, the
 * span of the collections), $__interval and $interval for that range (Grafana divides the range by
 * the panel's width in points: a few seconds → 200ms), $host → the collected host.
 */
import assert from 'node:assert/strict'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse} from 'yaml'
import type {GrafanaDashboard} from '../../src/core/grafana/dashboards.js'
import type {GrafanaExport} from '../../src/core/grafana/export.js'
import {runMon} from '../helpers/cli.js'
import {startMonDaemon, type RunningDaemon} from '../helpers/mon-daemon.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'
import {makeTestPki} from '../helpers/tls.js'

const HOST = 'grafana-box'
let tmp: ReturnType<typeof tempDir>
let https: Server
let influxd: RunningServer
let exported: GrafanaExport
let dashboards: GrafanaDashboard[]

/** A daemon over a store filled by `mon collect --once` and `mon alerts eval --once`, and the span they wrote. */
interface World {
  store: string
  daemon: RunningDaemon
  from: number
  to: number
}
const worlds: World[] = []

before(async () => {
  tmp = tempDir('mon-grafana-')
  const pki = makeTestPki(tmp.dir)
  https = createServer({cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey)}, (_req, res) => res.end('ok'))
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r))
  const port = (https.address() as {port: number}).port
  writeFileSync(
    join(tmp.dir, 'rules.yaml'),
    `groups:
  - name: checks
    interval: 10s
    rules:
      - alert: WebCheckSeen
        expr: max(http_response.result_code) by (server) >= 0
        labels: {severity: info}
        annotations: {summary: 'check of {{ $labels.server }} ran'}
`,
  )
  const config = (store: string) => `host: ${HOST}
agent: {self_metrics: false}
${store}inputs:
  http:
    - {name: web, url: "https://127.0.0.1:${port}/", tls_verify: false, interval: 10s}
  tcp:
    - {name: web-tcp, address: "127.0.0.1:${port}", interval: 10s}
rules: {files: [${join(tmp.dir, 'rules.yaml')}]}
api: {listen: "127.0.0.1:0"}
`
  const env = {MON_CONFIG: '', MON_API_TOKEN: ''}
  const collect = async (name: string, store: string): Promise<World> => {
    const dir = join(tmp.dir, name)
    mkdirSync(dir, {recursive: true})
    const configPath = join(dir, 'mon.yaml')
    writeFileSync(configPath, `data_dir: ${join(dir, 'data')}\n${config(store)}`)
    const from = Date.now() - 1000
    for (let i = 0; i < 4; i++) {
      const c = await runMon(['collect', '--once', '--config', configPath, '--json'], {env})
      assert.equal(c.code, 0, c.stdout + c.stderr)
    }
    const evaluated = await runMon(['alerts', 'eval', '--once', '--config', configPath, '--json'], {env})
    assert.equal(evaluated.code, 0, evaluated.stdout + evaluated.stderr)
    assert.match(evaluated.stdout, /WebCheckSeen/)
    const to = Date.now() + 1000
    return {store: name, daemon: await startMonDaemon(dir, config(store)), from, to}
  }

  // the embedded store (the default), and the same through a real influxd as mon's store
  influxd = await startInfluxd()
  assert.equal((await fetch(`${influxd.url}/query`, {method: 'POST', body: new URLSearchParams({q: 'CREATE DATABASE mon'})})).status, 200)
  worlds.push(await collect('embedded', ''))
  worlds.push(await collect('influxdb', `store: {type: influxdb, url: "${influxd.url}", database: mon}\n`))

  const out = join(tmp.dir, 'grafana')
  const ex = await runMon(['grafana', 'export', '--out', out, '--config', join(tmp.dir, 'embedded', 'mon.yaml'), '--json'], {env})
  assert.equal(ex.code, 0, ex.stderr)
  exported = JSON.parse(ex.stdout) as GrafanaExport
  dashboards = exported.files.filter((f) => f.kind === 'dashboard').map((f) => JSON.parse(readFileSync(f.path, 'utf8')) as GrafanaDashboard)
})

after(async () => {
  await Promise.all(worlds.map((w) => w.daemon.stop()))
  await influxd?.destroy()
  await new Promise((r) => https?.close(r))
  tmp?.cleanup()
})

/** Grafana's macro substitution for the test's range (see the file comment). */
function substitute(query: string, w: World): string {
  return query
    .replaceAll('$timeFilter', `time >= ${w.from}ms and time <= ${w.to}ms`)
    .replaceAll('$__interval', '200ms')
    .replaceAll('$interval', '200ms')
    .replaceAll('$host', HOST)
}

interface Answer {
  results?: Array<{statement_id: number; error?: string; series?: Array<{name: string; columns: string[]; values?: unknown[][]; tags?: Record<string, string>}>}>
  error?: string
}

/** The request Grafana's InfluxQL backend makes (httpMode POST): db and epoch in the URL, q in a form body. */
async function run(w: World, query: string): Promise<Answer> {
  const res = await fetch(`${w.daemon.url}/query?db=mon&epoch=ms`, {method: 'POST', headers: {'Content-type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams({q: substitute(query, w)})})
  const body = (await res.json()) as Answer
  assert.equal(res.status, 200, `${w.store}: ${query}\n→ ${JSON.stringify(body)}`)
  return body
}

/** At least one series with a non-null value in a column other than time. */
function hasData(a: Answer): boolean {
  return (a.results ?? []).some((r) => (r.series ?? []).some((s) => (s.values ?? []).some((row) => row.slice(1).some((v) => v !== null))))
}

describe('the exported files', () => {
  it('are provisioning for one InfluxQL data source and a file provider, and three dashboards', () => {
    const kinds = exported.files.map((f) => f.kind)
    assert.deepEqual(kinds, ['datasource', 'dashboards-provider', 'dashboard', 'dashboard', 'dashboard'])
    const ds = parse(readFileSync(exported.files[0]!.path, 'utf8')) as {apiVersion: number; datasources: Array<Record<string, unknown>>}
    assert.equal(ds.apiVersion, 1)
    assert.equal(ds.datasources.length, 1)
    const source = ds.datasources[0]!
    assert.equal(source.type, 'influxdb')
    assert.equal(source.access, 'proxy')
    assert.equal(source.uid, 'mon')
    assert.equal(source.url, 'http://127.0.0.1:0', 'from api.listen (port 0 here)')
    assert.deepEqual(source.jsonData, {version: 'InfluxQL', dbName: 'mon', httpMode: 'POST'})
    assert.equal(source.secureJsonData, undefined, 'no token configured: no credentials')
    const provider = parse(readFileSync(exported.files[1]!.path, 'utf8')) as {providers: Array<{type: string; options: {path: string}}>}
    assert.equal(provider.providers[0]!.type, 'file')
    assert.equal(provider.providers[0]!.options.path, join(tmp.dir, 'grafana', 'dashboards'))
  })

  it('dashboards: current schema, unique uids and panel ids, every query to the data source by uid, panels inside the grid without overlaps', () => {
    assert.deepEqual(dashboards.map((d) => d.uid).sort(), ['mon-alerts', 'mon-checks', 'mon-host'])
    for (const d of dashboards) {
      assert.ok(d.schemaVersion >= 36, d.uid)
      const ids = d.panels.map((p) => p.id)
      assert.equal(new Set(ids).size, ids.length, `${d.uid}: panel ids`)
      const types = new Set(d.panels.map((p) => p.type))
      for (const t of types) assert.ok(['timeseries', 'stat', 'table'].includes(t), t)
      const cells = new Set<string>()
      for (const p of d.panels) {
        assert.deepEqual(p.datasource, {type: 'influxdb', uid: 'mon'}, p.title)
        const {x, y, w, h} = p.gridPos
        assert.ok(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${d.uid}/${p.title}: ${JSON.stringify(p.gridPos)}`)
        for (let i = x; i < x + w; i++) {
          for (let j = y; j < y + h; j++) {
            assert.ok(!cells.has(`${i},${j}`), `${d.uid}/${p.title} overlaps another panel`)
            cells.add(`${i},${j}`)
          }
        }
        assert.ok(p.targets.length > 0, p.title)
        const refIds = p.targets.map((t) => t.refId)
        assert.equal(new Set(refIds).size, refIds.length)
        for (const t of p.targets) {
          assert.deepEqual(t.datasource, {type: 'influxdb', uid: 'mon'})
          assert.equal(t.rawQuery, true)
          assert.match(t.query, /\$timeFilter/, `${p.title}: every panel query is bounded by the dashboard's range`)
          assert.equal(t.resultFormat, p.type === 'table' ? 'table' : 'time_series')
        }
      }
      for (const v of d.templating.list) assert.deepEqual(v.datasource, {type: 'influxdb', uid: 'mon'})
      for (const a of d.annotations.list.filter((x) => !x.builtIn)) assert.deepEqual(a.datasource, {type: 'influxdb', uid: 'mon'})
    }
    const host = dashboards.find((d) => d.uid === 'mon-host')!
    assert.deepEqual(
      host.templating.list.map((v) => [v.name, v.query]),
      [['host', 'SHOW TAG VALUES FROM "system" WITH KEY = "host"']],
    )
    assert.ok(host.panels.some((p) => p.targets.some((t) => t.query.includes('GROUP BY time($__interval)'))))
  })
})

describe('mon grafana export', () => {
  it('with api.token set: the data source reads the token from Grafana\'s environment, never the token itself', async () => {
    const secret = 'grafana-export-secret-91f2'
    const config = join(tmp.dir, 'token.yaml')
    writeFileSync(config, `data_dir: ${join(tmp.dir, 'token-data')}\napi: {listen: "0.0.0.0:9555", token: ${secret}}\n`)
    const out = join(tmp.dir, 'with-token')
    const r = await runMon(['grafana', 'export', '--out', out, '--config', config, '--json'], {env: {MON_CONFIG: ''}})
    assert.equal(r.code, 0, r.stderr)
    const result = JSON.parse(r.stdout) as GrafanaExport
    assert.deepEqual(result.datasource, {name: 'mon', uid: 'mon', url: 'http://127.0.0.1:9555', database: 'mon', tokenEnv: 'MON_API_TOKEN'})
    const text = readFileSync(result.files[0]!.path, 'utf8')
    assert.ok(!text.includes(secret))
    const ds = (parse(text) as {datasources: Array<Record<string, unknown>>}).datasources[0]!
    assert.equal(ds.user, 'mon')
    assert.deepEqual(ds.secureJsonData, {password: '$MON_API_TOKEN'})
    for (const f of result.files) assert.ok(!readFileSync(f.path, 'utf8').includes(secret), f.path)
  })

  it('bad flags: one message, exit 2', async () => {
    const out = join(tmp.dir, 'bad')
    for (const [args, message] of [
      [['--url', 'not a url'], /error: invalid --url 'not a url'/],
      [['--url', 'ftp://x'], /expected http:\/\/ or https:\/\//],
      [['--token-env', 'A B'], /invalid --token-env 'A B'/],
      [['--database', ' '], /--database must not be empty/],
    ] as Array<[string[], RegExp]>) {
      const r = await runMon(['grafana', 'export', '--out', out, ...args], {env: {MON_CONFIG: ''}})
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
    }
    const missing = await runMon(['grafana', 'export'], {env: {MON_CONFIG: ''}})
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /Missing required flag out/)
  })
})

for (const store of ['embedded', 'influxdb']) {
  describe(`every query of the dashboards runs against mon (${store} store) and returns data`, () => {
    const world = () => worlds.find((w) => w.store === store)!

    it("Grafana's Save & test (`SHOW measurements`) finds the collected measurements", async () => {
      const a = await run(world(), 'SHOW measurements')
      const names = (a.results?.[0]?.series?.[0]?.values ?? []).map((row) => row[0])
      for (const m of ['cpu', 'mem', 'disk', 'diskio', 'net', 'system', 'kernel', 'processes', 'http_response', 'net_response', 'x509_cert', 'alerts', 'events']) {
        assert.ok(names.includes(m), `${m} in ${JSON.stringify(names)}`)
      }
    })

    it('template variables list the collected host', async () => {
      for (const d of dashboards) {
        for (const v of d.templating.list) {
          const a = await run(world(), v.query)
          assert.equal(a.results?.[0]?.error, undefined, `${d.uid} $${v.name}: ${JSON.stringify(a)}`)
          const values = (a.results![0]!.series ?? []).flatMap((s) => (s.values ?? []).map((row) => row[1]))
          assert.ok(values.includes(HOST), `${d.uid} $${v.name}: ${JSON.stringify(values)}`)
        }
      }
    })

    it('panel queries: no error and data for each', async () => {
      let n = 0
      const failures: string[] = []
      for (const d of dashboards) {
        for (const p of d.panels) {
          for (const t of p.targets) {
            n++
            const a = await run(world(), t.query)
            const error = a.error ?? a.results?.find((r) => r.error)?.error
            if (error) failures.push(`${d.uid} / ${p.title} / ${t.refId}: ${error}\n  ${substitute(t.query, world())}`)
            else if (!hasData(a)) failures.push(`${d.uid} / ${p.title} / ${t.refId}: no data\n  ${substitute(t.query, world())}`)
          }
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of ${n} panel queries failed`)
      assert.ok(n >= 40, `${n} queries`)
    })

    it('annotation queries: the alert events, with their title and text columns', async () => {
      for (const d of dashboards) {
        for (const a of d.annotations.list.filter((x) => !x.builtIn)) {
          const answer = await run(world(), a.query!)
          assert.equal(answer.results?.[0]?.error, undefined, `${d.uid} ${a.name}: ${JSON.stringify(answer)}`)
          const series = answer.results![0]!.series ?? []
          assert.ok(series.length > 0, `${d.uid} ${a.name}: no events`)
          const columns = series[0]!.columns
          assert.ok(columns.includes(a.titleColumn!) && columns.includes(a.textColumn!), JSON.stringify(columns))
          const titles = series.flatMap((s) => (s.values ?? []).map((row) => row[columns.indexOf(a.titleColumn!)]))
          assert.ok(
            titles.some((t) => typeof t === 'string' && t.startsWith('WebCheckSeen firing')),
            `${d.uid} ${a.name}: ${JSON.stringify(titles)}`,
          )
        }
      }
    })
  })
}
