/**
 * Issue 20: the Prometheus-API stores against a real VictoriaMetrics (Debian 1.79, read-write) and a
 * real Prometheus (Debian 2.42, read-only, a fixture backfilled with promtool), both started on
 * loopback in temp dirs.
 *
 *   - how VictoriaMetrics names what mon writes (m_f, x_value, tags as labels), found on the server
 *   - a raw read is exactly [start, end): a sample on start is in, one on end is out, on both servers
 *   - the four matchers, 1:1
 *   - `mon store info|measurements|fields|tags`, `mon query` and `mon query --promql` on both
 *   - the read-only store: write, collect, store init, retention refuse with one message, exit 2
 *   - alert rules firing and resolving against VictoriaMetrics at injected times (--once --at T)
 *   - bad input: an unreachable server, a 4xx with an error body, a query the server rejects, a
 *     path the server does not serve: one clear error with the server's message and the URL; rules
 *     go to their error state
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createRuleEngine} from '../../src/core/alerting/engine.js'
import {parseRuleText} from '../../src/core/alerting/rules.js'
import {prometheusStoreSchema, victoriaMetricsStoreSchema} from '../../src/core/config/schema.js'
import type {AlertsEvalOnceSummary} from '../../src/core/daemon/cron.js'
import type {Matcher} from '../../src/core/model/matcher.js'
import type {Point} from '../../src/core/model/point.js'
import {PrometheusStore, VictoriaMetricsStore} from '../../src/core/store/prom/store.js'
import {UnalignedBucketsError, type Frame, type QueryPlan, type Store} from '../../src/core/store/types.js'
import {runMon, type CliResult} from '../helpers/cli.js'
import {freePort, startPrometheus, startVictoriaMetrics, tempDir, type RunningServer} from '../helpers/servers.js'
import {exportedSamples, waitForVictoriaMetrics} from '../helpers/victoriametrics.js'

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0)
const SEC = 1000
const MIN = 60 * SEC
const iso = (ms: number) => new Date(ms).toISOString()

/** edge.value{host=a|b|c}: a sample every second from T0 to T0 + 4 s (host c: value 7 at T0 only). */
function edgePoints(): Point[] {
  const points: Point[] = []
  for (let i = 0; i <= 4; i++) {
    points.push({measurement: 'edge', tags: {host: 'a'}, fields: {value: i}, ts: T0 + i * SEC})
    points.push({measurement: 'edge', tags: {host: 'b'}, fields: {value: 10 + i}, ts: T0 + i * SEC})
  }

  points.push({measurement: 'edge', tags: {host: 'c'}, fields: {value: 7}, ts: T0})
  return points
}

/** The same samples as OpenMetrics for Prometheus (named edge: a dotless mon name is Prometheus' own). */
function edgeOpenMetrics(): string {
  const lines = edgePoints().map((p) => `edge{host="${p.tags.host}"} ${p.fields.value as number} ${(p.ts / 1000).toFixed(3)}`)
  return `${lines.join('\n')}\n# EOF\n`
}

const rows = (frames: Frame[]) => frames.map((f) => [f.tags.host, f.rows.map((r) => r[0])])

function assertOneClearError(r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code\n${r.stdout}\n${r.stderr}`)
  const lines = r.stderr.trim().split('\n')
  assert.match(lines[0], /^error: /, r.stderr)
  assert.match(lines[0], message, r.stderr)
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
}

describe('VictoriaMetrics and Prometheus as stores', () => {
  const tmp = tempDir('mon-prom-stores-')
  const env = {XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data')}
  let victoria: RunningServer
  let limited: RunningServer
  let prometheus: RunningServer
  let vm: VictoriaMetricsStore
  let prom: PrometheusStore

  /** A config file for a store (its own data dir, so state.db is apart). */
  function config(name: string, store: string, extra = ''): string {
    const path = join(tmp.dir, `${name}.yaml`)
    writeFileSync(path, `data_dir: ${join(tmp.dir, `data-${name}`)}\nstore: ${store}\n${extra}`)
    return path
  }

  before(async () => {
    ;[victoria, limited, prometheus] = await Promise.all([startVictoriaMetrics(), startVictoriaMetrics(['-search.maxExportSeries=1', '-search.maxUniqueTimeseries=1']), startPrometheus(edgeOpenMetrics())])
    vm = new VictoriaMetricsStore(victoriaMetricsStoreSchema.parse({type: 'victoriametrics', url: victoria.url}))
    prom = new PrometheusStore(prometheusStoreSchema.parse({type: 'prometheus', url: prometheus.url}))
    const points: Point[] = [
      ...edgePoints(),
      {measurement: 'disk', tags: {host: 'a', path: '/'}, fields: {used: 2.5, free: 3n, full: false}, ts: T0},
      {measurement: 'disk', tags: {host: 'b', path: '/var'}, fields: {used: 7.5, free: 1n, full: true}, ts: T0},
    ]
    await vm.write(points)
    // the edge samples, and each disk point's three fields as three samples
    await waitForVictoriaMetrics(victoria.url, edgePoints().length + 2 * 3)
    config('vm', `{type: victoriametrics, url: '${victoria.url}'}`)
    config('prom', `{type: prometheus, url: '${prometheus.url}'}`)
    const limitedStore = new VictoriaMetricsStore(victoriaMetricsStoreSchema.parse({type: 'victoriametrics', url: limited.url}))
    await limitedStore.write(edgePoints())
    await limitedStore.close()
    // this server exports one series at a time
    for (const [host, n] of [['a', 5], ['b', 5], ['c', 1]] as const) await waitForVictoriaMetrics(limited.url, n, `edge_value{host="${host}"}`)
  })

  after(async () => {
    await vm?.close()
    await prom?.close()
    await Promise.all([victoria?.destroy(), limited?.destroy(), prometheus?.destroy()])
    tmp.cleanup()
  })

  it('VictoriaMetrics names line protocol m_f (x_value for field value), tags as labels; booleans are 1/0', async () => {
    const names = (await (await fetch(`${victoria.url}/api/v1/label/__name__/values`)).json()) as {data: string[]}
    assert.deepEqual(names.data.sort(), ['disk_free', 'disk_full', 'disk_used', 'edge_value'])
    const series = (await (await fetch(`${victoria.url}/api/v1/series?${new URLSearchParams({'match[]': 'disk_used', start: String(T0 / 1000 - 60)})}`)).json()) as {data: unknown[]}
    assert.deepEqual(series.data, [
      {__name__: 'disk_used', host: 'a', path: '/'},
      {__name__: 'disk_used', host: 'b', path: '/var'},
    ])
    // mon's names map onto them
    const full = await vm.query({measurement: 'disk', field: 'full', matchers: [], start: T0, end: T0 + 1})
    assert.deepEqual(full.map((f) => [f.name, f.tags, f.columns, f.rows]), [
      ['disk', {host: 'a', path: '/'}, ['time', 'full'], [[T0, 0]]],
      ['disk', {host: 'b', path: '/var'}, ['time', 'full'], [[T0, 1]]],
    ])
  })

  for (const [name, store] of [
    ['VictoriaMetrics', () => vm],
    ['Prometheus', () => prom],
  ] as const) {
    it(`${name}: a raw read is exactly [start, end): a sample on start is in, one on end is out`, async () => {
      const read = (start: number, end: number, matchers: Matcher[] = [{name: 'host', op: '=', value: 'a'}]) => store().query({measurement: 'edge', field: 'value', matchers, start, end})
      assert.deepEqual(rows(await read(T0 + SEC, T0 + 3 * SEC)), [['a', [T0 + SEC, T0 + 2 * SEC]]])
      assert.deepEqual(rows(await read(T0 + SEC + 1, T0 + 3 * SEC + 1)), [['a', [T0 + 2 * SEC, T0 + 3 * SEC]]])
      assert.deepEqual(rows(await read(T0 + SEC - 1, T0 + SEC)), [])
      assert.deepEqual(rows(await read(T0 + SEC, T0 + SEC + 1)), [['a', [T0 + SEC]]])
      assert.deepEqual(rows(await read(T0 + SEC, T0 + SEC)), [])
      // values come back as written
      const frames = await read(T0, T0 + 5 * SEC)
      assert.deepEqual(frames[0].rows, [0, 1, 2, 3, 4].map((v) => [T0 + v * SEC, v]))
      // limit: the most recent N points per series
      const last = await store().query({measurement: 'edge', field: 'value', matchers: [], start: T0, end: T0 + 5 * SEC, limit: 2})
      assert.deepEqual(rows(last), [
        ['a', [T0 + 3 * SEC, T0 + 4 * SEC]],
        ['b', [T0 + 3 * SEC, T0 + 4 * SEC]],
        ['c', [T0]],
      ])
    })

    it(`${name}: matchers =, !=, =~, !~ are PromQL's (regexes anchored)`, async () => {
      const hosts = async (m: Matcher) => (await store().query({measurement: 'edge', field: 'value', matchers: [m], start: T0, end: T0 + 5 * SEC})).map((f) => f.tags.host)
      assert.deepEqual(await hosts({name: 'host', op: '=', value: 'b'}), ['b'])
      assert.deepEqual(await hosts({name: 'host', op: '!=', value: 'b'}), ['a', 'c'])
      assert.deepEqual(await hosts({name: 'host', op: '=~', value: 'a|c'}), ['a', 'c'])
      assert.deepEqual(await hosts({name: 'host', op: '=~', value: 'a.'}), [])
      assert.deepEqual(await hosts({name: 'host', op: '!~', value: '[ab]'}), ['c'])
      // an absent label is the empty string
      assert.deepEqual(await hosts({name: 'zone', op: '=', value: ''}), ['a', 'b', 'c'])
    })

    it(`${name}: window aggregations are refused (mon computes them from the raw points)`, async () => {
      await assert.rejects(store().query({measurement: 'edge', field: 'value', matchers: [], start: T0, end: T0 + MIN, every: MIN, aggregate: {fn: 'mean', by: []}}), UnalignedBucketsError)
    })
  }

  it('VictoriaMetrics: explain() is the request sent', () => {
    const text = vm.explain({measurement: 'disk', field: 'used', matchers: [{name: 'host', op: '=~', value: 'a|b'}], start: T0, end: T0 + MIN})
    assert.match(text, new RegExp(`^victoriametrics: GET ${victoria.url}/api/v1/export\\?match%5B%5D=`))
    assert.match(text, /match\[\]=\{__name__="disk_used",host=~"a\|b"\} start=1767607200\.000 end=1767607259\.999/)
  })

  it('mon store info|measurements|fields|tags on VictoriaMetrics', async () => {
    const cfg = join(tmp.dir, 'vm.yaml')
    const info = await runMon(['store', 'info', '--config', cfg, '--json'], {env})
    assert.equal(info.code, 0, info.stderr)
    const i = JSON.parse(info.stdout) as {backend: string; location: string; series: number; details: {version: string}}
    assert.equal(i.backend, 'victoriametrics')
    assert.equal(i.location, victoria.url)
    assert.equal(i.series, 3 + 2 * 3)
    assert.ok(i.details.version.length > 0)
    const m = await runMon(['store', 'measurements', '--config', cfg, '--json'], {env})
    assert.deepEqual(JSON.parse(m.stdout), ['disk', 'edge'])
    const f = await runMon(['store', 'fields', 'disk', '--config', cfg, '--json'], {env})
    assert.deepEqual(JSON.parse(f.stdout), [
      {name: 'free', type: 'float'},
      {name: 'full', type: 'float'},
      {name: 'used', type: 'float'},
    ])
    const t = await runMon(['store', 'tags', 'disk', '--config', cfg, '--json'], {env})
    assert.deepEqual(JSON.parse(t.stdout), ['host', 'path'])
    const v = await runMon(['store', 'tags', 'disk', 'path', '--config', cfg, '--json'], {env})
    assert.deepEqual(JSON.parse(v.stdout), ['/', '/var'])
    const text = await runMon(['store', 'info', '--config', cfg], {env})
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /victoriametrics/)
  })

  it('mon store info|measurements|fields|tags on Prometheus', async () => {
    const cfg = join(tmp.dir, 'prom.yaml')
    const info = await runMon(['store', 'info', '--config', cfg, '--json'], {env})
    assert.equal(info.code, 0, info.stderr)
    const i = JSON.parse(info.stdout) as {backend: string; details: {version: string; read_only: boolean}}
    assert.equal(i.backend, 'prometheus')
    assert.match(i.details.version, /^2\.42/)
    assert.equal(i.details.read_only, true)
    assert.deepEqual(JSON.parse((await runMon(['store', 'measurements', '--config', cfg, '--json'], {env})).stdout), ['edge'])
    assert.deepEqual(JSON.parse((await runMon(['store', 'fields', 'edge', '--config', cfg, '--json'], {env})).stdout), [{name: 'value', type: 'float'}])
    assert.deepEqual(JSON.parse((await runMon(['store', 'tags', 'edge', '--config', cfg, '--json'], {env})).stdout), ['host'])
    assert.deepEqual(JSON.parse((await runMon(['store', 'tags', 'edge', 'host', '--config', cfg, '--json'], {env})).stdout), ['a', 'b', 'c'])
  })

  it('mon query and mon query --promql on both', async () => {
    for (const [cfg, raw] of [
      [join(tmp.dir, 'vm.yaml'), 'edge_value{host="b"}'],
      [join(tmp.dir, 'prom.yaml'), 'edge{host="b"}'],
    ]) {
      const q = await runMon(['query', 'sum(edge{host=~"a|b"})', '--config', cfg, '--at', iso(T0 + 2 * SEC + 500), '--json'], {env})
      assert.equal(q.code, 0, q.stderr)
      assert.deepEqual(
        (JSON.parse(q.stdout) as {series: Array<{values: unknown[][]}>}).series.map((s) => s.values.map((v) => v[1])),
        [[2 + 12]],
      )
      const p = await runMon(['query', '--promql', raw, '--config', cfg, '--at', iso(T0 + 2 * SEC + 500), '--json'], {env})
      assert.equal(p.code, 0, p.stderr)
      const out = JSON.parse(p.stdout) as {language: string; series: Array<{tags: Record<string, string>; values: unknown[][]}>}
      assert.equal(out.language, 'promql')
      assert.deepEqual(out.series.map((s) => [s.tags, s.values.map((v) => v[1])]), [[{host: 'b'}, [12]]])
      const csv = await runMon(['query', '--promql', raw, '--config', cfg, '--at', iso(T0 + 2 * SEC + 500), '--format', 'csv'], {env})
      assert.equal(csv.code, 0, csv.stderr)
      assert.match(csv.stdout, /12/)
    }

    // --promql needs a Prometheus-API store
    const other = config('sqlite', '{type: sqlite}')
    assertOneClearError(await runMon(['query', '--promql', 'up', '--config', other], {env}), 2, /--promql needs a Prometheus or VictoriaMetrics store; the configured store is sqlite:/)
  })

  it('the Prometheus store is read-only: write, collect, store init and retention refuse with one message, exit 2', async () => {
    const cfg = join(tmp.dir, 'prom.yaml')
    const readOnly = new RegExp(`the store is prometheus at ${prometheus.url.replace(/[.]/g, '\\.')} \\(store\\.type: prometheus\\), which mon only reads: it cannot`)
    assertOneClearError(await runMon(['write', '--config', cfg], {env, input: 'edge,host=z value=1\n'}), 2, readOnly)
    assertOneClearError(await runMon(['collect', '--once', '--config', cfg], {env}), 2, readOnly)
    assertOneClearError(await runMon(['store', 'init', '--config', cfg], {env}), 2, readOnly)
    assertOneClearError(await runMon(['store', 'retention', 'apply', '--config', cfg], {env}), 2, readOnly)
    await assert.rejects(prom.write([{measurement: 'x', tags: {}, fields: {value: 1}, ts: T0}]), readOnly)
  })

  it('mon write into VictoriaMetrics, and store init says there is nothing to create', async () => {
    const cfg = join(tmp.dir, 'vm.yaml')
    const w = await runMon(['write', '--config', cfg, '--precision', 'ms'], {env, input: `written,host=z value=5 ${T0}\nwritten,host=z value=6 ${T0 + SEC}\n`})
    assert.equal(w.code, 0, w.stderr)
    await waitForVictoriaMetrics(victoria.url, 2, 'written_value')
    assert.equal(await exportedSamples(victoria.url, 'written_value'), 2)
    const init = await runMon(['store', 'init', '--config', cfg, '--json'], {env})
    assert.equal(init.code, 0, init.stderr)
    assert.equal((JSON.parse(init.stdout) as {created: boolean}).created, false)
  })

  it('mon store archive reads the raw points back from VictoriaMetrics', async () => {
    const file = join(tmp.dir, 'archive.lp')
    const r = await runMon(['store', 'archive', '--config', join(tmp.dir, 'vm.yaml'), '--before', iso(T0 + MIN), '--to', file, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const lines = readFileSync(file, 'utf8').trim().split('\n').sort()
    assert.ok(lines.includes(`disk,host=b,path=/var used=7.5 ${T0}`), lines.join('\n'))
    assert.ok(lines.includes(`disk,host=a,path=/ free=3 ${T0}`), lines.join('\n'))
    assert.ok(lines.includes(`edge,host=a value=4 ${T0 + 4 * SEC}`), lines.join('\n'))
    assert.equal(lines.filter((l) => l.startsWith('edge,')).length, edgePoints().length)
  })

  it('alert rules fire and resolve against VictoriaMetrics at injected times', async () => {
    // temp.celsius{room}: 30 for 10 minutes from T, 90 for the next 10 in the server room, then 30 again
    const T = T0 + 60 * MIN
    const points: Point[] = []
    for (let i = 0; i <= 40; i++) {
      const ts = T + i * 30 * SEC
      const hot = i >= 20 && i < 30
      points.push({measurement: 'temp', tags: {room: 'server'}, fields: {celsius: hot ? 90 : 30}, ts})
      points.push({measurement: 'temp', tags: {room: 'office'}, fields: {celsius: 21}, ts})
    }

    await vm.write(points)
    await waitForVictoriaMetrics(victoria.url, points.length, 'temp_celsius')
    writeFileSync(
      join(tmp.dir, 'temp-rules.yaml'),
      `groups:
  - name: rooms
    interval: 1m
    rules:
      - alert: RoomTooHot
        expr: max_over_time(temp.celsius[2m]) > 60
        for: 2m
        labels: {severity: page}
        annotations: {summary: '{{ $labels.room }} at {{ $value }}'}
`,
    )
    const cfg = config('vm-rules', `{type: victoriametrics, url: '${victoria.url}'}`, `rules: {files: ['${join(tmp.dir, 'temp-rules.yaml')}']}\n`)
    const run = async (at: number) => {
      const r = await runMon(['alerts', 'eval', '--once', '--all', '--config', cfg, '--at', iso(at), '--json'], {env})
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout) as AlertsEvalOnceSummary
    }

    const transitions = (s: AlertsEvalOnceSummary) => s.transitions.map((t) => [t.alertname, t.from, t.to])
    assert.deepEqual(transitions(await run(T + 9 * MIN)), [])
    assert.deepEqual(transitions(await run(T + 11 * MIN)), [['RoomTooHot', 'inactive', 'pending']])
    assert.deepEqual(transitions(await run(T + 12 * MIN)), [])
    const firing = await run(T + 13 * MIN)
    assert.deepEqual(transitions(firing), [['RoomTooHot', 'pending', 'firing']])
    assert.deepEqual(firing.ruleErrors, [])
    // the last hot sample is at T + 14.5 min: the 2 min window lets go of it after T + 16.5 min
    assert.deepEqual(transitions(await run(T + 16 * MIN)), [])
    assert.deepEqual(transitions(await run(T + 17 * MIN)), [['RoomTooHot', 'firing', 'resolved']])
  })

  it('rules over VictoriaMetrics share one raw read per selector per step by default, with the alerts and values of uncached rules', async () => {
    // load.avg{host}: host a climbs from 5 by 1 every 30 s, host b stays at 1
    const T = T0 + 120 * MIN
    const points: Point[] = []
    for (let i = 0; i < 20; i++) for (const host of ['a', 'b']) points.push({measurement: 'load', tags: {host}, fields: {avg: host === 'a' ? 5 + i : 1}, ts: T + i * 30 * SEC})
    await vm.write(points)
    await waitForVictoriaMetrics(victoria.url, points.length, 'load_avg')
    const exprs = ['max(load.avg[1m]) by host > 10', 'mean(load.avg[5m]) by host > 10', 'percentile(load.avg[3m], 90) by host > 10', 'last(load.avg[2m]) by host > 10']
    const {groups, problems} = parseRuleText(`groups:\n  - name: load\n    interval: 1m\n    rules:\n${exprs.map((e, i) => `      - alert: Load${i}\n        expr: ${e}\n`).join('')}`, 'load.yaml')
    assert.deepEqual(problems, [])
    /** the real store, counting the raw reads it answers (window aggregations it refuses are not reads) */
    const counting = (reads: QueryPlan[]): Store => ({
      kind: vm.kind,
      query: async (plan) => {
        const frames = await vm.query(plan)
        reads.push(plan)
        return frames
      },
      write: (p) => vm.write(p),
      close: async () => {},
    })
    const evaluate = async (cache: false | undefined) => {
      const reads: QueryPlan[] = []
      const engine = createRuleEngine({groups, store: counting(reads), cache, writeSeries: false})
      const steps = []
      for (const at of [T + 9 * MIN, T + 10 * MIN]) {
        const before = reads.length
        const rules = (await engine.evaluateAll(at)).flatMap((g) => g.rules)
        assert.deepEqual(rules.filter((r) => r.health !== 'ok'), [])
        const alerts = engine.activeAlerts().map((a) => [a.labels.alertname, a.labels.host, a.value, a.state])
        steps.push({reads: reads.slice(before), alerts: alerts.sort()})
      }

      return steps
    }

    const shared = await evaluate(undefined)
    const uncached = await evaluate(false)
    assert.deepEqual(shared.map((s) => s.alerts), uncached.map((s) => s.alerts))
    assert.ok(shared[1].alerts.length >= 3, JSON.stringify(shared[1].alerts))
    assert.deepEqual(uncached.map((s) => s.reads.length), [4, 4])
    // the second step reads the widest window (5m) once, raw, for all four rules
    assert.deepEqual(shared[1].reads.map((p) => [p.end - p.start, p.aggregate, p.transform]), [[5 * MIN, undefined, undefined]])
  })

  it('rules over the read-only Prometheus: evaluated, alerts fire, nothing is written to it', async () => {
    writeFileSync(
      join(tmp.dir, 'edge-rules.yaml'),
      `groups:
  - name: edges
    interval: 1m
    rules:
      - alert: EdgeHigh
        expr: edge > 11
        labels: {severity: page}
`,
    )
    const cfg = config('prom-rules', `{type: prometheus, url: '${prometheus.url}'}`, `rules: {files: ['${join(tmp.dir, 'edge-rules.yaml')}']}\n`)
    const r = await runMon(['alerts', 'eval', '--once', '--all', '--config', cfg, '--at', iso(T0 + 4 * SEC), '--json', '--debug'], {env})
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as AlertsEvalOnceSummary
    assert.deepEqual(out.ruleErrors, [])
    assert.deepEqual(out.transitions.map((t) => [t.alertname, t.to]), [['EdgeHigh', 'firing']])
    assert.doesNotMatch(r.stderr, /cannot write alert series/)
  })

  it('an unreachable server: one clear error naming the URL; rules go to their error state', async () => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const cfg = config('down', `{type: victoriametrics, url: '${url}'}`, `rules: {files: ['${join(tmp.dir, 'temp-rules.yaml')}']}\n`)
    assertOneClearError(await runMon(['query', 'temp.celsius', '--config', cfg], {env}), 1, new RegExp(`cannot reach VictoriaMetrics at ${url}/api/v1/export: connection refused \\(gave up after 3 attempts\\)`))
    assertOneClearError(await runMon(['store', 'info', '--config', cfg], {env}), 1, new RegExp(`cannot reach VictoriaMetrics at ${url}/api/v1/status/buildinfo: connection refused`))
    const e = await runMon(['alerts', 'eval', '--once', '--all', '--config', cfg, '--json'], {env})
    assert.equal(e.code, 1, e.stderr)
    const out = JSON.parse(e.stdout) as AlertsEvalOnceSummary
    assert.equal(out.ruleErrors.length, 1)
    assert.equal(out.ruleErrors[0].rule, 'rooms/RoomTooHot')
    assert.match(out.ruleErrors[0].error, new RegExp(`cannot reach VictoriaMetrics at ${url}`))
    const prometheusDown = config('prom-down', `{type: prometheus, url: '${url}'}`)
    assertOneClearError(await runMon(['query', 'up', '--config', prometheusDown], {env}), 1, new RegExp(`cannot reach Prometheus at ${url}/api/v1/query: connection refused`))
  })

  it('a query the server rejects: its message and the URL, exit 2', async () => {
    const cfg = join(tmp.dir, 'vm.yaml')
    const bad = await runMon(['query', '--promql', 'sum(edge_value', '--config', cfg], {env})
    assertOneClearError(bad, 2, new RegExp(`VictoriaMetrics at ${victoria.url}/api/v1/query rejected the query: .+`))
    const p = await runMon(['query', '--promql', 'sum(edge', '--config', join(tmp.dir, 'prom.yaml')], {env})
    assertOneClearError(p, 2, new RegExp(`Prometheus at ${prometheus.url}/api/v1/query rejected the query: .*parse error`))
    // a regex RE2 refuses is refused by mon before anything is sent
    assertOneClearError(await runMon(['query', 'edge{host=~"("}', '--config', cfg], {env}), 2, /invalid regular expression/)
  })

  it('a 4xx with an error body (a server limit): the server\'s message and the URL; a rule over it is in error', async () => {
    const cfg = config('limited', `{type: victoriametrics, url: '${limited.url}'}`)
    const r = await runMon(['query', 'edge', '--config', cfg, '--at', iso(T0 + 2 * SEC)], {env})
    assertOneClearError(r, 2, new RegExp(`VictoriaMetrics at ${limited.url}/api/v1/export rejected the query: .*the number of matching timeseries exceeds 1`))
    assert.doesNotMatch(r.stderr, /remoteAddr/)
    // one series is within the limit
    const one = await runMon(['query', 'edge{host="a"}', '--config', cfg, '--at', iso(T0 + 2 * SEC), '--json'], {env})
    assert.equal(one.code, 0, one.stderr)
    // rules: the one over every series is in error with the server's message, the other still runs
    writeFileSync(
      join(tmp.dir, 'limited.rules.yaml'),
      `groups:
  - name: limited
    interval: 1m
    rules:
      - alert: AnyEdge
        expr: edge > 0
      - alert: EdgeA
        expr: edge{host="a"} > 1
`,
    )
    const rules = config('limited-rules', `{type: victoriametrics, url: '${limited.url}'}`, `rules: {files: ['${join(tmp.dir, 'limited.rules.yaml')}']}\n`)
    const e = await runMon(['alerts', 'eval', '--once', '--all', '--config', rules, '--at', iso(T0 + 2 * SEC), '--json'], {env})
    assert.equal(e.code, 1, e.stderr)
    const out = JSON.parse(e.stdout) as AlertsEvalOnceSummary
    assert.deepEqual(out.ruleErrors.map((x) => x.rule), ['limited/AnyEdge'])
    assert.match(out.ruleErrors[0].error, new RegExp(`VictoriaMetrics at ${limited.url}/api/v1/export rejected the query: .*exceeds 1`))
    assert.deepEqual(out.transitions.map((t) => [t.alertname, t.to]), [['EdgeA', 'firing']])
  })

  it('a cluster path on a single-node server: no such endpoint, with what to change', async () => {
    const cfg = config('tenant', `{type: victoriametrics, url: '${victoria.url}', tenant: 0}`)
    const r = await runMon(['query', 'edge', '--config', cfg], {env})
    assertOneClearError(r, 2, new RegExp(`VictoriaMetrics at ${victoria.url}/select/0/prometheus/api/v1/export has no such endpoint \\(400: unsupported path requested`))
    assert.match(r.stderr, /store\.tenant is set: a single-node server takes no tenant/)
    const w = await runMon(['write', '--config', cfg], {env, input: 'x value=1\n'})
    assert.notEqual(w.code, 0)
    assert.match(w.stderr, new RegExp(`${victoria.url}/insert/0/influx/write has no such endpoint`))
  })
})
