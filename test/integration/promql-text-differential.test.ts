/**
 * Issue 18's differential test: PromQL *text* on a real Prometheus 2.42 and on mon, value by value.
 *
 * One fixture (helpers/prometheus.ts promqlFixture: counters with a reset, gauges, a gap in one
 * series, a classic histogram with `le` buckets, two jobs × three instances) is backfilled into
 * Prometheus with `promtool tsdb create-blocks-from openmetrics`, and written into an embedded
 * SqliteStore (temp file) and a real influxd as measurement = the Prometheus name, field `value`,
 * tags = the labels (floats). A name without a dot is that measurement's field `value`, so the same
 * text runs on all three. Each expression is evaluated at three instants (one inside the gap) and as
 * two range queries (1 m and an odd 47 s step); Prometheus answers /api/v1/query(_range), mon
 * runInstant/runRange on each store; the label sets and every value must agree (relative 1e-9,
 * NaN = NaN, ±Inf exact), and for an instant vector the set of series too.
 *
 * Window edges: mon's windows are left-open (t − d, t] (Prometheus 3), Prometheus 2.42's closed
 * [t − d, t]. No sample of the fixture sits on a whole second and every evaluation time, range,
 * offset and step here is whole seconds, so no raw sample is ever on an edge; subquery points are
 * whole seconds, so `assertEdgeFree` below checks that no subquery point falls on its outer window's edge
 * either. The edge itself is one of the DOCUMENTED_DIFFERENCES, checked on purpose.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {influxStoreSchema, prometheusStoreSchema, victoriaMetricsStoreSchema} from '../../src/core/config/schema.js'
import type {Point} from '../../src/core/model/point.js'
import {walk} from '../../src/core/query/ast.js'
import {DEFAULT_SUBQUERY_STEP_MS} from '../../src/core/query/eval/engine.js'
import {runInstant, runRange} from '../../src/core/query/executor.js'
import {parseQuery} from '../../src/core/query/parser.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {PrometheusStore, VictoriaMetricsStore} from '../../src/core/store/prom/store.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Store} from '../../src/core/store/types.js'
import type {RawSeries} from '../../src/core/query/eval/series.js'
import {
  compareSeries,
  FIXTURE_T0 as T0,
  instantSeries,
  MIN,
  openMetrics,
  promQueryInstant,
  promQueryRange,
  promqlFixture,
  SEC,
  type SeriesValues,
} from '../helpers/prometheus.js'
import {type RunningServer, startInfluxd, startPrometheus, startVictoriaMetrics, tempDir} from '../helpers/servers.js'
import {waitForVictoriaMetrics} from '../helpers/victoriametrics.js'

const at = (ms: number) => String(ms / 1000)

/** ≥ 60 expressions: every function, aggregation, operator and modifier mon shares with PromQL. */
const EXPRESSIONS: string[] = [
  // selectors, offset, @
  'http_requests_total',
  'cpu_busy{job="api"} offset 10m',
  `cpu_busy{instance="a"} @ ${at(T0 + 20 * MIN)}`,
  'cpu_busy / cpu_busy @ start()',
  'cpu_busy{job=~"a.*", instance!="b"}',
  // counters and gauges over a window
  'rate(http_requests_total[5m])',
  'rate(http_requests_total[5m] offset 7m)',
  'irate(http_requests_total[1m])',
  'increase(http_requests_total[10m])',
  `increase(http_requests_total[10m] @ ${at(T0 + 40 * MIN)})`,
  'delta(cpu_busy[3m])',
  'idelta(cpu_busy[1m])',
  'idelta(http_requests_total[2m])',
  'deriv(cpu_busy[10m])',
  'deriv(http_requests_total[5m])',
  'changes(cpu_busy[5m])',
  'resets(http_requests_total[30m])',
  'predict_linear(cpu_busy[10m], 3600)',
  'predict_linear(http_requests_total[15m], 600)',
  'holt_winters(cpu_busy[10m], 0.3, 0.6)',
  // *_over_time
  'avg_over_time(cpu_busy[5m])',
  'min_over_time(cpu_busy[5m])',
  'max_over_time(cpu_busy[5m])',
  'sum_over_time(cpu_busy[5m])',
  'count_over_time(cpu_busy[5m])',
  'count_over_time(cpu_busy{instance="c"}[2m])',
  'last_over_time(cpu_busy[5m])',
  'last_over_time(cpu_busy{instance="c"}[2m])',
  'quantile_over_time(0.9, cpu_busy[10m])',
  'quantile_over_time(0.25, http_requests_total[10m])',
  'stddev_over_time(cpu_busy[10m])',
  'stdvar_over_time(cpu_busy[10m])',
  'absent_over_time(nothing{job="x"}[5m])',
  'absent_over_time(cpu_busy{instance="c", job="api"}[1m])',
  'present_over_time(cpu_busy[2m])',
  // aggregations
  'sum by (job) (rate(http_requests_total[5m]))',
  'sum(rate(http_requests_total[5m])) by (job)',
  'avg without (instance) (cpu_busy)',
  'min by (job) (cpu_busy)',
  'max(cpu_busy)',
  'count by (job) (cpu_busy)',
  'count(cpu_busy > 50)',
  'stddev by (job) (cpu_busy)',
  'stdvar without (job) (cpu_busy)',
  'quantile(0.5, cpu_busy)',
  'quantile by (job) (0.95, cpu_busy)',
  'topk(2, cpu_busy)',
  'topk by (job) (1, rate(http_requests_total[5m]))',
  'bottomk by (job) (1, cpu_busy)',
  'count_values("value", cpu_busy{job="api"})',
  'group by (instance) (cpu_busy)',
  'sum without (instance, job) (http_requests_total)',
  'sum by (job) (changes(cpu_busy[10m]))',
  // vector matching, comparisons, set operators
  'rate(http_requests_total[5m]) / on (job) group_left sum by (job) (rate(http_requests_total[5m]))',
  'cpu_busy{job="api"} * on (instance) cpu_busy{job="web"}',
  'max by (instance) (cpu_busy) - on (instance) group_right cpu_busy',
  'http_requests_total * on (job) group_left (le) max by (job, le) (latency_seconds_bucket{le="1"})',
  'cpu_busy{job="api"} >= ignoring (job) cpu_busy{job="web"}',
  'cpu_busy{job="api"} != bool ignoring (job) cpu_busy{job="web"}',
  'cpu_busy == bool on (job, instance) cpu_busy',
  'cpu_busy > 50',
  'cpu_busy > bool 50',
  'sum by (job) (cpu_busy) > bool 150',
  'cpu_busy - cpu_busy offset 5m',
  'cpu_busy and cpu_busy > 30',
  'cpu_busy unless ignoring (job) cpu_busy{instance="a"}',
  'cpu_busy{job="api"} or http_requests_total{job="web"}',
  'cpu_busy % 7',
  '2 ^ (cpu_busy / 50)',
  '-cpu_busy',
  // time, timestamp, labels, clamps, maths
  'time()',
  'time() - timestamp(cpu_busy)',
  'timestamp(cpu_busy offset 1m)',
  'timestamp(cpu_busy{instance="c"})',
  'label_replace(cpu_busy, "host", "$1-host", "instance", "(.*)")',
  'label_replace(rate(http_requests_total[5m]), "shard", "$2", "instance", "(a|b)(.*)")',
  'label_join(cpu_busy, "id", "/", "job", "instance")',
  'clamp_max(clamp_min(cpu_busy, 20), 80)',
  'clamp(cpu_busy, 10, 90)',
  'abs(cpu_busy - 50)',
  'ceil(cpu_busy)',
  'floor(cpu_busy)',
  'round(cpu_busy, 5)',
  'sqrt(cpu_busy)',
  'exp(cpu_busy / 10)',
  'ln(cpu_busy)',
  'log2(http_requests_total)',
  'log10(cpu_busy)',
  // histograms
  'histogram_quantile(0.9, rate(latency_seconds_bucket[5m]))',
  'histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[10m])))',
  'histogram_quantile(0.5, latency_seconds_bucket)',
  // subqueries
  'max_over_time((time() - timestamp(cpu_busy))[10m:42s])',
  'avg_over_time(sum by (job) (rate(http_requests_total[2m]))[10m:1m])',
  'rate(http_requests_total[5m:40s])',
  'min_over_time(deriv(cpu_busy[5m])[15m:45s] offset 2m)',
  'max_over_time(cpu_busy[7m:])',
  // scalar, vector, absent
  'scalar(max(cpu_busy)) + vector(1)',
  'scalar(cpu_busy)',
  'vector(time())',
  'cpu_busy * scalar(count(cpu_busy))',
  'absent(nothing{job="x", instance="y"})',
  'absent(cpu_busy{instance="c"})',
  // edge cases: infinities, NaN, empty windows, the reset, nesting
  'quantile(1.5, cpu_busy)',
  'quantile_over_time(-0.5, cpu_busy[5m])',
  'histogram_quantile(1.2, latency_seconds_bucket)',
  'clamp(cpu_busy, 90, 10) or vector(7)',
  'ln(cpu_busy - 50)',
  'cpu_busy / 0',
  '(cpu_busy - cpu_busy) / 0',
  'exp(cpu_busy * 10)',
  '-exp(cpu_busy * 10)',
  'rate(cpu_busy{instance="c"}[1m])',
  'deriv(cpu_busy[20s])',
  'irate(http_requests_total[20s])',
  'timestamp(timestamp(cpu_busy))',
  'count_values("v", floor(cpu_busy / 10))',
  'cpu_busy{job="api"} + on (instance) group_left (job) cpu_busy{job="web"}',
  'scalar(vector(3)) * cpu_busy',
  'count_over_time(cpu_busy[5m] @ end())',
  'http_requests_total @ start() - http_requests_total',
  'changes(cpu_busy{instance="c"}[3m])',
  'resets(http_requests_total{instance="b"}[10m])',
  'increase(http_requests_total{instance="b"}[3m])',
  'holt_winters(http_requests_total[5m], 0.1, 0.9)',
  'predict_linear(cpu_busy[10m] offset 5m, -600)',
  'avg_over_time(rate(http_requests_total[1m])[5m:])',
  `max_over_time(irate(http_requests_total[1m])[10m:1m] @ ${at(T0 + 40 * MIN)})`,
  'stddev(cpu_busy)',
  'stdvar(cpu_busy)',
  'cpu_busy > on (job, instance) group_left cpu_busy offset 1m',
  'cpu_busy < bool 50 unless cpu_busy{instance="a"}',
  'last_over_time(http_requests_total[1m] offset 30m)',
  'label_replace(cpu_busy, "foo", "bar", "nonexistent", "")',
  'label_replace(cpu_busy, "foo", "bar", "instance", "zzz")',
  'label_join(cpu_busy, "id", "", "instance", "job", "instance")',
  'topk(0, cpu_busy) or vector(1)',
  'topk(2.7, cpu_busy)',
  'bottomk(10, cpu_busy)',
  'quantile(NaN, cpu_busy)',
  'absent(nothing{job=~"x", instance="y"})',
  'absent(sum(nothing))',
  'round(cpu_busy, 0.3)',
  'round(-cpu_busy)',
  `cpu_busy @ ${at(T0 + 20 * MIN)} offset 5m`,
  'rate(http_requests_total[1h])',
  'changes(http_requests_total[1h])',
  'predict_linear(cpu_busy[5m], 0)',
  'time() % 3600',
  '+cpu_busy',
  '2 * 3 + time()',
  '1 > bool 2',
  'cpu_busy > bool on (instance) group_left max by (instance) (cpu_busy)',
  'cpu_busy and on () vector(1)',
  'histogram_quantile(0.9, sum by (job, le) (rate(latency_seconds_bucket[5m])))',
  'histogram_quantile(0, latency_seconds_bucket)',
  'histogram_quantile(1, latency_seconds_bucket)',
  'count by (le) (latency_seconds_bucket)',
  'stddev_over_time(http_requests_total[1m])',
  'quantile_over_time(0.5, cpu_busy[2m:50s])',
  'deriv(cpu_busy[5m:])',
  'group(cpu_busy)',
  '1 - cpu_busy / 100 > 0.5',
  'cpu_busy / on (job, instance) http_requests_total',
  'cpu_busy unless on (job) http_requests_total{instance="a", job="api"}',
  'sum by (job) (http_requests_total) / ignoring (job) group_left sum(http_requests_total)',
  'count_values("job", round(cpu_busy / 40))',
  'sum by (job) (idelta(http_requests_total[1m]))',
  'max_over_time(rate(http_requests_total[2m])[30m:5m])',
  'irate(cpu_busy[5m] offset 3m)',
  'timestamp(cpu_busy @ 1700001800)',
]

/**
 * mon's aggregation of a range vector pools every sample of the window (`max(x[5m]) by (job)`), which
 * PromQL does not have: each is checked against the PromQL composition that means the same.
 */
const POOLED: Array<[mon: string, prometheus: string]> = [
  ['max(cpu_busy[5m]) by (job)', 'max by (job) (max_over_time(cpu_busy[5m]))'],
  ['min(cpu_busy[5m]) by (job)', 'min by (job) (min_over_time(cpu_busy[5m]))'],
  ['sum(cpu_busy[5m]) by (job)', 'sum by (job) (sum_over_time(cpu_busy[5m]))'],
  ['count(cpu_busy[5m]) by (job)', 'sum by (job) (count_over_time(cpu_busy[5m]))'],
  ['avg(cpu_busy[5m]) by (job)', 'sum by (job) (sum_over_time(cpu_busy[5m])) / sum by (job) (count_over_time(cpu_busy[5m]))'],
  ['max(cpu_busy[5m])', 'max(max_over_time(cpu_busy[5m]))'],
]

/**
 * Where mon differs from Prometheus 2.42 on purpose. Each entry is evaluated on both: the answers
 * must differ (on both stores), and mon's must equal Prometheus' answers to `monEquals`, so the
 * difference is exactly the one written here. docs/query.md "Differences from Prometheus" lists them.
 */
interface DocumentedDifference {
  expr: string
  /** what Prometheus 2.42 gives, what mon gives, and why */
  reason: string
  /** Prometheus refuses `expr` with this complaint; omitted: it answers, and mon's answers must differ */
  prometheusRefuses?: RegExp
  /** mon refuses `expr` (on both stores) with this complaint; omitted: see monEquals */
  monRefuses?: RegExp
  /** the Prometheus expression whose answers mon's equal (unless mon refuses) */
  monEquals?: string
  /** instants to evaluate at (only instant queries); omitted: the three instants and two ranges */
  instants?: (data: RawSeries[]) => number[]
}

/** The fixture series with these labels (its samples). */
function fixtureSeries(data: RawSeries[], labels: Record<string, string>): RawSeries['samples'] {
  const found = data.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  assert.equal(found.length, 1, `fixture series ${JSON.stringify(labels)}`)
  return found[0].samples
}

const DOCUMENTED_DIFFERENCES: DocumentedDifference[] = [
  {
    expr: 'timestamp(last_over_time(cpu_busy[5m]))',
    reason:
      "Prometheus 2.42: the evaluation time (last_over_time's result is stamped with it); mon: the time of the sample last_over_time picked, as timestamp(cpu_busy) gives (mon's alert and recording rules report a selector's or last_over_time's own sample time)",
    monEquals: 'timestamp(cpu_busy)',
  },
  {
    expr: 'count_over_time(cpu_busy{job="api", instance="a"}[1m])',
    reason:
      "a sample exactly on a window's left edge t − 1m: Prometheus 2.42 counts it ([t − d, t]); mon does not ((t − d, t], as Prometheus 3), so mon's window is Prometheus 2.42's 1 ms shorter",
    monEquals: 'count_over_time(cpu_busy{job="api", instance="a"}[59s999ms])',
    instants: (data) => [100, 150, 200].map((i) => fixtureSeries(data, {__name__: 'cpu_busy', job: 'api', instance: 'a'})[i].t + MIN),
  },
  {
    expr: 'cpu_busy{instance="c"}',
    reason:
      "the look-back's left edge: 5 min after instance c's last sample before its gap, Prometheus 2.42 still returns that sample ([t − 5m, t]), mon no longer ((t − 5m, t]); mon's look-back is Prometheus 2.42's 1 ms shorter",
    monEquals: 'last_over_time(cpu_busy{instance="c"}[4m59s999ms])',
    instants: (data) => {
      const samples = fixtureSeries(data, {__name__: 'cpu_busy', job: 'api', instance: 'c'})
      const t = samples[89].t + 5 * MIN
      // instance c's next sample (after the gap) is later: at t the last one is exactly on the edge
      assert.ok(samples[90].t > t, 'the gap outlasts the look-back')
      return [t]
    },
  },
  {
    expr: 'rate(http_requests_total)',
    reason:
      'a range function without [d]: Prometheus refuses it; mon uses the look-back (5 min, or the step when wider) as the window, so it is rate(x[5m]) here (mon\'s older spelling)',
    prometheusRefuses: /expected type range vector in call to function "rate", got instant vector/,
    monEquals: 'rate(http_requests_total[5m])',
  },
  {
    expr: '{__name__=~"cpu_busy|http_requests_total", job="api"}',
    reason: 'a selector without one metric name: Prometheus selects across names; mon refuses it (each selector is one read of one measurement.field)',
    monRefuses: /a selector needs a metric name/,
  },
]

/** Expressions both refuse when evaluated (they parse): the same complaint from Prometheus and from mon on each store. */
const REFUSED: Array<[string, RegExp]> = [
  ['cpu_busy / on (job) cpu_busy', /many-to-many matching not allowed/],
  ['cpu_busy / on (job) sum by (job) (cpu_busy)', /many-to-one matching must be explicit/],
  ['holt_winters(cpu_busy[10m], 1, 0.6)', /invalid smoothing factor. Expected: 0 < sf < 1, got: 1/],
  ['label_replace(cpu_busy, "instance", "x", "instance", ".*")', /vector cannot contain metrics with the same labelset/],
]

/** Three instants: inside instance c's gap (22.5–27.5 min), the middle, the end. Whole seconds, none a multiple of a subquery step. */
const INSTANTS = [T0 + 26 * MIN + 41 * SEC, T0 + 38 * MIN + 7 * SEC, T0 + 59 * MIN + 59 * SEC]
/** Two range queries: 31 steps of 1 m and 35 of 47 s. */
const RANGES: Array<{start: number; end: number; step: number}> = [
  {start: T0 + 20 * MIN + 13 * SEC, end: T0 + 50 * MIN + 13 * SEC, step: MIN},
  {start: T0 + 21 * MIN + 7 * SEC, end: T0 + 21 * MIN + 7 * SEC + 34 * 47 * SEC, step: 47 * SEC},
]

/**
 * Throws unless no window of the expression can have a point on its edge: every time and duration
 * in whole seconds (raw samples never are), and no subquery point (a multiple of its step) on the
 * left edge of the window over it at any evaluation time.
 */
function assertEdgeFree(text: string, times: number[]): void {
  for (const t of times) assert.equal(t % SEC, 0, `${new Date(t).toISOString()} is not a whole second`)
  const {expr} = parseQuery(text)
  walk(expr, (node) => {
    if (node.kind === 'number' || node.kind === 'string' || node.kind === 'call' || node.kind === 'aggregation' || node.kind === 'binary' || node.kind === 'unary') return
    const at = node.kind === 'matrix' ? node.selector.at : node.at
    const durations = [
      ...(node.kind === 'vector' ? [node.offset ?? 0] : node.kind === 'matrix' ? [node.range] : [node.range, node.step ?? 0, node.offset ?? 0]),
      ...(typeof at === 'number' ? [at] : []),
    ]
    for (const d of durations) assert.equal(d % SEC, 0, `${text}: ${d} ms is not whole seconds; a window edge could meet a sample`)
    if (node.kind !== 'subquery') return
    const step = node.step ?? DEFAULT_SUBQUERY_STEP_MS
    // `@ start()`/`@ end()` are range bounds, which are evaluation times too: checked with every t
    for (const t of times) {
      const edge = (typeof node.at === 'number' ? node.at : t) - (node.offset ?? 0) - node.range
      assert.notEqual(edge % step, 0, `${text} at ${new Date(t).toISOString()}: a subquery point sits on the window's edge`)
    }
  })
}

function stepsOf(r: {start: number; end: number; step: number}): number[] {
  const out: number[] = []
  for (let t = r.start; t <= r.end; t += r.step) out.push(t)
  return out
}

const EVALUATION_TIMES = [...INSTANTS, ...RANGES.flatMap(stepsOf)]

describe('PromQL text on mon (embedded store, influxd, VictoriaMetrics, Prometheus as a store) against a real Prometheus 2.42', () => {
  const data = promqlFixture()
  const tmp = tempDir('mon-promql-text-diff-')
  let prometheus: RunningServer
  let influxd: RunningServer
  let victoria: RunningServer
  let influx: InfluxStore
  let embedded: SqliteStore
  let vm: VictoriaMetricsStore
  let promStore: PrometheusStore
  /**
   * mon evaluates the same text over each store's raw reads: the fixture written through mon into
   * the embedded store, influxd and VictoriaMetrics (as cpu_busy_value …: a dotless name is field
   * value), and the very Prometheus the answers come from, read as a store (cpu_busy).
   */
  const stores: Array<[string, () => Store]> = [
    ['embedded', () => embedded],
    ['influxd', () => influx],
    ['victoriametrics', () => vm],
    ['prometheus', () => promStore],
  ]
  const tally = {expressions: 0, values: 0, documented: 0, differences: 0}

  before(async () => {
    const points: Point[] = data.flatMap((s) => {
      const {__name__: measurement, ...tags} = s.labels
      return s.samples.map((x) => ({measurement, tags, fields: {value: x.v}, ts: x.t}))
    })
    ;[prometheus, influxd, victoria] = await Promise.all([startPrometheus(openMetrics(data)), startInfluxd(), startVictoriaMetrics()])
    vm = new VictoriaMetricsStore(victoriaMetricsStoreSchema.parse({type: 'victoriametrics', url: victoria.url}))
    promStore = new PrometheusStore(prometheusStoreSchema.parse({type: 'prometheus', url: prometheus.url}))
    influx = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'promql', batch_size: 5000}))
    await influx.init()
    // the embedded store answers from raw data while it is within retention.raw of "now"
    embedded = new SqliteStore({path: join(tmp.dir, 'mon.db'), clock: new ManualClock(T0 + 2 * 60 * MIN)})
    await Promise.all([influx.write(points), embedded.write(points), vm.write(points)])
    // VictoriaMetrics makes what it ingested searchable a little later: wait until every sample reads back
    await waitForVictoriaMetrics(victoria.url, points.length)
  })

  after(async () => {
    await influx?.close()
    await embedded?.close()
    await vm?.close()
    await promStore?.close()
    await Promise.all([prometheus?.destroy(), influxd?.destroy(), victoria?.destroy()])
    tmp.cleanup()
    const compared = `${tally.expressions} expressions × (3 instant + 2 range) × ${stores.length} stores: ${tally.values} values compared`
    console.log(`# [promql-differential] ${compared}, ${tally.differences} differences (${tally.documented} documented)`)
  })

  /** mon's answers on one store: at each instant, then each range. */
  async function monAnswers(text: string, store: Store, instants = INSTANTS, ranges = RANGES): Promise<SeriesValues[][]> {
    const q = parseQuery(text)
    return Promise.all([
      ...instants.map(async (t) => instantSeries((await runInstant(q, store, t)).value)),
      ...ranges.map(async ({start, end, step}) => (await runRange(q, store, start, end, step)).map((s) => ({labels: s.labels, values: s.samples.map((x) => [x.t, x.v] as [number, number])}))),
    ])
  }

  function promAnswers(text: string, instants = INSTANTS, ranges = RANGES): Promise<SeriesValues[][]> {
    return Promise.all([...instants.map((t) => promQueryInstant(prometheus.url, text, t)), ...ranges.map(({start, end, step}) => promQueryRange(prometheus.url, text, start, end, step))])
  }

  const what = ['instant in the gap', 'instant mid-way', 'instant at the end', 'range every 1m', 'range every 47s']
  const describeAnswer = (i: number, instants: number[]) => (instants === INSTANTS ? what[i] : i < instants.length ? `instant at ${new Date(instants[i]).toISOString()}` : `range ${i - instants.length}`)

  /** Compares mon's answers (on both stores) to Prometheus' to `theirs`; returns the values compared. */
  async function compareAll(text: string, theirs: string): Promise<number> {
    assertEdgeFree(text, EVALUATION_TIMES)
    assertEdgeFree(theirs, EVALUATION_TIMES)
    const expected = await promAnswers(theirs)
    // an expression empty everywhere would prove nothing
    assert.ok(
      expected.some((answer) => answer.length > 0),
      `${theirs}: Prometheus returned nothing at any time`,
    )
    let values = 0
    for (const [name, store] of stores) {
      const ours = await monAnswers(text, store())
      for (const [i, answer] of expected.entries()) values += compareSeries(ours[i], answer, `${text} (${name}, ${what[i]})${theirs === text ? '' : ` against ${theirs}`}`).values
    }

    return values
  }

  /** Runs a comparison; a throw is a difference nobody documented. */
  async function counted(compare: () => Promise<number>): Promise<void> {
    try {
      tally.values += await compare()
    } catch (error) {
      tally.differences++
      throw error
    }
  }

  it('no sample of the fixture sits on a whole second (so none on the edge of a window of whole seconds)', () => {
    const onSecond = data.flatMap((s) => s.samples.filter((x) => x.t % SEC === 0).map((x) => `${JSON.stringify(s.labels)} at ${x.t}`))
    assert.deepEqual(onSecond, [])
  })

  assert.ok(EXPRESSIONS.length >= 60, `only ${EXPRESSIONS.length} expressions`)
  for (const text of EXPRESSIONS) {
    it(text, async () => {
      await counted(() => compareAll(text, text))
      tally.expressions++
    })
  }

  for (const [mon, composed] of POOLED) {
    it(`mon's pooled ${mon} = PromQL's ${composed}`, async () => {
      // not PromQL: Prometheus refuses mon's text
      await assert.rejects(promQueryInstant(prometheus.url, mon, INSTANTS[0]), /expected type instant vector in aggregation expression, got range vector/)
      await counted(() => compareAll(mon, composed))
      tally.expressions++
    })
  }

  for (const [text, complaint] of REFUSED) {
    it(`refused: ${text}`, async () => {
      const t = INSTANTS[1]
      await assert.rejects(promQueryInstant(prometheus.url, text, t), complaint, `Prometheus: ${text}`)
      for (const [name, store] of stores) await assert.rejects(runInstant(parseQuery(text), store(), t), complaint, `mon (${name}): ${text}`)
    })
  }

  for (const difference of DOCUMENTED_DIFFERENCES) {
    it(`documented difference: ${difference.expr}`, async () => {
      const instants = difference.instants?.(data) ?? INSTANTS
      const ranges = difference.instants ? [] : RANGES
      let theirs: SeriesValues[][] | undefined
      if (difference.prometheusRefuses) {
        await assert.rejects(promAnswers(difference.expr, instants, ranges), difference.prometheusRefuses, `Prometheus now accepts ${difference.expr}`)
      } else {
        theirs = await promAnswers(difference.expr, instants, ranges)
        assert.ok(
          theirs.some((answer) => answer.length > 0),
          `${difference.expr}: Prometheus returned nothing`,
        )
      }

      assert.ok(difference.monRefuses ?? difference.monEquals, `${difference.expr}: say what mon gives (monEquals) or refuses (monRefuses)`)
      const equivalent = difference.monEquals === undefined ? [] : await promAnswers(difference.monEquals, instants, ranges)
      await counted(async () => {
        let values = 0
        for (const [name, store] of stores) {
          if (difference.monRefuses) {
            await assert.rejects(monAnswers(difference.expr, store(), instants, ranges), difference.monRefuses, `mon (${name}) now accepts ${difference.expr}`)
            continue
          }

          const ours = await monAnswers(difference.expr, store(), instants, ranges)
          // the difference is there (else the entry is stale: remove it and the docs' line)...
          const differs = (theirs ?? []).map((answer, i) => {
            try {
              compareSeries(ours[i], answer, difference.expr)
              return false
            } catch {
              return true
            }
          })
          assert.ok(!theirs || differs.some(Boolean), `${difference.expr} (${name}): mon now agrees with Prometheus; the documented difference (${difference.reason}) is gone`)
          // ...and it is exactly the documented one
          for (const [i, answer] of equivalent.entries()) {
            values += compareSeries(ours[i], answer, `${difference.expr} (${name}, ${describeAnswer(i, instants)}) against ${difference.monEquals}`).values
          }
        }

        return values
      })
      tally.documented++
    })
  }
})
