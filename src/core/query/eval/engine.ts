import {InputError} from '../../errors.js'
import {compileLinearRegex, type Matcher, replaceAllLinear} from '../../model/matcher.js'
import type {Aggregation, AtModifier, BinaryExpr, Call, MatrixSelector, PromExpr, Subquery, VectorMatching, VectorSelector} from './ast.js'
import * as fn from './functions.js'
import {type Labels, labelsKey as keyOf, METRIC_NAME, type RawSeries, type Sample, type SeriesSource, withoutName} from './series.js'

/**
 * Prometheus' evaluation model over a {@link SeriesSource}: an instant query is evaluated at one
 * time exactly as a rule is; a range query is that instant query at every step.
 */

/** One element of an instant vector. `t` is the evaluation time; `sampleT` the selected sample's own time. */
export interface VectorElement {
  labels: Labels
  t: number
  v: number
  sampleT?: number
}

export interface RangeSeries {
  labels: Labels
  samples: Sample[]
}

export type Value =
  | {type: 'scalar'; t: number; v: number}
  | {type: 'string'; t: number; v: string}
  | {type: 'vector'; elements: VectorElement[]}
  | {type: 'matrix'; series: RangeSeries[]}

export interface EvalOptions {
  /** how far back an instant selector looks for the latest sample; Prometheus' default 5 m */
  lookbackMs?: number
  /**
   * Include a sample exactly at the window's left edge (Prometheus 2.x: [t-d, t]). The default is
   * the left-open window (t-d, t] of Prometheus 3, where a sample is never in two adjacent windows.
   */
  leftClosed?: boolean
  /** a subquery's step when it names none; Prometheus' default global evaluation interval, 1 m */
  subqueryStepMs?: number
  /**
   * mon: the window of a range function written without one (`rate(x)`, a matrix selector with
   * range 0); the runner sets it to max(lookback, step). Default: the lookback.
   */
  implicitRangeMs?: number
  /**
   * Values computed elsewhere (a backend's own aggregation, proven equal): for a node in the map,
   * the vector at an evaluation time; undefined at a time it does not cover, which is then evaluated.
   */
  precomputed?: ReadonlyMap<PromExpr, (t: number) => VectorElement[] | undefined>
  /**
   * The same values for a whole range query at once (a range query asks for these first): the
   * node's vectors at start, start + step, … ≤ end, series by series, each series' elements in the
   * order `precomputed` lists them at every step; undefined when it cannot tell.
   */
  precomputedSteps?: ReadonlyMap<PromExpr, (start: number, end: number, step: number) => StepColumns | undefined>
}

/**
 * A range query's instant vectors at every step, column by column: series i has the value
 * values[i][k] at step k where present[i][k] is 1. The series are in the order an instant
 * evaluation lists its elements, the same at every step.
 */
export interface StepColumns {
  labels: Labels[]
  values: Float64Array[]
  present: Uint8Array[]
  /** where series that first have a value at the same step come in a step-by-step evaluation (default: their index) */
  rank?: number[]
}

export const DEFAULT_LOOKBACK_MS = 5 * 60_000
export const DEFAULT_SUBQUERY_STEP_MS = 60_000

/** An expression that cannot be evaluated as written: wrong argument type, many-to-many match… */
export class PromEvalError extends InputError {
  /** the innermost expression being evaluated when it was thrown (for a caret under it) */
  node?: PromExpr

  constructor(message: string, hint?: string) {
    super(message, {hint})
    this.name = 'PromEvalError'
  }
}

interface Context {
  source: SeriesSource
  lookback: number
  leftClosed: boolean
  subqueryStep: number
  implicitRange: number
  /** the range query's bounds, for `@ start()` / `@ end()` */
  start: number
  end: number
  /**
   * anomaly()'s argument evaluated at past times, per call and per period back (k − 1): a range
   * query's next step reads 30 of the 31 neighbouring times again. Entries behind the
   * neighbourhood are dropped as the evaluation time advances.
   */
  anomalyHistory: WeakMap<Call, Array<Map<number, VectorElement[]>>>
  precomputed?: EvalOptions['precomputed']
  precomputedSteps?: EvalOptions['precomputedSteps']
}

/** Evaluates `expr` at time `t` (ms). */
export function instantQuery(source: SeriesSource, expr: PromExpr, t: number, options: EvalOptions = {}): Value {
  return evaluate(expr, t, context(source, t, t, options))
}

/** The instant query at start, start+step, … ≤ end, gathered into one series per label set. */
export function rangeQuery(source: SeriesSource, expr: PromExpr, start: number, end: number, step: number, options: EvalOptions = {}): RangeSeries[] {
  if (!(step > 0)) throw new PromEvalError(`the step must be positive, got ${step} ms`)
  if (end < start) throw new PromEvalError('the range query ends before it starts')
  const ctx = context(source, start, end, options)
  const steps = Math.floor((end - start) / step) + 1
  const columns = stepColumnsOf(expr, start, end, step, steps, ctx)
  const series = columns && rangeSeriesOf(columns, start, step, steps)
  if (series) return series
  const byLabels = new Map<string, RangeSeries>()
  const add = (labels: Labels, t: number, v: number) => {
    const key = labelsKey(labels)
    let series = byLabels.get(key)
    if (!series) byLabels.set(key, (series = {labels, samples: []}))
    series.samples.push({t, v})
  }

  for (let t = start; t <= end; t += step) {
    const value = evaluate(expr, t, ctx)
    if (value.type === 'scalar') add({}, t, value.v)
    else if (value.type === 'vector') for (const e of value.elements) add(e.labels, t, e.v)
    else throw new PromEvalError(`a range query needs an instant vector or scalar expression, got ${describe(value)}`)
  }

  return [...byLabels.values()]
}

// ---------------------------------------------------------------- a range query column by column

/** Aggregations a range query computes column by column: those of values alone, without a parameter. */
const COLUMN_AGGREGATIONS = new Set<Aggregation['op']>(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'spread'])

/**
 * A range query's whole answer at once where the expression allows it: a node whose values a
 * store computed (precomputedSteps), or an aggregation of one, grouped once instead of once per
 * step (a day at 1 min is 1,441 steps). The values are those of the step-by-step evaluation
 * exactly: every group's values are aggregated in the order an instant evaluation meets them, by
 * the same functions. Undefined for anything else, which is evaluated step by step.
 */
function stepColumnsOf(expr: PromExpr, start: number, end: number, step: number, steps: number, ctx: Context): StepColumns | undefined {
  const known = ctx.precomputedSteps?.get(expr)?.(start, end, step)
  if (known) return known
  if (expr.kind === 'aggregation') {
    if (!COLUMN_AGGREGATIONS.has(expr.op) || expr.param !== undefined) return undefined
    // an input whose series keep one order at every step (an aggregation's groups do not)
    const input = ctx.precomputedSteps?.get(expr.expr)?.(start, end, step)
    return input && aggregateColumns(expr, input, steps)
  }

  return undefined
}

/**
 * What {@link aggregateValues} gives for one value v, for the operations where that is v itself
 * ('same') or v + 0 ('plus0': sum and the incremental mean start from 0, so −0 becomes 0); the
 * column tests (promql-range-columns) hold these to the step-by-step answer on NaN, ±Inf, ±0.
 */
const ALONE: Partial<Record<Aggregation['op'], 'same' | 'plus0'>> = {sum: 'plus0', avg: 'plus0', min: 'same', max: 'same'}

function aggregateColumns(expr: Aggregation, input: StepColumns, steps: number): StepColumns {
  const without = expr.without ?? false
  const byKey = new Map<string, number>()
  const groupLabelSets: Labels[] = []
  const members: number[][] = []
  for (let i = 0; i < input.labels.length; i++) {
    const labels = groupLabels(input.labels[i], expr.grouping, without)
    const key = labelsKey(labels)
    let g = byKey.get(key)
    if (g === undefined) {
      byKey.set(key, (g = groupLabelSets.length))
      groupLabelSets.push(labels)
      members.push([])
    }

    members[g].push(i)
  }

  const out: StepColumns = {labels: groupLabelSets, values: [], present: []}
  // a step's values go into an array of their count, made once per count and reused (emptying one
  // array for each step and group dropped its storage, and the pushes made it again: 1,441 × 10 here)
  const byCount: number[][] = []
  const alone = ALONE[expr.op]
  for (const group of members) {
    const v = new Float64Array(steps)
    const present = new Uint8Array(steps)
    if (alone !== undefined && group.length === 1) {
      // a group of one series (avg by (host) of one series a host): its values as aggregateValues
      // gives them for one value, without a call per step
      const values = input.values[group[0]]
      const has = input.present[group[0]]
      for (let k = 0; k < steps; k++) {
        if (!has[k]) continue
        v[k] = alone === 'plus0' ? values[k] + 0 : values[k]
        present[k] = 1
      }
      out.values.push(v)
      out.present.push(present)
      continue
    }
    for (let k = 0; k < steps; k++) {
      let n = 0
      for (let j = 0; j < group.length; j++) if (input.present[group[j]][k]) n++
      if (n === 0) continue
      const values = (byCount[n] ??= new Array<number>(n).fill(0))
      let at = 0
      for (let j = 0; j < group.length; j++) {
        const i = group[j]
        if (input.present[i][k]) values[at++] = input.values[i][k]
      }

      v[k] = aggregateValues(expr.op, values, 0)
      present[k] = 1
    }

    out.values.push(v)
    out.present.push(present)
  }

  // the step-by-step evaluation lists a step's groups as it meets their first element there: by
  // the first member present at the group's first step
  out.rank = members.map((group) => {
    let first = steps
    let rank = 0
    for (const i of group) {
      const p = input.present[i]
      for (let k = 0; k < first; k++) {
        if (p[k]) {
          first = k
          rank = i
          break
        }
      }
    }

    return rank
  })
  return out
}

/**
 * Columns as a range query's series, in the order the step-by-step evaluation would have met them
 * (by first step with a value, then rank); undefined when two series share a label set (the
 * step-by-step evaluation says what that means).
 */
function rangeSeriesOf(c: StepColumns, start: number, step: number, steps: number): RangeSeries[] | undefined {
  const keys = new Set<string>()
  const order: Array<{i: number; first: number; rank: number}> = []
  for (let i = 0; i < c.labels.length; i++) {
    const key = labelsKey(c.labels[i])
    if (keys.has(key)) return undefined
    keys.add(key)
    const first = c.present[i].indexOf(1)
    if (first >= 0) order.push({i, first, rank: c.rank?.[i] ?? i})
  }

  order.sort((a, b) => a.first - b.first || a.rank - b.rank)
  return order.map(({i}) => new StepSeries(c.labels[i], start, step, c.values[i], c.present[i]))
}

/**
 * A series of a range query answered column by column, kept as its columns: the value at step k
 * (time start + k × step) where present[k] is 1. `samples` are made on first use; a writer that
 * only walks them (the HTTP API's JSON, daemon/prom-json.ts) reads the columns instead.
 */
export class StepSeries implements RangeSeries {
  private made: Sample[] | undefined

  constructor(
    readonly labels: Labels,
    readonly start: number,
    readonly step: number,
    readonly values: Float64Array,
    readonly present: Uint8Array,
  ) {}

  get samples(): Sample[] {
    if (!this.made) {
      const samples: Sample[] = []
      for (let k = 0; k < this.values.length; k++) if (this.present[k]) samples.push({t: this.start + k * this.step, v: this.values[k]})
      this.made = samples
    }

    return this.made
  }
}

function context(source: SeriesSource, start: number, end: number, options: EvalOptions): Context {
  return {source, lookback: options.lookbackMs ?? DEFAULT_LOOKBACK_MS, leftClosed: options.leftClosed ?? false, subqueryStep: options.subqueryStepMs ?? DEFAULT_SUBQUERY_STEP_MS, implicitRange: options.implicitRangeMs ?? options.lookbackMs ?? DEFAULT_LOOKBACK_MS, start, end, anomalyHistory: new WeakMap(), precomputed: options.precomputed, precomputedSteps: options.precomputedSteps}
}

function describe(value: Value): string {
  return {scalar: 'scalar', string: 'string', vector: 'instant vector', matrix: 'range vector'}[value.type]
}

function evaluate(expr: PromExpr, t: number, ctx: Context): Value {
  try {
    return evaluateNode(expr, t, ctx)
  } catch (error) {
    if (error instanceof PromEvalError && error.node === undefined) error.node = expr
    throw error
  }
}

function evaluateNode(expr: PromExpr, t: number, ctx: Context): Value {
  const known = ctx.precomputed?.get(expr)?.(t)
  if (known) return {type: 'vector', elements: known}
  switch (expr.kind) {
    case 'number':
      return {type: 'scalar', t, v: expr.value}
    case 'string':
      return {type: 'string', t, v: expr.value}
    case 'vector':
      return {type: 'vector', elements: selectInstant(expr, t, ctx)}
    case 'matrix':
    case 'subquery':
      return {type: 'matrix', series: rangeOf(expr, t, ctx).map(({labels, samples}) => ({labels, samples}))}
    case 'unary': {
      const value = evaluate(expr.expr, t, ctx)
      if (expr.op === '+') return value
      if (value.type === 'scalar') return {type: 'scalar', t, v: -value.v}
      return {type: 'vector', elements: checkUnique(vectorOf(value, 'unary minus').map((e) => ({labels: dropName(e.labels), t, v: -e.v})), 'unary minus')}
    }

    case 'call':
      return call(expr, t, ctx)
    case 'aggregation':
      return {type: 'vector', elements: aggregate(expr, t, ctx)}
    case 'binary':
      return binary(expr, t, ctx)
  }
}

function vectorOf(value: Value, where: string): VectorElement[] {
  if (value.type !== 'vector') throw new PromEvalError(`expected an instant vector in ${where}, got ${describe(value)}`)
  return value.elements
}

function scalarOf(value: Value, where: string): number {
  if (value.type !== 'scalar') throw new PromEvalError(`expected a scalar in ${where}, got ${describe(value)}`)
  return value.v
}

function stringOf(value: Value, where: string): string {
  if (value.type !== 'string') throw new PromEvalError(`expected a string in ${where}, got ${describe(value)}`)
  return value.v
}

/** One array per selector, so a source can remember which series it matched (MemorySeriesSource does). */
const matchersOf = new WeakMap<VectorSelector, Matcher[]>()

function selectorMatchers(sel: VectorSelector): Matcher[] {
  let matchers = matchersOf.get(sel)
  if (!matchers) matchersOf.set(sel, (matchers = sel.name === undefined ? sel.matchers : [{name: METRIC_NAME, op: '=', value: sel.name}, ...sel.matchers]))
  return matchers
}

/** The time a selector reads at: `@` replaces the evaluation time, then `offset` moves back. */
function selectionTime(sel: {at?: AtModifier; offset?: number}, t: number, ctx: Context): number {
  const at = sel.at === 'start' ? ctx.start : sel.at === 'end' ? ctx.end : (sel.at ?? t)
  return at - (sel.offset ?? 0)
}

/** Samples in the window ending at `end` and `length` long, honouring the left-edge option. */
function windowSamples(sel: VectorSelector, end: number, length: number, ctx: Context): RawSeries[] {
  const mint = ctx.leftClosed ? end - length : end - length + 1
  return ctx.source.select(selectorMatchers(sel), mint, end)
}

/** Instant selection: each series' latest sample within the lookback window before the selection time. */
function selectInstant(sel: VectorSelector, t: number, ctx: Context): VectorElement[] {
  const at = selectionTime(sel, t, ctx)
  const elements: VectorElement[] = []
  for (const series of windowSamples(sel, at, ctx.lookback, ctx)) {
    const latest = series.samples.at(-1)
    if (latest) elements.push({labels: series.labels, t, v: latest.v, sampleT: latest.t})
  }

  return elements
}

function selectRange(ms: MatrixSelector, t: number, ctx: Context): Array<RawSeries & {window: fn.Window}> {
  const end = selectionTime(ms.selector, t, ctx)
  const range = ms.range || ctx.implicitRange
  const window = {start: end - range, end}
  return windowSamples(ms.selector, end, range, ctx).map((s) => ({labels: s.labels, samples: s.samples, window}))
}

/**
 * A subquery's points: the inner expression at every multiple of the step inside the window (the
 * window's edges as for a selector), gathered per label set.
 */
function evaluateSubquery(sq: Subquery, t: number, ctx: Context): Array<RawSeries & {window: fn.Window}> {
  const end = selectionTime(sq, t, ctx)
  const step = sq.step ?? ctx.subqueryStep
  if (!(step > 0)) throw new PromEvalError(`a subquery's step must be positive, got ${step} ms`)
  const window = {start: end - sq.range, end}
  const first = ctx.leftClosed ? window.start : window.start + 1
  const bySeries = new Map<string, RawSeries>()
  for (let s = Math.ceil(first / step) * step; s <= end; s += step) {
    const value = evaluate(sq.expr, s, ctx)
    const elements = value.type === 'scalar' ? [{labels: {}, v: value.v}] : vectorOf(value, 'a subquery')
    for (const e of elements) {
      const key = labelsKey(e.labels)
      let series = bySeries.get(key)
      if (!series) bySeries.set(key, (series = {labels: e.labels, samples: []}))
      series.samples.push({t: s, v: e.v})
    }
  }

  return [...bySeries.values()].map((s) => ({...s, window}))
}

/** The series of a range-vector expression (selector or subquery), each with the window it covers. */
function rangeOf(expr: MatrixSelector | Subquery, t: number, ctx: Context): Array<RawSeries & {window: fn.Window}> {
  return expr.kind === 'matrix' ? selectRange(expr, t, ctx) : evaluateSubquery(expr, t, ctx)
}

function matrixArg(expr: Call, index: number): MatrixSelector | Subquery {
  const arg = expr.args[index]
  if (arg?.kind !== 'matrix' && arg?.kind !== 'subquery') throw new PromEvalError(`expected a range vector as argument ${index + 1} of ${expr.func}(), got ${arg ? kindName(arg) : 'nothing'}`, `write a window: ${expr.func}(metric[5m])`)
  return arg
}

function kindName(expr: PromExpr): string {
  return {number: 'scalar', string: 'string', vector: 'instant vector', matrix: 'range vector', subquery: 'range vector', call: 'function call', aggregation: 'aggregation', binary: 'expression', unary: 'expression'}[expr.kind]
}

function arity(expr: Call, min: number, max = min): void {
  if (expr.args.length < min || expr.args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`
    throw new PromEvalError(`${expr.func}() takes ${expected} argument(s), got ${expr.args.length}`)
  }
}

/** A result must not hold two elements with one label set (e.g. after the name is dropped). */
function checkUnique(elements: VectorElement[], where: string): VectorElement[] {
  const seen = new Set<string>()
  for (const e of elements) {
    const key = labelsKey(e.labels)
    if (seen.has(key)) throw new PromEvalError(`${/^\w+$/.test(where) ? `${where}()` : where}: vector cannot contain metrics with the same labelset`, 'the series differ only in their metric name; aggregate them first')
    seen.add(key)
  }

  return elements
}

const rangeFunctions: Record<string, (samples: Sample[], window: fn.Window) => number | undefined> = {
  rate: (s, w) => fn.extrapolatedRate(s, w, true, true),
  increase: (s, w) => fn.extrapolatedRate(s, w, true, false),
  delta: (s, w) => fn.extrapolatedRate(s, w, false, false),
  irate: (s) => fn.instantValue(s, true),
  idelta: (s) => fn.instantValue(s, false),
  deriv: (s) => fn.deriv(s),
  changes: (s) => fn.changes(s),
  resets: (s) => fn.resets(s),
}

const mathFunctions: Record<string, (v: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
}

function call(expr: Call, t: number, ctx: Context): Value {
  const f = expr.func
  const vectorArg = (i: number) => vectorOf(evaluate(expr.args[i], t, ctx), `${f}()`)
  const scalarArg = (i: number) => scalarOf(evaluate(expr.args[i], t, ctx), `${f}()`)
  const stringArg = (i: number) => stringOf(evaluate(expr.args[i], t, ctx), `${f}()`)
  const vector = (elements: VectorElement[]): Value => ({type: 'vector', elements: checkUnique(elements, f)})
  const perElement = (elements: VectorElement[], map: (v: number) => number) => vector(elements.map((e) => ({labels: dropName(e.labels), t, v: map(e.v)})))

  if (Object.hasOwn(rangeFunctions, f)) {
    arity(expr, 1)
    const out: VectorElement[] = []
    for (const s of rangeOf(matrixArg(expr, 0), t, ctx)) {
      const v = rangeFunctions[f](s.samples, s.window)
      if (v !== undefined) out.push({labels: dropName(s.labels), t, v})
    }

    return vector(out)
  }

  if (Object.hasOwn(fn.overTimeFunctions, f) || f === 'quantile_over_time') {
    const isQuantile = f === 'quantile_over_time'
    arity(expr, isQuantile ? 2 : 1)
    const phi = isQuantile ? scalarArg(0) : 0
    const aggregateValues = isQuantile ? (values: number[]) => fn.quantile(phi, values) : fn.overTimeFunctions[f]
    const out: VectorElement[] = []
    for (const s of rangeOf(matrixArg(expr, isQuantile ? 1 : 0), t, ctx)) {
      if (s.samples.length === 0) continue
      // last_over_time is the one range function that keeps the metric name (Prometheus does the same)
      const labels = f === 'last_over_time' ? s.labels : dropName(s.labels)
      // mon: last_over_time remembers its sample's time, for timestamp(last_over_time(x[1h]))
      out.push({labels, t, v: aggregateValues(s.samples.map((x) => x.v)), sampleT: f === 'last_over_time' ? s.samples.at(-1)!.t : undefined})
    }

    return vector(out)
  }

  if (Object.hasOwn(mathFunctions, f)) {
    arity(expr, 1)
    return perElement(vectorArg(0), mathFunctions[f])
  }

  switch (f) {
    case 'absent_over_time': {
      arity(expr, 1)
      const arg = matrixArg(expr, 0)
      if (rangeOf(arg, t, ctx).some((s) => s.samples.length > 0)) return {type: 'vector', elements: []}
      // a subquery has no matchers to take labels from
      return {type: 'vector', elements: [{labels: arg.kind === 'matrix' ? absentLabels(arg.selector) : {}, t, v: 1}]}
    }

    case 'absent': {
      arity(expr, 1)
      if (vectorArg(0).length > 0) return {type: 'vector', elements: []}
      const arg = expr.args[0]
      return {type: 'vector', elements: [{labels: arg.kind === 'vector' ? absentLabels(arg) : {}, t, v: 1}]}
    }

    case 'predict_linear': {
      arity(expr, 2)
      const seconds = scalarArg(1)
      const out: VectorElement[] = []
      for (const s of rangeOf(matrixArg(expr, 0), t, ctx)) {
        const v = fn.predictLinear(s.samples, t, seconds)
        if (v !== undefined) out.push({labels: dropName(s.labels), t, v})
      }

      return vector(out)
    }

    case 'holt_winters': {
      arity(expr, 3)
      const [smoothing, trend] = [scalarArg(1), scalarArg(2)]
      if (!(smoothing > 0 && smoothing < 1)) throw new PromEvalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${smoothing}`)
      if (!(trend > 0 && trend < 1)) throw new PromEvalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${trend}`)
      const out: VectorElement[] = []
      for (const s of rangeOf(matrixArg(expr, 0), t, ctx)) {
        const v = fn.holtWinters(s.samples, smoothing, trend)
        if (v !== undefined) out.push({labels: dropName(s.labels), t, v})
      }

      return vector(out)
    }

    case 'anomaly':
      return anomaly(expr, t, ctx)
    case 'time':
      arity(expr, 0)
      return {type: 'scalar', t, v: t / 1000}
    case 'vector':
      arity(expr, 1)
      return {type: 'vector', elements: [{labels: {}, t, v: scalarArg(0)}]}
    case 'scalar': {
      arity(expr, 1)
      const elements = vectorArg(0)
      return {type: 'scalar', t, v: elements.length === 1 ? elements[0].v : Number.NaN}
    }

    case 'timestamp': {
      arity(expr, 1)
      // directly on a selector the sample's own time; on anything else (even `x and y`) the
      // evaluation time, as Prometheus 2.42 special-cases only a bare selector
      // mon differs: also on last_over_time(…) and on first/last aggregations, so "silent for 5m" is
      // time() - timestamp(last_over_time(x[1h])) > 300 (Prometheus 2.42 gives the evaluation time there)
      const arg = expr.args[0]
      const ownTime = arg.kind === 'vector' || (arg.kind === 'call' && arg.func === 'last_over_time') || (arg.kind === 'aggregation' && (arg.op === 'first' || arg.op === 'last'))
      return vector(vectorArg(0).map((e) => ({labels: dropName(e.labels), t, v: (ownTime ? (e.sampleT ?? t) : t) / 1000})))
    }

    case 'round': {
      arity(expr, 1, 2)
      const toNearest = expr.args.length === 2 ? scalarArg(1) : 1
      const inverse = 1 / toNearest
      return perElement(vectorArg(0), (v) => Math.floor(v * inverse + 0.5) / inverse)
    }

    case 'clamp_min': {
      arity(expr, 2)
      const min = scalarArg(1)
      return perElement(vectorArg(0), (v) => Math.max(min, v))
    }

    case 'clamp_max': {
      arity(expr, 2)
      const max = scalarArg(1)
      return perElement(vectorArg(0), (v) => Math.min(max, v))
    }

    case 'clamp': {
      arity(expr, 3)
      const min = scalarArg(1)
      const max = scalarArg(2)
      if (max < min) return {type: 'vector', elements: []}
      return perElement(vectorArg(0), (v) => Math.max(min, Math.min(max, v)))
    }

    case 'label_replace': {
      arity(expr, 5)
      const [dst, replacement, src, regex] = [stringArg(1), stringArg(2), stringArg(3), stringArg(4)]
      const anchored = `^(?:${regex})$`
      const pattern = compileLinearRegex(anchored, regex)
      return vector(
        vectorArg(0).map((e) => {
          const value = e.labels[src] ?? ''
          if (!pattern.test(value)) return e
          return {...e, labels: setLabel(e.labels, dst, replaceAllLinear(anchored, value, replacement))}
        }),
      )
    }

    case 'label_join': {
      if (expr.args.length < 3) throw new PromEvalError('label_join() takes a vector, a destination label, a separator and source labels')
      const dst = stringArg(1)
      const separator = stringArg(2)
      const sources = expr.args.slice(3).map((_, i) => stringArg(i + 3))
      return vector(vectorArg(0).map((e) => ({...e, labels: setLabel(e.labels, dst, sources.map((s) => e.labels[s] ?? '').join(separator))})))
    }

    case 'histogram_quantile': {
      arity(expr, 2)
      return {type: 'vector', elements: histogramQuantile(scalarArg(0), vectorArg(1), t)}
    }

    default:
      throw new PromEvalError(`unknown function ${f}()`)
  }
}

/** anomaly()'s default number of periods of history, and the most it accepts (a year of weeks). */
export const ANOMALY_DEFAULT_PERIODS = 4
export const ANOMALY_MAX_PERIODS = 52
/**
 * anomaly()'s band is measured on the history at the same time and the 30 minutes after it,
 * every minute (31 times), but over no more than a quarter of the period, so a short period is
 * not compared with another phase of itself (1h: 15 minutes; 4m or less: the same time only).
 * After, not around: the oldest period is then read from its same time on, so anomaly() reads
 * exactly n periods back ({@link anomalyLookbackMs}) and every minute has all n periods.
 */
export const ANOMALY_BAND_WIDTH_MS = 30 * 60_000
export const ANOMALY_BAND_STEP_MS = 60_000

interface AnomalyArgs {
  inner: PromExpr
  /** one period in ms */
  periodMs: number
  /** how many periods of history */
  periods: number
  /** the band's neighbourhood: the same time and this many ANOMALY_BAND_STEP_MS after it */
  bandSteps: number
}

/** anomaly(v instant-vector, period seconds, periods = 4): the arguments checked. */
function anomalyArgs(expr: Call): AnomalyArgs {
  arity(expr, 2, 3)
  const inner = expr.args[0]
  if (inner.kind === 'matrix' || inner.kind === 'subquery' || inner.kind === 'number' || inner.kind === 'string') {
    throw new PromEvalError(`expected an instant vector as argument 1 of anomaly(), got ${kindName(inner)}`, 'compare an instant value with its history: anomaly(sum(rate(shop.orders[5m])), 1w)')
  }

  const period = literalNumber(expr.args[1])
  if (period === undefined) throw new PromEvalError(`anomaly()'s period (argument 2) must be written as a duration or a number of seconds, such as 1w or 604800; got ${kindName(expr.args[1])}`)
  if (!(period > 0) || !Number.isFinite(period)) throw new PromEvalError(`anomaly()'s period must be positive, got ${period}`)
  const periods = expr.args.length === 3 ? literalNumber(expr.args[2]) : ANOMALY_DEFAULT_PERIODS
  if (periods === undefined) throw new PromEvalError(`anomaly()'s number of periods (argument 3) must be written as a number, such as 4; got ${kindName(expr.args[2])}`)
  if (!Number.isInteger(periods) || periods < 1 || periods > ANOMALY_MAX_PERIODS) throw new PromEvalError(`anomaly()'s number of periods must be an integer from 1 to ${ANOMALY_MAX_PERIODS}, got ${periods}`)
  const periodMs = period * 1000
  return {inner, periodMs, periods, bandSteps: Math.floor(Math.min(ANOMALY_BAND_WIDTH_MS, periodMs / 4) / ANOMALY_BAND_STEP_MS)}
}

/**
 * How far before the evaluation time anomaly() evaluates its argument, in ms: the number of
 * periods × the period (4 weeks for `anomaly(x, 1w)`). The argument itself reaches back further
 * by its own windows, lookback and offsets, as it would alone. Nothing after the evaluation time
 * is read. Throws PromEvalError on invalid arguments.
 */
export function anomalyLookbackMs(expr: Call): number {
  const {periodMs, periods} = anomalyArgs(expr)
  return periods * periodMs
}

/**
 * How much further back than its selectors, windows, offsets and subqueries alone the expression
 * reads because of anomaly(): {@link anomalyLookbackMs} summed over nested anomaly() calls, the
 * largest over the tree (0 without anomaly). A prefetcher that works out the range to fetch while
 * ignoring anomaly() widens it by this much at the start; that is exact for one anomaly() and an
 * upper bound when several sit in different branches.
 */
export function extraHistoryMs(expr: PromExpr): number {
  switch (expr.kind) {
    case 'number':
    case 'string':
    case 'vector':
    case 'matrix':
      return 0
    case 'subquery':
    case 'unary':
      return extraHistoryMs(expr.expr)
    case 'call':
      if (expr.func === 'anomaly') return anomalyLookbackMs(expr) + extraHistoryMs(expr.args[0])
      return Math.max(0, ...expr.args.map(extraHistoryMs))
    case 'aggregation':
      return Math.max(extraHistoryMs(expr.expr), expr.param === undefined ? 0 : extraHistoryMs(expr.param))
    case 'binary':
      return Math.max(extraHistoryMs(expr.lhs), extraHistoryMs(expr.rhs))
  }
}

/**
 * A number written as such: a literal (`1w` is parsed as 604800), or one with a sign. anomaly()'s
 * period and count must be known before any data is read, since they decide how far back the
 * data is fetched (the runner's prefetch reads them the same way).
 */
export function literalNumber(expr: PromExpr | undefined): number | undefined {
  if (expr?.kind === 'number') return expr.value
  if (expr?.kind !== 'unary') return undefined
  const v = literalNumber(expr.expr)
  return v === undefined || expr.op === '+' ? v : -v
}

/**
 * anomaly(v, period, n): per label set (the metric name dropped), v now against the values v had
 * at t − period, t − 2·period, … t − n·period, in bands of the robust seasonal baseline
 * ({@link fn.seasonalBand}: the median of those values; the band from the same periods at the
 * neighbouring minutes, floored at 1 % of the baseline). A series needs at least ⌈n/2⌉ of those
 * same-time values (non-finite ones do not count), else it has no result. `offset` inside v moves
 * every read alike; `@` pins them all to one time, so v equals its history.
 */
function anomaly(expr: Call, t: number, ctx: Context): Value {
  const {inner, periodMs, periods, bandSteps} = anomalyArgs(expr)
  const at = (time: number) => checkUnique(vectorOf(evaluate(inner, time, ctx), 'anomaly()').map((e) => ({labels: dropName(e.labels), t: time, v: e.v})), 'anomaly')
  const current = at(t)
  if (current.length === 0) return {type: 'vector', elements: []}
  let memo = ctx.anomalyHistory.get(expr)
  if (!memo) ctx.anomalyHistory.set(expr, (memo = Array.from({length: periods}, () => new Map())))
  // per label set, per neighbouring time (index 0 is the same time), the periods' values
  const history = new Map<string, number[][]>()
  for (let k = 1; k <= periods; k++) {
    const past = memo[k - 1]
    const from = t - k * periodMs
    // times are added in increasing order while the evaluation time advances: the oldest go first
    for (const time of past.keys()) {
      if (time >= from) break
      past.delete(time)
    }

    for (let j = 0; j <= bandSteps; j++) {
      const time = from + j * ANOMALY_BAND_STEP_MS
      let elements = past.get(time)
      if (!elements) past.set(time, (elements = at(time)))
      for (const e of elements) {
        if (!Number.isFinite(e.v)) continue
        const key = labelsKey(e.labels)
        let grid = history.get(key)
        if (!grid) history.set(key, (grid = Array.from({length: bandSteps + 1}, () => [])))
        grid[j].push(e.v)
      }
    }
  }

  const needed = Math.ceil(periods / 2)
  const out: VectorElement[] = []
  for (const e of current) {
    const grid = history.get(labelsKey(e.labels))
    if (grid && grid[0].length >= needed) out.push({labels: e.labels, t, v: fn.seasonalScore(e.v, grid)})
  }

  return {type: 'vector', elements: out}
}

/** An empty value removes the label, as in Prometheus. */
function setLabel(labels: Labels, name: string, value: string): Labels {
  const {[name]: _old, ...rest} = labels
  return value === '' ? rest : {...rest, [name]: value}
}

/** absent()'s output labels: the selector's equality matchers (not the name). */
function absentLabels(sel: VectorSelector): Labels {
  const labels: Labels = {}
  const seen = new Set<string>()
  for (const m of sel.matchers) {
    if (m.name === METRIC_NAME) continue
    // a label matched twice cannot be told as one value
    if (seen.has(m.name)) delete labels[m.name]
    else if (m.op === '=') labels[m.name] = m.value
    seen.add(m.name)
  }

  return labels
}

function histogramQuantile(phi: number, elements: VectorElement[], t: number): VectorElement[] {
  const groups = new Map<string, {labels: Labels; buckets: fn.Bucket[]}>()
  for (const e of elements) {
    const le = e.labels.le
    if (le === undefined) continue
    const upperBound = le === '+Inf' || le === 'Inf' ? Number.POSITIVE_INFINITY : Number(le)
    if (Number.isNaN(upperBound)) continue
    const {le: _le, ...rest} = dropName(e.labels)
    const key = labelsKey(rest)
    let group = groups.get(key)
    if (!group) groups.set(key, (group = {labels: rest, buckets: []}))
    group.buckets.push({upperBound, count: e.v})
  }

  return [...groups.values()].map((g) => ({labels: g.labels, t, v: fn.bucketQuantile(phi, g.buckets)}))
}

const groupedLabels = new WeakMap<Labels, Map<string, Labels>>()

/**
 * The labels `by (…)` / `without (…)` / `on (…)` keep, remembered per label object and grouping:
 * a range query groups the same series at every step, and label objects are never mutated here
 * (they are shared, copied on write), so the result — and its key, see {@link labelsKey} — is
 * computed once per series instead of once per series and step.
 */
function groupLabels(labels: Labels, grouping: string[], without: boolean): Labels {
  const spec = (without ? '-' : '+') + grouping.join('\u0000')
  let bySpec = groupedLabels.get(labels)
  if (!bySpec) groupedLabels.set(labels, (bySpec = new Map()))
  let out = bySpec.get(spec)
  if (!out) bySpec.set(spec, (out = computeGroupLabels(labels, grouping, without)))
  return out
}

function computeGroupLabels(labels: Labels, grouping: string[], without: boolean): Labels {
  if (without) {
    const out = {...dropName(labels)}
    for (const name of grouping) delete out[name]
    return out
  }

  const out: Labels = {}
  for (const name of grouping) if (labels[name] !== undefined && labels[name] !== '') out[name] = labels[name]
  return out
}

/**
 * mon: an aggregation of a range vector pools every sample of the window, per group:
 * `max(x[5m]) by (host)` is the largest sample each host sent in the last 5 minutes. Series by
 * series: each series' group is found once and its samples' values go straight into the group (no
 * vector element per sample), in series then time order.
 */
function pooled(expr: Aggregation, series: RawSeries[], param: Value | undefined, t: number): VectorElement[] {
  const pickLast = expr.op === 'last'
  const picking = pickLast || expr.op === 'first'
  const groups = new Map<string, {labels: Labels; values: number[]; pick?: Sample}>()
  for (const s of series) {
    if (s.samples.length === 0) continue
    const labels = groupLabels(s.labels, expr.grouping, expr.without ?? false)
    const key = labelsKey(labels)
    let group = groups.get(key)
    if (!group) groups.set(key, (group = {labels, values: []}))
    if (picking) {
      // mon: the group's earliest / latest sample (the first met on a tie), reported at its own time
      for (const sample of s.samples) if (!group.pick || (pickLast ? sample.t > group.pick.t : sample.t < group.pick.t)) group.pick = sample
    } else {
      const values = group.values
      for (const sample of s.samples) values.push(sample.v)
    }
  }

  if (picking) return [...groups.values()].map((g) => ({labels: g.labels, t, v: g.pick!.v, sampleT: g.pick!.t}))
  const phi = expr.op === 'quantile' ? scalarOf(param ?? {type: 'scalar', t, v: Number.NaN}, 'quantile()') : 0
  return [...groups.values()].map((g) => ({labels: g.labels, t, v: aggregateValues(expr.op, g.values, phi)}))
}

const POOLING_OPS = new Set<Aggregation['op']>(['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'quantile', 'first', 'last', 'spread', 'group'])

function aggregate(expr: Aggregation, t: number, ctx: Context): VectorElement[] {
  const value = evaluate(expr.expr, t, ctx)
  const paramOf = () => (expr.param === undefined ? undefined : evaluate(expr.param, t, ctx))
  if (value.type === 'matrix') {
    if (!POOLING_OPS.has(expr.op)) throw new PromEvalError(`${expr.op}() takes an instant vector, got a range vector`, `pool a window with sum, avg, min, max, count, stddev, stdvar, quantile, first, last or spread; or use ${expr.op}(…_over_time(x[5m]))`)
    return pooled(expr, value.series, paramOf(), t)
  }

  const input = vectorOf(value, `${expr.op}()`)
  const param = paramOf()
  const groups = new Map<string, {labels: Labels; elements: VectorElement[]}>()
  const grouped = (labels: Labels, e: VectorElement) => {
    const key = labelsKey(labels)
    let group = groups.get(key)
    if (!group) groups.set(key, (group = {labels, elements: []}))
    group.elements.push(e)
  }

  if (expr.op === 'count_values') {
    const label = stringOf(param ?? {type: 'string', t, v: ''}, 'count_values()')
    for (const e of input) grouped({...groupLabels(e.labels, expr.grouping, expr.without ?? false), [label]: formatValue(e.v)}, e)
    return [...groups.values()].map((g) => ({labels: g.labels, t, v: g.elements.length}))
  }

  for (const e of input) grouped(groupLabels(e.labels, expr.grouping, expr.without ?? false), e)
  if (expr.op === 'topk' || expr.op === 'bottomk') {
    const k = Math.floor(scalarOf(param ?? {type: 'scalar', t, v: 0}, `${expr.op}()`))
    const out: VectorElement[] = []
    for (const g of groups.values()) {
      // NaN sorts last either way, as in Prometheus
      const order = (a: VectorElement, b: VectorElement) => {
        if (Number.isNaN(a.v)) return Number.isNaN(b.v) ? 0 : 1
        if (Number.isNaN(b.v)) return -1
        return expr.op === 'topk' ? b.v - a.v : a.v - b.v
      }

      out.push(...[...g.elements].sort(order).slice(0, Math.max(0, k)).map((e) => ({labels: e.labels, t, v: e.v})))
    }

    return out
  }

  if (expr.op === 'first' || expr.op === 'last') {
    // mon: the group's earliest / latest sample, reported at that sample's own time
    const later = expr.op === 'last' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b
    return [...groups.values()].map((g) => {
      let pick = g.elements[0]
      for (const e of g.elements) if (later(e.sampleT ?? t, pick.sampleT ?? t)) pick = e
      return {labels: g.labels, t, v: pick.v, sampleT: pick.sampleT}
    })
  }

  const phi = expr.op === 'quantile' ? scalarOf(param ?? {type: 'scalar', t, v: Number.NaN}, 'quantile()') : 0
  return [...groups.values()].map((g) => {
    const values = g.elements.map((e) => e.v)
    return {labels: g.labels, t, v: aggregateValues(expr.op, values, phi)}
  })
}

function aggregateValues(op: Aggregation['op'], values: number[], phi: number): number {
  switch (op) {
    case 'sum':
      return values.reduce((s, v) => s + v, 0)
    case 'avg':
      return fn.mean(values)
    case 'min':
      return fn.overTimeFunctions.min_over_time(values)
    case 'max':
      return fn.overTimeFunctions.max_over_time(values)
    case 'count':
      return values.length
    case 'group':
      return 1
    case 'stddev':
      return Math.sqrt(fn.variance(values))
    case 'stdvar':
      return fn.variance(values)
    case 'quantile':
      return fn.quantile(phi, values)
    case 'spread':
      return fn.overTimeFunctions.max_over_time(values) - fn.overTimeFunctions.min_over_time(values)
    default:
      throw new PromEvalError(`${op} is not a value aggregation`)
  }
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64) for the common cases count_values meets. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}

const comparisons = new Set(['==', '!=', '>', '<', '>=', '<='])

function arithmetic(op: string, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r
    case '-':
      return l - r
    case '*':
      return l * r
    case '/':
      return l / r
    case '%':
      return l % r
    case '^':
      return l ** r
    default:
      throw new PromEvalError(`unknown operator ${op}`)
  }
}

function compare(op: string, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r
    case '!=':
      return l !== r
    case '>':
      return l > r
    case '<':
      return l < r
    case '>=':
      return l >= r
    default:
      return l <= r
  }
}

/** lhs op rhs on two numbers: the value and whether a filtering comparison keeps it. */
function elementOp(op: string, l: number, r: number, bool: boolean): {v: number; keep: boolean} {
  if (!comparisons.has(op)) return {v: arithmetic(op, l, r), keep: true}
  const result = compare(op, l, r)
  return bool ? {v: result ? 1 : 0, keep: true} : {v: l, keep: result}
}

function binary(expr: BinaryExpr, t: number, ctx: Context): Value {
  const lhs = evaluate(expr.lhs, t, ctx)
  const rhs = evaluate(expr.rhs, t, ctx)
  const op = expr.op
  const isComparison = comparisons.has(op)
  const bool = expr.bool ?? false
  if (op === 'and' || op === 'or' || op === 'unless') return {type: 'vector', elements: setOperation(op, vectorOf(lhs, op), vectorOf(rhs, op), expr.matching)}
  if (lhs.type === 'scalar' && rhs.type === 'scalar') {
    if (isComparison && !bool) throw new PromEvalError('comparisons between scalars must use the bool modifier')
    return {type: 'scalar', t, v: elementOp(op, lhs.v, rhs.v, bool).v}
  }

  // arithmetic and `bool` drop the metric name; a filtering comparison keeps the series as it is
  const resultLabels = (labels: Labels) => (!isComparison || bool ? dropName(labels) : labels)
  if (lhs.type === 'scalar' || rhs.type === 'scalar') {
    const scalarOnLeft = lhs.type === 'scalar'
    const scalar = scalarOnLeft ? scalarOf(lhs, op) : scalarOf(rhs, op)
    const elements = vectorOf(scalarOnLeft ? rhs : lhs, op)
    const out: VectorElement[] = []
    for (const e of elements) {
      const {v, keep} = scalarOnLeft ? elementOp(op, scalar, e.v, bool) : elementOp(op, e.v, scalar, bool)
      // `2 < x` filters x but keeps x's value, not the scalar
      if (keep) out.push({labels: resultLabels(e.labels), t, v: isComparison && !bool ? e.v : v})
    }

    // dropping the name can leave two elements with one label set ({__name__=~"a|b"} * 2)
    return {type: 'vector', elements: checkUnique(out, op)}
  }

  return {type: 'vector', elements: vectorMatch(expr, vectorOf(lhs, op), vectorOf(rhs, op), t, resultLabels)}
}

/** The labels two elements are matched on: on(…) keeps, ignoring(…) drops (always the name). */
function signature(labels: Labels, matching: VectorMatching | undefined): string {
  if (matching?.on) return labelsKey(groupLabels(labels, matching.labels, false))
  return labelsKey(groupLabels(labels, matching?.labels ?? [], true))
}

function vectorMatch(expr: BinaryExpr, lhs: VectorElement[], rhs: VectorElement[], t: number, resultLabels: (l: Labels) => Labels): VectorElement[] {
  const matching = expr.matching
  const group = matching?.group
  // with group_right the right side is the "many" side: swap, and swap the operands back per element
  const [many, one] = group === 'right' ? [rhs, lhs] : [lhs, rhs]
  const oneBySignature = new Map<string, VectorElement>()
  for (const e of one) {
    const sig = signature(e.labels, matching)
    if (oneBySignature.has(sig)) {
      const side = group === 'right' ? 'left' : 'right'
      throw new PromEvalError(`found duplicate series for the match group on the ${side} side of ${expr.op}: many-to-many matching not allowed`, 'the labels in on(…) / ignoring(…) must identify one series on the "one" side')
    }

    oneBySignature.set(sig, e)
  }

  const bool = expr.bool ?? false
  const matchedOnce = new Set<string>()
  const resultKeys = new Set<string>()
  const out: VectorElement[] = []
  for (const m of many) {
    const sig = signature(m.labels, matching)
    const o = oneBySignature.get(sig)
    if (!o) continue
    if (!group) {
      if (matchedOnce.has(sig)) throw new PromEvalError(`multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)`)
      matchedOnce.add(sig)
    }

    const [l, r] = group === 'right' ? [o.v, m.v] : [m.v, o.v]
    const {v, keep} = elementOp(expr.op, l, r, bool)
    if (!keep) continue
    let labels = resultLabels(m.labels)
    if (!group) labels = matching?.on ? groupLabels(labels, matching.labels, false) : dropLabels(labels, matching?.labels ?? [])
    for (const name of matching?.include ?? []) labels = setLabel(labels, name, o.labels[name] ?? '')
    const key = labelsKey(labels)
    if (group && resultKeys.has(key)) throw new PromEvalError('multiple matches for labels: grouping labels must ensure unique matches')
    resultKeys.add(key)
    out.push({labels, t, v})
  }

  return out
}

function dropLabels(labels: Labels, names: string[]): Labels {
  const out = {...labels}
  for (const name of names) delete out[name]
  return out
}

function setOperation(op: 'and' | 'or' | 'unless', lhs: VectorElement[], rhs: VectorElement[], matching: VectorMatching | undefined): VectorElement[] {
  const rhsSignatures = new Set(rhs.map((e) => signature(e.labels, matching)))
  if (op === 'and') return lhs.filter((e) => rhsSignatures.has(signature(e.labels, matching)))
  if (op === 'unless') return lhs.filter((e) => !rhsSignatures.has(signature(e.labels, matching)))
  const lhsSignatures = new Set(lhs.map((e) => signature(e.labels, matching)))
  return [...lhs, ...rhs.filter((e) => !lhsSignatures.has(signature(e.labels, matching)))]
}

/**
 * The label set without its metric name, one object per label set: a range query drops the name of
 * the same series at every step, and the key of that one object is then computed once. Label
 * objects are never modified after they are made (groupLabels copies before it deletes).
 */
const nameless = new WeakMap<Labels, Labels>()

function dropName(labels: Labels): Labels {
  let out = nameless.get(labels)
  if (!out) nameless.set(labels, (out = METRIC_NAME in labels ? withoutName(labels) : labels))
  return out
}

const keys = new WeakMap<Labels, string>()

/** {@link keyOf} remembered per label object (hot in range queries and uniqueness checks). */
function labelsKey(labels: Labels): string {
  let key = keys.get(labels)
  if (key === undefined) keys.set(labels, (key = keyOf(labels)))
  return key
}
