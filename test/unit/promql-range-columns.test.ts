/**
 * A range query over values a store computed (the pushed-down `…_over_time(x[d])` at step d) is
 * answered column by column: the node's values at every step at once, an aggregation of them grouped
 * once (engine.ts stepColumnsOf). It must give exactly what the step-by-step evaluation gives from
 * the same values: the same series in the same order, the same times, the same 64-bit values
 * (each group's values aggregated in the order an instant evaluation meets them).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {PromExpr} from '../../src/core/query/eval/ast.js'
import {rangeQuery, StepSeries, type RangeSeries, type StepColumns, type VectorElement} from '../../src/core/query/eval/engine.js'
import {MemorySeriesSource, type Labels} from '../../src/core/query/eval/series.js'
import {parseQuery} from '../../src/core/query/parser.js'

const MIN = 60_000
const START = Date.UTC(2026, 0, 1)
const STEPS = 40
const END = START + (STEPS - 1) * MIN

/**
 * Six series as a pushed-down node's answer: gaps (a series absent for a while, one absent at the
 * first steps so its group first appears later and behind another), NaN, ±Inf, −0, large and tiny values
 * (where the order of a sum changes its last bits).
 */
function columns(): StepColumns {
  const labels: Labels[] = [{host: 'b', cpu: '1'}, {host: 'a', cpu: '0'}, {host: 'c', cpu: '0', zone: 'z'}, {host: 'a', cpu: '1'}, {host: 'b', cpu: '0'}, {host: 'd', cpu: '0'}]
  let seed = 11
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
  const c: StepColumns = {labels, values: [], present: []}
  for (let i = 0; i < labels.length; i++) {
    const values = new Float64Array(STEPS)
    const present = new Uint8Array(STEPS)
    for (let k = 0; k < STEPS; k++) {
      if ((i === 1 && k < 5) || (i === 2 && k >= 10 && k < 20) || (i === 5 && k % 3 === 0) || random() < 0.1) continue
      present[k] = 1
      values[k] = random() < 0.08 ? [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0][k % 4] : (random() - 0.3) * 10 ** Math.floor(random() * 20 - 4)
    }

    c.values.push(values)
    c.present.push(present)
  }

  return c
}

/** The same answer as the step-by-step evaluation reads it: the vector at each step. */
function perStep(c: StepColumns): (t: number) => VectorElement[] | undefined {
  return (t) => {
    const k = (t - START) / MIN
    if (!Number.isInteger(k) || k < 0 || k >= STEPS) return undefined
    const out: VectorElement[] = []
    for (let i = 0; i < c.labels.length; i++) if (c.present[i][k]) out.push({labels: c.labels[i], t, v: c.values[i][k]})
    return out
  }
}

/** The query's inner `…_over_time` node, which the store would have answered. */
function inner(expr: PromExpr): PromExpr {
  return expr.kind === 'aggregation' ? expr.expr : expr
}

function plain(series: RangeSeries[]): Array<{labels: Labels; samples: Array<{t: number; v: number}>}> {
  return series.map((s) => ({labels: s.labels, samples: s.samples.map((p) => ({t: p.t, v: p.v}))}))
}

describe('a range query column by column', () => {
  for (const text of [
    'avg_over_time(cpu.usage[1m])',
    'avg by (host) (avg_over_time(cpu.usage[1m]))',
    'sum by (host) (avg_over_time(cpu.usage[1m]))',
    'sum(max_over_time(cpu.usage[1m]))',
    'min without (cpu) (min_over_time(cpu.usage[1m]))',
    'max by (zone) (max_over_time(cpu.usage[1m]))',
    'count by (cpu) (count_over_time(cpu.usage[1m]))',
    'group by (host) (sum_over_time(cpu.usage[1m]))',
    'stddev by (cpu) (avg_over_time(cpu.usage[1m]))',
    'stdvar(avg_over_time(cpu.usage[1m]))',
    'spread by (host) (avg_over_time(cpu.usage[1m]))',
    // groups of one series each (engine.ts ALONE)
    'avg by (host, cpu) (avg_over_time(cpu.usage[1m]))',
    'sum by (host, cpu) (avg_over_time(cpu.usage[1m]))',
    'min by (host, cpu) (avg_over_time(cpu.usage[1m]))',
    'max by (host, cpu) (max_over_time(cpu.usage[1m]))',
  ]) {
    it(`${text}: the step-by-step answer, bit for bit and in its order`, () => {
      const q = parseQuery(text)
      const c = columns()
      const node = inner(q.expr)
      const source = new MemorySeriesSource([])
      const precomputed = new Map([[node, perStep(c)]])
      const slow = rangeQuery(source, q.expr, START, END, MIN, {precomputed})
      const fast = rangeQuery(source, q.expr, START, END, MIN, {precomputed, precomputedSteps: new Map([[node, () => c]])})
      assert.ok(fast.length > 0 && fast.every((s) => s instanceof StepSeries), 'answered column by column')
      assert.ok(slow.every((s) => !(s instanceof StepSeries)), 'the reference is step by step')
      const bits = (v: number) => (Number.isNaN(v) ? 'NaN' : Buffer.from(new Float64Array([v]).buffer).toString('hex'))
      assert.deepEqual(
        plain(fast).map((s) => ({...s, samples: s.samples.map((p) => [p.t, bits(p.v)])})),
        plain(slow).map((s) => ({...s, samples: s.samples.map((p) => [p.t, bits(p.v)])})),
      )
    })
  }

  it('aggregations with a parameter, or of an aggregation, are evaluated step by step', () => {
    for (const text of ['topk(2, avg_over_time(cpu.usage[1m]))', 'quantile(0.5, avg_over_time(cpu.usage[1m]))', 'sum(avg by (host) (avg_over_time(cpu.usage[1m])))']) {
      const q = parseQuery(text)
      const c = columns()
      const node = q.expr.kind === 'aggregation' && q.expr.expr.kind === 'aggregation' ? q.expr.expr.expr : inner(q.expr)
      const out = rangeQuery(new MemorySeriesSource([]), q.expr, START, END, MIN, {precomputed: new Map([[node, perStep(c)]]), precomputedSteps: new Map([[node, () => c]])})
      assert.ok(out.length > 0 && out.every((s) => !(s instanceof StepSeries)), text)
    }
  })

  it('series that share a label set are left to the step-by-step evaluation', () => {
    const q = parseQuery('avg_over_time(cpu.usage[1m])')
    const c = columns()
    c.labels = c.labels.map((l) => ({host: l.host}))
    const out = rangeQuery(new MemorySeriesSource([]), q.expr, START, END, MIN, {precomputed: new Map([[q.expr, perStep(c)]]), precomputedSteps: new Map([[q.expr, () => c]])})
    assert.ok(out.every((s) => !(s instanceof StepSeries)))
  })
})
