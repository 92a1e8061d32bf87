import {UnalignedBucketsError, type Frame, type QueryPlan, type Store, type StoreCatalog} from '../store/types.js'
import {eachPoint} from '../store/frames.js'
import {RawDataGoneError} from '../store/retention.js'
import {selectorName, splitMetricName, tagMatchers, walk, type ParsedQuery} from './ast.js'
import type {AtModifier, PromExpr, VectorSelector} from './eval/ast.js'
import {DEFAULT_LOOKBACK_MS, instantQuery, PromEvalError, rangeQuery, type EvalOptions, type RangeSeries, type StepColumns, type Value, type VectorElement} from './eval/engine.js'
import {candidates, pushdowns} from './pushdown.js'
import {labelsKey, METRIC_NAME, MemorySeriesSource, type RawSeries, type Sample as RawSample, withoutName} from './eval/series.js'
import type {QueryDeadline} from './deadline.js'
import {InputError} from '../errors.js'
import {matchesAll} from '../model/matcher.js'
import {QueryError, spanOf} from './parser.js'

/**
 * Runs a parsed expression on any {@link Store} with Prometheus' evaluation model (eval/): an
 * instant query at one time exactly as a rule evaluates it, a range query as that instant query at
 * every step. Each selector becomes one raw read ({@link QueryPlan} without aggregation) covering
 * every window the expression needs over the whole query, the same on every backend; the
 * evaluator then computes in memory, so one expression gives the same numbers everywhere.
 */
export interface RunOptions {
  /** how far back an instant selector looks for its latest sample (default 5 m) */
  lookbackMs?: number
  /** the time budget: checked between reads and handed to the store */
  deadline?: QueryDeadline
  /** sees each read before it runs (--debug, --explain) */
  observe?: PlanObserver
  /** false: no window aggregation is pushed down to the store (tests compare both ways) */
  pushdown?: boolean
}

export type PlanObserver = (plan: QueryPlan) => void

/** The implicit window of `rate(x)` written without one: the lookback, or the step when wider. */
export function implicitRange(lookbackMs: number, stepMs?: number): number {
  return Math.max(lookbackMs, stepMs ?? 0)
}

interface Bounds {
  /** the query's first and last evaluation time */
  start: number
  end: number
  lookback: number
  implicit: number
  subqueryStep: number
}

/**
 * The raw reads an expression needs to be evaluated at every time in [start, end]: one plan per
 * distinct selector, its window the union of what each use of it reads (ranges, offsets, `@`,
 * subqueries and anomaly()'s history included).
 */
export function readsFor(expr: PromExpr, start: number, end: number, opts: {lookbackMs?: number; stepMs?: number; skip?: ReadonlySet<PromExpr>} = {}): Read[] {
  const lookback = opts.lookbackMs ?? DEFAULT_LOOKBACK_MS
  const bounds: Bounds = {start, end, lookback, implicit: implicitRange(lookback, opts.stepMs), subqueryStep: 60_000}
  const reads = new Map<string, {sel: VectorSelector; lo: number; hi: number}>()
  const counters = new Set<VectorSelector>()
  walk(expr, (node) => {
    if (node.kind === 'call' && COUNTER_FUNCTIONS.has(node.func) && node.args[0]?.kind === 'matrix') counters.add(node.args[0].selector)
  })
  const rollup = new Map<string, 'last' | 'mean'>()
  const add = (sel: VectorSelector, lo: number, hi: number) => {
    const key = JSON.stringify([selectorName(sel), tagMatchers(sel)])
    if (!rollup.has(key)) rollup.set(key, counters.has(sel) ? 'last' : 'mean')
    const known = reads.get(key)
    if (known) {
      known.lo = Math.min(known.lo, lo)
      known.hi = Math.max(known.hi, hi)
    } else {
      reads.set(key, {sel, lo, hi})
    }
  }

  collect(expr, start, end, bounds, (sel, lo, hi) => add(sel, lo, hi), opts.skip)
  return [...reads.entries()].map(([key, {sel, lo, hi}]) => {
    const {measurement, field} = sel.split ?? splitMetricName(selectorName(sel)!)
    // the evaluator's windows are left-open, (t − d, t]: the read is too, so a point just outside
    // every window is not read (a rule counts what it read to tell "no data" from "no match")
    return {measurement, field, matchers: tagMatchers(sel), start: lo + 1, end: hi + 1, rollup: rollup.get(key)!, name: selectorName(sel)!}
  })
}

/** Functions of a counter: where only rollups are left, their selector reads each bucket's last value. */
const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets'])

/**
 * One raw read. `rollup`: what stands in for the points of a bucket where only rollups are left
 * (older than retention.raw): the bucket's last value for a counter, its mean otherwise.
 */
export type Read = QueryPlan & {rollup: 'last' | 'mean'; name: string}

function timeOf(at: AtModifier | undefined, t: number, b: Bounds): number {
  return at === 'start' ? b.start : at === 'end' ? b.end : (at ?? t)
}

function collect(e: PromExpr, lo: number, hi: number, b: Bounds, add: (sel: VectorSelector, lo: number, hi: number) => void, skip?: ReadonlySet<PromExpr>): void {
  if (skip?.has(e)) return
  const next = (child: PromExpr, l = lo, h = hi) => collect(child, l, h, b, add, skip)
  switch (e.kind) {
    case 'vector': {
      const off = e.offset ?? 0
      add(e, timeOf(e.at, lo, b) - off - b.lookback, timeOf(e.at, hi, b) - off)
      return
    }

    case 'matrix': {
      const sel = e.selector
      const off = sel.offset ?? 0
      add(sel, timeOf(sel.at, lo, b) - off - (e.range || b.implicit), timeOf(sel.at, hi, b) - off)
      return
    }

    case 'subquery': {
      const off = e.offset ?? 0
      next(e.expr, timeOf(e.at, lo, b) - off - e.range, timeOf(e.at, hi, b) - off)
      return
    }

    case 'call': {
      if (e.func === 'anomaly') {
        const seconds = e.args[1]?.kind === 'number' ? e.args[1].value : 0
        const periods = e.args[2]?.kind === 'number' ? e.args[2].value : 4
        next(e.args[0], lo - Math.max(0, seconds * 1000 * periods), hi)
        for (const a of e.args.slice(1)) next(a)
        return
      }

      for (const a of e.args) next(a)
      return
    }

    case 'aggregation':
      if (e.param) next(e.param)
      next(e.expr)
      return
    case 'binary':
      next(e.lhs)
      next(e.rhs)
      return
    case 'unary':
      next(e.expr)
      return
    default:
  }
}

/** Runs the reads and holds their points as series for the evaluator. */
export async function loadSeries(store: Store, plans: Read[], opts: RunOptions = {}): Promise<{source: MemorySeriesSource}> {
  const results = await Promise.all(plans.map(async (plan) => ({plan, frames: await read(store, plan, opts)})))
  // two selectors of one metric (errors{status="500"} / all of it) read some series twice: one each
  const series = new Map<string, RawSeries>()
  for (const {plan, frames} of results) {
    // the metric name as the selector wrote it: `cpu.usage`, or `up` for measurement up, field value
    for (const s of seriesOf(frames, plan.name)) {
      const key = labelsKey(s.labels)
      const known = series.get(key)
      series.set(key, known ? {labels: s.labels, samples: mergeSamples(known.samples, s.samples)} : s)
    }
  }

  return {source: new MemorySeriesSource([...series.values()])}
}

/**
 * A read's frames as series, converted once per frames: the query cache hands the same frames to
 * every rule whose read is the same plan, so 1,000 rules over 20 distinct reads convert 20 times,
 * not 1,000. The series are shared as the frames are: nothing downstream modifies them.
 */
const converted = new WeakMap<Frame[], {name: string; series: RawSeries[]}>()

function seriesOf(frames: Frame[], name: string): RawSeries[] {
  const known = converted.get(frames)
  if (known?.name === name) return known.series
  const series = frames.map((f) => toSeries(f, name))
  converted.set(frames, {name, series})
  return series
}

/**
 * A read of raw points; where retention has left only rollups, the buckets of the finest rollup
 * tier holding the range, each as one point at its bucket's last millisecond (tags kept apart by
 * grouping on every tag key). `--explain` shows which tier answered.
 */
async function read(store: Store, plan: Read, opts: RunOptions): Promise<Frame[]> {
  const run = (p: QueryPlan) => readPlan(store, p, opts)
  const {rollup: _rollup, name: _name, ...raw} = plan
  try {
    const frames = await run(raw)
    return frames.length > 0 ? frames : await telegrafV1Histogram(store, raw, run)
  } catch (error) {
    if (!(error instanceof RawDataGoneError) || error.resolution === undefined || !hasTagKeys(store)) throw error
    const resolution = error.resolution
    const by = await store.tagKeys(plan.measurement)
    const frames = await run({...raw, every: resolution, aggregate: {fn: plan.rollup, by}})
    return frames.map((f) => ({...f, rows: f.rows.map((r) => [(r[0] as number) + resolution - 1, ...r.slice(1)])}))
  }
}

/**
 * Prometheus' names over Telegraf's metric_version 1 layout, where a histogram `h` is one
 * measurement with a field per bucket bound (`0.1`, `+Inf`) plus `count` and `sum`: when
 * `h_bucket` (`h_count`, `h_sum`) finds nothing as a measurement of its own, it reads those fields
 * of `h`, each bucket field as a series with its bound as the `le` label. So
 * `histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))` reads what `mon collect` stored.
 */
async function telegrafV1Histogram(store: Store, plan: QueryPlan, run: (p: QueryPlan) => Promise<Frame[]>): Promise<Frame[]> {
  const m = /^(.+)_(bucket|count|sum)$/.exec(plan.measurement)
  if (!m || plan.field !== 'value' || !hasFieldKeys(store)) return []
  const [, base, part] = m
  let fields: string[]
  try {
    fields = (await store.fieldKeys(base)).filter((f) => f.type !== 'string').map((f) => f.name)
  } catch {
    return []
  }

  if (part !== 'bucket') return fields.includes(part) ? run({...plan, measurement: base, field: part}) : []
  const bounds = fields.filter((f) => f === '+Inf' || (f.trim() !== '' && Number.isFinite(Number(f))))
  const le = plan.matchers.filter((x) => x.name === 'le')
  const others = plan.matchers.filter((x) => x.name !== 'le')
  const out: Frame[] = []
  for (const bound of bounds) {
    if (!matchesAll(le, {le: bound})) continue
    for (const f of await run({...plan, measurement: base, field: bound, matchers: others})) out.push({...f, tags: {...f.tags, le: bound}})
  }

  return out
}

function hasFieldKeys(store: Store): store is Store & Pick<StoreCatalog, 'fieldKeys'> {
  return typeof (store as Partial<StoreCatalog>).fieldKeys === 'function'
}

/** One plan through the observer (--debug, --explain) and the deadline. */
function readPlan(store: Store, plan: QueryPlan, opts: RunOptions): Promise<Frame[]> {
  opts.observe?.(plan)
  const {deadline} = opts
  return deadline ? deadline.bound(store.query(plan, {deadline})) : store.query(plan)
}

function hasTagKeys(store: Store): store is Store & Pick<StoreCatalog, 'tagKeys'> {
  return typeof (store as Partial<StoreCatalog>).tagKeys === 'function'
}

/** Two reads of one series (windows that may overlap) as one, each time once. */
function mergeSamples(a: RawSample[], b: RawSample[]): RawSample[] {
  const byTime = new Map<number, RawSample>()
  for (const p of a) byTime.set(p.t, p)
  for (const p of b) byTime.set(p.t, p)
  return [...byTime.values()].sort((x, y) => x.t - y.t)
}

function toSeries(f: Frame, name: string): RawSeries {
  const samples: RawSeries['samples'] = []
  eachPoint(f, (t, v) => {
    if (typeof v === 'number') samples.push({t, v})
    else if (typeof v === 'boolean') samples.push({t, v: v ? 1 : 0})
    else if (typeof v === 'string') {
      throw new InputError(`${name} holds strings (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}): expressions compute on numbers and booleans`, {
        hint: `mon store fields ${splitMetricName(name).measurement} lists each field's type`,
      })
    }
  })

  const labels: Record<string, string> = {}
  // a tag a series lacks comes back empty from a grouped read: as in PromQL, empty is absent
  for (const [k, v] of Object.entries(f.tags)) if (v !== '') labels[k] = v
  labels[METRIC_NAME] = name
  return {labels, samples}
}

function evalOptions(opts: RunOptions, stepMs?: number): EvalOptions {
  const lookbackMs = opts.lookbackMs ?? DEFAULT_LOOKBACK_MS
  return {lookbackMs, implicitRangeMs: implicitRange(lookbackMs, stepMs)}
}

/** An evaluation error with the query's caret under the part that failed. */
export function located(q: ParsedQuery, error: unknown): unknown {
  if (!(error instanceof PromEvalError)) return error
  return new QueryError(q.text, spanOf(q, error.node), error.message, {hint: error.hint})
}

export interface InstantResult {
  value: Value
}

/** The expression at time `at` (ms). */
export async function runInstant(q: ParsedQuery, store: Store, at: number, opts: RunOptions = {}): Promise<InstantResult> {
  const {source, precomputed} = await prepare(q, store, at, at, undefined, opts)
  opts.deadline?.check()
  try {
    return {value: instantQuery(source, q.expr, at, {...evalOptions(opts), precomputed})}
  } catch (error) {
    throw located(q, error)
  }
}

/** The expression at start, start + step, … ≤ end: one series per label set. */
export async function runRange(q: ParsedQuery, store: Store, start: number, end: number, stepMs: number, opts: RunOptions = {}): Promise<RangeSeries[]> {
  const {source, precomputed, precomputedSteps} = await prepare(q, store, start, end, stepMs, opts)
  opts.deadline?.check()
  try {
    return rangeQuery(source, q.expr, start, end, stepMs, {...evalOptions(opts, stepMs), precomputed, precomputedSteps})
  } catch (error) {
    throw located(q, error)
  }
}

/**
 * The reads of a query: window aggregations the store answers itself (pushdown.ts), raw points for
 * the rest. A pushdown the store cannot take (only rollups hold the range) falls back to raw reads.
 */
async function prepare(q: ParsedQuery, store: Store, start: number, end: number, stepMs: number | undefined, opts: RunOptions) {
  const found = opts.pushdown === false ? [] : candidates(q.expr)
  const fast = found.length === 0 ? [] : await pushdowns(found, store, start, end, stepMs)
  let precomputed: Map<PromExpr, (t: number) => VectorElement[] | undefined> | undefined
  let precomputedSteps: Map<PromExpr, (start: number, end: number, step: number) => StepColumns | undefined> | undefined
  if (fast.length > 0) {
    try {
      const answers = await Promise.all(fast.map((p) => readPlan(store, p.plan, opts)))
      precomputed = new Map(fast.map((p, i) => [p.node, p.values(answers[i])]))
      precomputedSteps = new Map(fast.flatMap((p, i) => (p.steps ? [[p.node, p.steps(answers[i])] as const] : [])))
    } catch (error) {
      // a range only rollups hold, or a plan the store refuses (a string field: the raw read below
      // says why in the words of every other query)
      if (!(error instanceof UnalignedBucketsError) && !(error instanceof InputError)) throw error
    }
  }

  const reads = readsFor(q.expr, start, end, {lookbackMs: opts.lookbackMs, stepMs, skip: precomputed ? new Set(precomputed.keys()) : undefined})
  const loaded = await loadSeries(store, reads, opts)
  return {...loaded, precomputed, precomputedSteps}
}

/** One value per series at one time, as alert and recording rules and dashboards want it. */
export interface Sample {
  /** the metric name when the result keeps one (a bare selector), else '' */
  name: string
  /** the series' labels, without the metric name */
  labels: Record<string, string>
  value: number
  /** the sample's own time where the value is one stored point (a selector, last(), last_over_time()), else the evaluation time */
  ts: number
}

export async function evaluateInstant(
  q: ParsedQuery,
  store: Store,
  at: number,
  opts: {lookback?: number; deadline?: QueryDeadline} = {},
  observe?: PlanObserver,
): Promise<Sample[]> {
  const {value} = await runInstant(q, store, at, {lookbackMs: opts.lookback, deadline: opts.deadline, observe})
  return samplesOf(value, at)
}

/** An instant query's value as samples (a scalar is one sample without labels; a range vector gives its latest points). */
export function samplesOf(value: Value, at: number): Sample[] {
  switch (value.type) {
    case 'scalar':
      return [{name: '', labels: {}, value: value.v, ts: at}]
    case 'string':
      return []
    case 'vector':
      return value.elements.map((e) => ({name: e.labels[METRIC_NAME] ?? '', labels: withoutName(e.labels), value: e.v, ts: e.sampleT ?? e.t}))
    case 'matrix':
      return value.series.flatMap((s) => {
        const last = s.samples.at(-1)
        return last ? [{name: s.labels[METRIC_NAME] ?? '', labels: withoutName(s.labels), value: last.v, ts: last.t}] : []
      })
  }
}
