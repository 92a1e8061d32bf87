/**
 * The daemon's Prometheus-shaped query API (/api/v1/query, query_range, labels, label values,
 * series) over mon's own engine: a real daemon (createDaemon in-process, embedded store in a temp
 * dir, a ManualTimer for time, a real loopback socket with a token), the PromQL differential fixture
 * (helpers/prometheus.ts) written into its store and backfilled into a real Prometheus 2.42. The
 * daemon must answer with Prometheus' JSON shapes, the same numbers as `mon query --json` on the same
 * store, and the same numbers as Prometheus for a few expressions.
 */
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {parseConfigText, type LoadedConfig} from '../../src/core/config/parse.js'
import {formatValue} from '../../src/core/daemon/api-prom.js'
import {createDaemon, type Daemon} from '../../src/core/daemon/daemon.js'
import {silentLogger} from '../../src/core/log.js'
import type {Point} from '../../src/core/model/point.js'
import type {Labels} from '../../src/core/query/eval/series.js'
import {ManualTimer} from '../../src/core/scheduler/timer.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {runMon} from '../helpers/cli.js'
import {compareSeries, FIXTURE_T0 as T0, MIN, openMetrics, parsePromValue, promQueryInstant, promQueryRange, promqlFixture, SEC, type SeriesValues} from '../helpers/prometheus.js'
import {type RunningServer, startPrometheus, tempDir} from '../helpers/servers.js'

const TOKEN = 'prom-api-test-token'

interface PromBody {
  status: 'success' | 'error'
  data?: {resultType: string; result: unknown} | unknown
  errorType?: string
  error?: string
}

describe('daemon: Prometheus HTTP query API', () => {
  const tmp = tempDir('mon-api-prom-')
  const fixture = promqlFixture()
  let daemon: Daemon
  let url: string
  let prometheus: RunningServer
  let configPath: string

  before(async () => {
    const dataDir = join(tmp.dir, 'data')
    mkdirSync(dataDir, {recursive: true})
    // the fixture (measurement = Prometheus name, field value) plus mon-named metrics (cpu.usage_user)
    const points: Point[] = fixture.flatMap((s) => {
      const {__name__: measurement, ...tags} = s.labels
      return s.samples.map((x) => ({measurement, tags, fields: {value: x.v}, ts: x.t}))
    })
    for (let i = 0; i < 360; i++) {
      for (const host of ['a', 'b']) points.push({measurement: 'cpu', tags: {host}, fields: {usage_user: (i % 37) + (host === 'a' ? 0.25 : 0.5), usage_system: i % 5}, ts: T0 + i * 10 * SEC})
    }
    const store = new SqliteStore({path: join(dataDir, 'mon.db'), clock: new ManualClock(T0 + 2 * 60 * MIN)})
    await store.write(points)
    await store.close()

    // raw data kept 10 years: `mon query` (on the wall clock) still reads the 2023 fixture raw
    const text = `data_dir: ${dataDir}\nagent: {self_metrics: false}\ninputs: {host: {enabled: false}}\nretention: {raw: 3650d}\napi: {listen: "127.0.0.1:0", token: ${TOKEN}}\n`
    configPath = join(tmp.dir, 'mon.yaml')
    writeFileSync(configPath, text)
    const load = (): LoadedConfig => parseConfigText(text, configPath, {}, {cwd: tmp.dir})
    const timer = new ManualTimer(T0 + 2 * 60 * MIN)
    daemon = createDaemon({loaded: load(), loadConfig: async () => load(), log: silentLogger, version: 'test', clock: timer, timer, statusEveryMs: 3_600_000, maintenanceEveryMs: 3_600_000, notifyPollMs: 600_000})
    ;[prometheus] = await Promise.all([startPrometheus(openMetrics(fixture)), daemon.start()])
    url = daemon.apiAddress!.url
  })

  after(async () => {
    await daemon?.stop(5000)
    await prometheus?.destroy()
    tmp.cleanup()
  })

  async function get(path: string, params: Record<string, string | string[]>, token = TOKEN): Promise<{status: number; body: PromBody}> {
    const search = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) search.append(k, x)
    const res = await fetch(`${url}${path}?${search}`, {headers: {authorization: `Bearer ${token}`}})
    return {status: res.status, body: (await res.json()) as PromBody}
  }

  async function ok(path: string, params: Record<string, string | string[]>): Promise<{resultType: string; result: unknown}> {
    const {status, body} = await get(path, params)
    assert.equal(status, 200, JSON.stringify(body))
    assert.equal(body.status, 'success')
    return body.data as {resultType: string; result: unknown}
  }

  const sec = (ms: number) => String(ms / 1000)

  async function monInstant(query: string, time: number): Promise<SeriesValues[]> {
    const data = await ok('/api/v1/query', {query, time: sec(time)})
    if (data.resultType === 'scalar') {
      const [t, v] = data.result as [number, string]
      return [{labels: {}, values: [[Math.round(t * 1000), parsePromValue(v)]]}]
    }
    assert.equal(data.resultType, 'vector')
    return (data.result as Array<{metric: Labels; value: [number, string]}>).map((r) => ({labels: r.metric, values: [[Math.round(r.value[0] * 1000), parsePromValue(r.value[1])]]}))
  }

  async function monRange(query: string, start: number, end: number, step: number): Promise<SeriesValues[]> {
    return matrixValues(await ok('/api/v1/query_range', {query, start: sec(start), end: sec(end), step: sec(step)}))
  }

  function matrixValues(data: {resultType: string; result: unknown}): SeriesValues[] {
    assert.equal(data.resultType, 'matrix')
    return (data.result as Array<{metric: Labels; values: Array<[number, string]>}>).map((r) => ({labels: r.metric, values: r.values.map(([t, v]) => [Math.round(t * 1000), parsePromValue(v)] as [number, number])}))
  }

  it('answers an instant query in Prometheus shape: vector, labels with __name__, [seconds, "value"]', async () => {
    const data = await ok('/api/v1/query', {query: 'cpu.usage_user{host="a"}', time: sec(T0 + 30 * MIN)})
    assert.equal(data.resultType, 'vector')
    // sample 180 (at T0 + 30:00 itself) is the latest: (180 % 37) + 0.25
    assert.deepEqual(data.result, [{metric: {__name__: 'cpu.usage_user', host: 'a'}, value: [(T0 + 30 * MIN) / 1000, String((180 % 37) + 0.25)]}])

    const scalar = await ok('/api/v1/query', {query: '1 + 1', time: '1700000000.5'})
    assert.deepEqual(scalar, {resultType: 'scalar', result: [1_700_000_000.5, '2']})

    const range = await ok('/api/v1/query', {query: 'cpu.usage_system{host="b"}[30s]', time: sec(T0 + 30 * MIN)})
    assert.equal(range.resultType, 'matrix')
    assert.deepEqual(range.result, [
      {
        metric: {__name__: 'cpu.usage_system', host: 'b'},
        values: [
          [(T0 + 29 * MIN + 40 * SEC) / 1000, String(178 % 5)],
          [(T0 + 29 * MIN + 50 * SEC) / 1000, String(179 % 5)],
          [(T0 + 30 * MIN) / 1000, String(180 % 5)],
        ],
      },
    ])
  })

  it('answers a range query at start, start + step, … end, series sorted by labels', async () => {
    const start = T0 + 10 * MIN
    const data = await ok('/api/v1/query_range', {query: 'avg by (host) (cpu.usage_user)', start: sec(start), end: sec(start + 5 * MIN), step: '1m'})
    assert.equal(data.resultType, 'matrix')
    const result = data.result as Array<{metric: Labels; values: Array<[number, string]>}>
    assert.deepEqual(
      result.map((r) => r.metric),
      [{host: 'a'}, {host: 'b'}],
    )
    assert.deepEqual(
      result[0]!.values.map(([t]) => t),
      [0, 1, 2, 3, 4, 5].map((i) => (start + i * MIN) / 1000),
    )
  })

  it('sends a large range answer in parts as it writes it (chunked), with the same numbers as a real Prometheus', async () => {
    const query = 'rate(http_requests_total[5m])'
    const [start, end, step] = [T0 + 10 * MIN, T0 + 55 * MIN, SEC]
    const params = new URLSearchParams({query, start: sec(start), end: sec(end), step: sec(step)})
    const res = await fetch(`${url}/api/v1/query_range?${params}`, {headers: {authorization: `Bearer ${TOKEN}`, 'accept-encoding': 'identity'}})
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('transfer-encoding'), 'chunked')
    assert.equal(res.headers.get('content-length'), null)
    const text = await res.text()
    assert.ok(text.length > 65_536, `a large answer: ${text.length} bytes`)
    const body = JSON.parse(text) as {status: string; data: {resultType: string; result: unknown}}
    assert.equal(body.status, 'success')
    const ours = matrixValues(body.data)
    assert.ok(ours.length > 1 && ours.every((s) => s.values.length > 2000), 'several series of every step')
    compareSeries(ours, await promQueryRange(prometheus.url, query, start, end, step), `${query} at 1 s steps`)
  })

  it('keeps answering when clients go away in the middle of a large answer sent in parts', async () => {
    const target = `/api/v1/query_range?${new URLSearchParams({query: 'cpu.usage_user', start: sec(T0), end: sec(T0 + 59 * MIN), step: '0.5'})}`
    const {hostname, port} = new URL(url)
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`))
        // the first bytes read, then nothing more for a while (the daemon's socket fills), then gone
        socket.once('data', (first) => {
          assert.match(first.toString('latin1'), /^HTTP\/1\.1 200 /)
          socket.pause()
          setTimeout(() => {
            socket.destroy()
            resolve()
          }, 50)
        })
        socket.on('error', reject)
      })
    }
    const res = await fetch(`${url}${target}`, {headers: {authorization: `Bearer ${TOKEN}`}})
    assert.equal(res.status, 200)
    const body = JSON.parse(await res.text()) as {data: {result: Array<{values: unknown[]}>}}
    assert.deepEqual(
      body.data.result.map((r) => r.values.length),
      [7081, 7081],
    )
  })

  it('says the length of every answer made at once (Content-Length, not chunked): range, instant, error, label values', async () => {
    const start = T0 + 10 * MIN
    const targets = [
      `/api/v1/query_range?${new URLSearchParams({query: 'avg by (host) (cpu.usage_user)', start: sec(start), end: sec(start + 5 * MIN), step: '1m'})}`,
      `/api/v1/query?${new URLSearchParams({query: 'cpu.usage_user', time: sec(start)})}`,
      `/api/v1/query?${new URLSearchParams({query: 'sum(', time: sec(start)})}`,
      '/api/v1/label/host/values',
    ]
    for (const target of targets) {
      const res = await fetch(`${url}${target}`, {headers: {authorization: `Bearer ${TOKEN}`, 'accept-encoding': 'identity'}})
      const bytes = Buffer.from(await res.arrayBuffer())
      assert.equal(res.headers.get('transfer-encoding'), null, target)
      assert.equal(res.headers.get('content-length'), String(bytes.length), target)
      JSON.parse(bytes.toString('utf8'))
    }
  })

  it('answers range queries at the same time and one after another each with its own bytes (the answer buffer is reused only once sent)', async () => {
    const text = async (query: string, step: string) => {
      const res = await fetch(`${url}/api/v1/query_range?${new URLSearchParams({query, start: sec(T0), end: sec(T0 + 59 * MIN), step})}`, {headers: {authorization: `Bearer ${TOKEN}`}})
      assert.equal(res.status, 200)
      return res.text()
    }
    const queries: Array<[string, string]> = [
      ['avg by (host) (avg_over_time(cpu.usage_user[1m]))', '60'],
      ['cpu.usage_system', '10'],
      ['max_over_time(cpu.usage_user[2m])', '120'],
      // large: sent in parts while it is written
      ['cpu.usage_user', '1'],
    ]
    const alone: string[] = []
    for (const [q, step] of queries) alone.push(await text(q, step))
    assert.notEqual(alone[0], alone[1])
    // at the same time, several rounds: each answer whole and its own
    for (let round = 0; round < 3; round++) {
      const together = await Promise.all(queries.flatMap(([q, step]) => [text(q, step), text(q, step)]))
      assert.deepEqual(together, alone.flatMap((a) => [a, a]))
    }
    // one after another: a shorter answer after a longer one leaves nothing of it behind
    for (const i of [1, 3, 0, 2, 3, 1, 2, 0]) assert.equal(await text(queries[i]![0], queries[i]![1]), alone[i])
    assert.doesNotThrow(() => JSON.parse(alone[1]!))
  })

  it('takes the parameters from a POST form body as Prometheus does (Grafana POSTs)', async () => {
    const body = new URLSearchParams({query: 'sum(rate(http_requests_total[5m]))', start: sec(T0 + 20 * MIN), end: sec(T0 + 40 * MIN), step: '60'})
    const res = await fetch(`${url}/api/v1/query_range`, {method: 'POST', headers: {authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded'}, body})
    assert.equal(res.status, 200)
    const posted = (await res.json()) as PromBody
    const got = await get('/api/v1/query_range', Object.fromEntries(body))
    assert.deepEqual(posted, got.body)
    assert.equal(((posted.data as {result: unknown[]}).result[0] as {values: unknown[]}).values.length, 21)
  })

  it('gives the same numbers as `mon query --json` on the same store', async () => {
    const at = T0 + 45 * MIN
    for (const query of ['avg by (host) (avg_over_time(cpu.usage_user[10m]))', 'sum by (job) (rate(http_requests_total[5m]))', 'max(cpu_busy)']) {
      const cli = await runMon(['query', query, '--config', configPath, '--at', new Date(at).toISOString(), '--json'])
      assert.equal(cli.code, 0, cli.stderr)
      const expected = (JSON.parse(cli.stdout) as {series: Array<{tags: Record<string, string>; values: Array<[string, number]>}>}).series
      const ours = await monInstant(query, at)
      assert.equal(ours.length, expected.length, query)
      const byKey = new Map(ours.map((s) => [JSON.stringify(s.labels), s.values[0]![1]]))
      for (const s of expected) assert.equal(byKey.get(JSON.stringify(s.tags)), s.values[0]![1], `${query} ${JSON.stringify(s.tags)}`)
    }

    const query = 'avg by (host) (cpu.usage_user)'
    const [since, until] = [T0 + 10 * MIN, T0 + 50 * MIN]
    const cli = await runMon(['query', query, '--config', configPath, '--since', new Date(since).toISOString(), '--until', new Date(until).toISOString(), '--step', '1m', '--json'])
    assert.equal(cli.code, 0, cli.stderr)
    const expected = (JSON.parse(cli.stdout) as {series: Array<{tags: Record<string, string>; values: Array<[string, number]>}>}).series
    const ours = await monRange(query, since, until, MIN)
    assert.deepEqual(
      ours.map((s) => ({labels: s.labels, values: s.values})),
      expected.map((s) => ({labels: s.tags, values: s.values.map(([t, v]) => [Date.parse(t), v])})),
    )
  })

  it('gives the same numbers as a real Prometheus for the same expressions', async () => {
    const expressions = [
      'rate(http_requests_total[5m])',
      'sum by (job) (increase(http_requests_total[10m]))',
      'avg_over_time(cpu_busy{job="api"}[10m])',
      'histogram_quantile(0.9, sum by (le) (rate(latency_seconds_bucket[5m])))',
    ]
    for (const query of expressions) {
      for (const at of [T0 + 20 * MIN, T0 + 25 * MIN, T0 + 50 * MIN]) compareSeries(await monInstant(query, at), await promQueryInstant(prometheus.url, query, at), `${query} @ ${at}`)
      const [start, end, step] = [T0 + 10 * MIN, T0 + 55 * MIN, MIN]
      compareSeries(await monRange(query, start, end, step), await promQueryRange(prometheus.url, query, start, end, step), `${query} range`)
    }
  })

  it('lists label names, label values (metric names for __name__) and series', async () => {
    const labels = (await ok('/api/v1/labels', {})) as unknown as string[]
    assert.deepEqual(labels, ['__name__', 'host', 'instance', 'job', 'le'])
    const names = (await ok('/api/v1/label/__name__/values', {})) as unknown as string[]
    assert.deepEqual(names, ['cpu.usage_system', 'cpu.usage_user', 'cpu_busy', 'http_requests_total', 'latency_seconds_bucket'])
    assert.deepEqual(await ok('/api/v1/label/host/values', {}), ['a', 'b'])
    assert.deepEqual(await ok('/api/v1/label/instance/values', {'match[]': 'cpu_busy{job="web"}'}), ['a', 'b', 'c'])

    const series = (await ok('/api/v1/series', {'match[]': ['cpu_busy{job="api"}', 'cpu.usage_user'], start: sec(T0), end: sec(T0 + 60 * MIN)})) as unknown as Labels[]
    assert.deepEqual(series, [
      {__name__: 'cpu.usage_user', host: 'a'},
      {__name__: 'cpu.usage_user', host: 'b'},
      {__name__: 'cpu_busy', instance: 'a', job: 'api'},
      {__name__: 'cpu_busy', instance: 'b', job: 'api'},
      {__name__: 'cpu_busy', instance: 'c', job: 'api'},
    ])
    // the window matters: instance c is silent from 22.5 to 27.5 min
    const gap = (await ok('/api/v1/series', {'match[]': 'cpu_busy{job="api"}', start: sec(T0 + 23 * MIN), end: sec(T0 + 27 * MIN)})) as unknown as Labels[]
    assert.deepEqual(
      gap.map((s) => s.instance),
      ['a', 'b'],
    )
  })

  it('refuses bad input with Prometheus errors: 400 bad_data, never a 500', async () => {
    const cases: Array<[string, Record<string, string | string[]>, RegExp]> = [
      ['/api/v1/query', {}, /^invalid parameter "query": /],
      ['/api/v1/query', {query: 'sum(rate(x[5m])'}, /^invalid parameter "query": /],
      ['/api/v1/query', {query: 'up', time: 'yesterday-ish'}, /^invalid parameter "time": cannot parse "yesterday-ish" to a valid timestamp$/],
      ['/api/v1/query_range', {query: 'up', start: '100', end: '50', step: '10'}, /^end timestamp must not be before start time$/],
      ['/api/v1/query_range', {query: 'up', start: '0', end: '100', step: '0'}, /^zero or negative query resolution step widths are not accepted/],
      ['/api/v1/query_range', {query: 'up', start: '0', end: '100000', step: '1'}, /^exceeded maximum resolution of 11,000 points per timeseries/],
      ['/api/v1/query_range', {query: 'up', start: '0', end: '100'}, /^invalid parameter "step": /],
      ['/api/v1/query_range', {query: 'up', start: '0', end: '100', step: 'often'}, /^invalid parameter "step": cannot parse "often" to a valid duration$/],
      ['/api/v1/query_range', {query: 'up[5m]', start: '0', end: '100', step: '10'}, /^invalid expression type "range vector" for range query/],
      ['/api/v1/series', {}, /^no match\[\] parameter provided$/],
      ['/api/v1/series', {'match[]': 'rate(x[5m])'}, /is not a series selector/],
    ]
    for (const [path, params, message] of cases) {
      const {status, body} = await get(path, params)
      assert.equal(status, 400, `${path} ${JSON.stringify(params)}: ${JSON.stringify(body)}`)
      assert.equal(body.status, 'error')
      assert.equal(body.errorType, 'bad_data')
      assert.match(body.error!, message)
    }

    const wrong = await get('/api/v1/query', {query: 'up'}, 'not-the-token')
    assert.equal(wrong.status, 401, 'the token guards these routes as the rest of /api/')
  })

  it('writes values as Prometheus does: shortest digits, no exponent, +Inf/-Inf/NaN', () => {
    assert.equal(formatValue(0.1 + 0.2), '0.30000000000000004')
    assert.equal(formatValue(1e21), '1000000000000000000000')
    assert.equal(formatValue(-1.5e-7), '-0.00000015')
    assert.equal(formatValue(1.2345e25), '12345000000000000000000000')
    assert.equal(formatValue(Number.POSITIVE_INFINITY), '+Inf')
    assert.equal(formatValue(Number.NEGATIVE_INFINITY), '-Inf')
    assert.equal(formatValue(Number.NaN), 'NaN')
    assert.equal(formatValue(-0), '-0')
  })
})
