import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {PromExpr} from '../../src/core/query/eval/ast.js'
import {instantQuery, PromEvalError, rangeQuery} from '../../src/core/query/eval/engine.js'
import {formatPromExpr} from '../../src/core/query/eval/format.js'
import {MemorySeriesSource} from '../../src/core/query/eval/series.js'
import {agg, bin, call, ignoring, num, on, range, sel, str, subquery} from '../helpers/promql-ast.js'
import {compareSeries, FIXTURE_T0, instantSeries, MIN, openMetrics, promQueryInstant, promQueryRange, promqlFixture, SEC} from '../helpers/prometheus.js'
import {type RunningServer, startPrometheus} from '../helpers/servers.js'

// The evaluator against a real Prometheus 2.42 (issue 18's differential test, first skeleton): one
// fixture is backfilled into Prometheus with promtool and handed to the evaluator in memory; each
// expression is sent as PromQL text (formatPromExpr of the same tree) and compared value by value.
// Prometheus 2.42 selects [t-d, t], so the evaluator runs with leftClosed: true.

const T0 = FIXTURE_T0

const http = sel('http_requests_total')
const cpu = sel('cpu_busy')
const expressions: PromExpr[] = [
  http,
  sel('cpu_busy', {job: 'api'}, {offset: 10 * MIN}),
  sel('cpu_busy', {instance: 'a'}, {at: T0 + 20 * MIN}),
  call('rate', range(http, 5 * MIN)),
  call('increase', range(http, 10 * MIN)),
  call('delta', range(cpu, 3 * MIN)),
  call('irate', range(http, MIN)),
  call('idelta', range(cpu, MIN)),
  call('deriv', range(cpu, 10 * MIN)),
  call('predict_linear', range(cpu, 10 * MIN), num(3600)),
  call('changes', range(cpu, 5 * MIN)),
  call('resets', range(http, 30 * MIN)),
  call('avg_over_time', range(cpu, 5 * MIN)),
  call('min_over_time', range(cpu, 5 * MIN)),
  call('max_over_time', range(cpu, 5 * MIN)),
  call('sum_over_time', range(cpu, 5 * MIN)),
  call('count_over_time', range(cpu, 5 * MIN)),
  call('last_over_time', range(cpu, 5 * MIN)),
  call('quantile_over_time', num(0.9), range(cpu, 10 * MIN)),
  call('stddev_over_time', range(cpu, 10 * MIN)),
  call('stdvar_over_time', range(cpu, 10 * MIN)),
  call('holt_winters', range(cpu, 10 * MIN), num(0.3), num(0.6)),
  call('absent_over_time', range(sel('nothing', {job: 'x'}), 5 * MIN)),
  call('present_over_time', range(cpu, 5 * MIN)),
  agg('sum', call('rate', range(http, 5 * MIN)), {by: ['job']}),
  agg('avg', cpu, {without: ['instance']}),
  agg('max', cpu),
  agg('count', cpu, {by: ['job']}),
  agg('stddev', cpu, {by: ['job']}),
  agg('quantile', cpu, {param: num(0.5)}),
  agg('topk', cpu, {param: num(2)}),
  agg('bottomk', cpu, {by: ['job'], param: num(1)}),
  agg('group', cpu, {by: ['instance']}),
  bin('/', call('rate', range(http, 5 * MIN)), agg('sum', call('rate', range(http, 5 * MIN)), {by: ['job']}), {matching: on(['job'], {group: 'left'})}),
  bin('>', cpu, num(50)),
  bin('>', cpu, num(50), {bool: true}),
  bin('-', cpu, sel('cpu_busy', {}, {offset: 5 * MIN})),
  bin('and', cpu, bin('>', cpu, num(30))),
  bin('unless', cpu, sel('cpu_busy', {instance: 'a'}), {matching: ignoring(['job'])}),
  bin('or', sel('cpu_busy', {job: 'api'}), sel('http_requests_total', {job: 'web'})),
  bin('-', call('time'), call('timestamp', cpu)),
  call('clamp_max', call('clamp_min', cpu, num(20)), num(80)),
  call('round', cpu, num(5)),
  call('label_replace', cpu, str('host'), str('$1-host'), str('instance'), str('(.*)')),
  call('label_join', cpu, str('id'), str('/'), str('job'), str('instance')),
  call('histogram_quantile', num(0.9), call('rate', range(sel('latency_seconds_bucket'), 5 * MIN))),
  call('histogram_quantile', num(0.5), sel('latency_seconds_bucket')),
  call('histogram_quantile', num(0.99), agg('sum', call('rate', range(sel('latency_seconds_bucket'), 10 * MIN)), {by: ['le']})),
  call('rate', range(sel('http_requests_total', {}, {offset: 7 * MIN}), 5 * MIN)),
  call('increase', range(sel('http_requests_total', {}, {at: T0 + 40 * MIN}), 10 * MIN)),
  call('idelta', range(http, 2 * MIN)),
  agg('count_values', sel('cpu_busy', {job: 'api'}), {param: str('value')}),
  agg('stdvar', cpu, {without: ['job']}),
  agg('min', cpu, {by: ['job']}),
  agg('sum', http, {without: ['instance', 'job']}),
  agg('quantile', cpu, {by: ['job'], param: num(0.95)}),
  bin('*', sel('cpu_busy', {job: 'api'}), sel('cpu_busy', {job: 'web'}), {matching: on(['instance'])}),
  bin('-', agg('max', cpu, {by: ['instance']}), cpu, {matching: on(['instance'], {group: 'right'})}),
  bin('>=', sel('cpu_busy', {job: 'api'}), sel('cpu_busy', {job: 'web'}), {matching: ignoring(['job'])}),
  bin('!=', sel('cpu_busy', {job: 'api'}), sel('cpu_busy', {job: 'web'}), {matching: ignoring(['job']), bool: true}),
  bin('%', cpu, num(7)),
  bin('^', num(2), bin('/', cpu, num(50))),
  {kind: 'unary', op: '-', expr: cpu},
  bin('+', call('scalar', agg('max', cpu)), call('vector', num(1))),
  call('absent', sel('nothing', {job: 'x', instance: 'y'})),
  call('abs', bin('-', cpu, num(50))),
  call('ceil', cpu),
  call('floor', cpu),
  call('clamp', cpu, num(10), num(90)),
  call('timestamp', sel('cpu_busy', {}, {offset: MIN})),
  call('timestamp', bin('and', cpu, http, {matching: on(['instance', 'job'])})),
  call('timestamp', call('label_replace', cpu, str('x'), str('y'), str('job'), str('.*'))),
  bin('<', bin('-', call('time'), call('timestamp', sel('http_requests_total'))), num(30)),
  call('max_over_time', subquery(bin('-', call('time'), call('timestamp', cpu)), 10 * MIN, 30 * SEC)),
  call('avg_over_time', subquery(agg('sum', call('rate', range(http, 2 * MIN)), {by: ['job']}), 10 * MIN, MIN)),
  call('rate', subquery(http, 5 * MIN, 20 * SEC)),
  call('max_over_time', subquery(call('timestamp', cpu), 5 * MIN)),
  call('min_over_time', subquery(call('deriv', range(cpu, 5 * MIN)), 15 * MIN, 45 * SEC, {offset: 2 * MIN})),
  call('absent_over_time', subquery(sel('nothing'), 5 * MIN, MIN)),
]

describe('PromQL evaluator against a real Prometheus 2.42', () => {
  const data = promqlFixture()
  const source = new MemorySeriesSource(data)
  let prometheus: RunningServer

  before(async () => {
    prometheus = await startPrometheus(openMetrics(data))
  })

  after(async () => {
    await prometheus?.destroy()
  })

  const evaluationTimes = [T0 + 30 * MIN + 7 * SEC, T0 + 45 * MIN, T0 + 59 * MIN + 59 * SEC]
  for (const expr of expressions) {
    const text = formatPromExpr(expr)
    it(`instant: ${text}`, async () => {
      for (const t of evaluationTimes) {
        const expected = await promQueryInstant(prometheus.url, text, t)
        // every expression selects something: an empty answer on both sides would prove nothing
        assert.ok(expected.length > 0, `${text} at ${t}: Prometheus returned nothing`)
        compareSeries(instantSeries(instantQuery(source, expr, t, {leftClosed: true})), expected, `${text} at ${t}`)
      }
    })
  }

  // expressions both refuse at evaluation time (they parse): the same complaint on both sides
  const refused: Array<[PromExpr, RegExp]> = [
    [bin('/', cpu, cpu, {matching: on(['job'])}), /many-to-many matching not allowed/],
    [call('holt_winters', range(cpu, 10 * MIN), num(1), num(0.6)), /invalid smoothing factor. Expected: 0 < sf < 1, got: 1/],
    [bin('/', cpu, agg('sum', cpu, {by: ['job']}), {matching: on(['job'])}), /many-to-one matching must be explicit/],
    [call('rate', range(sel(undefined, {}, {matchers: [{name: '__name__', op: '=~', value: 'cpu_busy|http_requests_total'}]}), 5 * MIN)), /vector cannot contain metrics with the same labelset/],
    [bin('*', sel(undefined, {}, {matchers: [{name: '__name__', op: '=~', value: 'cpu_busy|http_requests_total'}]}), num(2)), /vector cannot contain metrics with the same labelset/],
  ]
  for (const [expr, complaint] of refused) {
    const text = formatPromExpr(expr)
    it(`refused: ${text}`, async () => {
      const t = evaluationTimes[0]
      const response = await fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({query: text, time: (t / 1000).toFixed(3)})}`)
      const body = (await response.json()) as {status: string; error?: string}
      assert.equal(body.status, 'error', `Prometheus accepted ${text}`)
      assert.match(body.error ?? '', complaint)
      assert.throws(() => instantQuery(source, expr, t, {leftClosed: true}), (error: unknown) => error instanceof PromEvalError && complaint.test(error.message))
    })
  }

  const rangeExpressions = [
    call('rate', range(http, 5 * MIN)),
    agg('sum', call('increase', range(http, 10 * MIN)), {by: ['job']}),
    call('avg_over_time', range(cpu, 2 * MIN)),
    bin('/', cpu, sel('cpu_busy', {}, {at: 'start'})),
    agg('topk', cpu, {param: num(1)}),
    call('deriv', range(sel('cpu_busy', {job: 'web'}), 5 * MIN)),
  ]
  for (const expr of rangeExpressions) {
    const text = formatPromExpr(expr)
    it(`range: ${text}`, async () => {
      const [start, end, step] = [T0 + 20 * MIN, T0 + 60 * MIN, 30 * SEC]
      const expected = await promQueryRange(prometheus.url, text, start, end, step)
      // 81 steps from 20 to 60 min between all the series (instance c's gap and topk's changing winner split them)
      assert.ok(expected.reduce((n, s) => n + s.values.length, 0) >= 81, `${text}: expected a value at every step`)
      const ours = rangeQuery(source, expr, start, end, step, {leftClosed: true}).map((s) => ({labels: s.labels, values: s.samples.map((x) => [x.t, x.v] as [number, number])}))
      compareSeries(ours, expected, text)
    })
  }
})
