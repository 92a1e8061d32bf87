import {eachPoint, frameColumns, type FrameColumns} from '../store/frames.js'
import type {AggFn, Frame, QueryPlan, Store, StoreCatalog} from '../store/types.js'
import {formatExpr, selectorName, splitMetricName, tagMatchers} from './ast.js'
import type {AggregationOp, MatrixSelector, PromExpr} from './eval/ast.js'
import type {StepColumns, VectorElement} from './eval/engine.js'

/**
 * The fast path (issue 18): where a window aggregation is one the store computes itself with the
 * same answer, the store aggregates and ships one value per window instead of every raw point.
 *
 * It applies to `avg|min|max|sum|count_over_time(x[d])` and mon's pooled `avg|min|max|sum|count(x[d])
 * by (…)`, evaluated at times t whose window (t − d, t] is exactly one store bucket: an instant query
 * (one bucket [t − d + 1 ms, t + 1 ms)), or a range query whose step is d (buckets of d with an
 * offset, so bucket k is the window of step k). Nodes evaluated at other times (inside a subquery
 * or anomaly()) and selectors with offset or @ are left to the evaluator. The store's mean is
 * Σ/n where the evaluator's is incremental: equal within float rounding (1e-12 relative), which
 * test/integration/query-pushdown.test.ts checks on both backends.
 */
export interface Pushdown {
  node: PromExpr
  plan: QueryPlan
  /** the evaluation times the plan's buckets answer, and the vector at each */
  values(frames: Frame[]): (t: number) => VectorElement[] | undefined
  /** the same for a whole range query at once, series by series (undefined for an instant query) */
  steps?(frames: Frame[]): (start: number, end: number, step: number) => StepColumns | undefined
  /** `avg_over_time(cpu.usage[1m])`, for --explain */
  text: string
}

const OVER_TIME: Readonly<Record<string, AggFn>> = {avg_over_time: 'mean', min_over_time: 'min', max_over_time: 'max', sum_over_time: 'sum', count_over_time: 'count'}
const POOLED: Readonly<Partial<Record<AggregationOp, AggFn>>> = {avg: 'mean', min: 'min', max: 'max', sum: 'sum', count: 'count'}

export interface Candidate {
  node: PromExpr
  matrix: MatrixSelector
  fn: AggFn
  /** pooled: the by labels; over_time: undefined (every tag: one result per series) */
  by?: string[]
}

/**
 * The window aggregations of an expression the store could answer (found without awaiting anything:
 * a query with none reads at once).
 */
export function candidates(expr: PromExpr): Candidate[] {
  const out: Candidate[] = []
  const visit = (e: PromExpr): void => {
    const found = candidate(e)
    if (found) {
      out.push(found)
      return
    }

    switch (e.kind) {
      case 'call':
        // anomaly() evaluates its argument at past times: not at the query's steps
        if (e.func !== 'anomaly') e.args.forEach(visit)
        return
      case 'aggregation':
        visit(e.expr)
        return
      case 'binary':
        visit(e.lhs)
        visit(e.rhs)
        return
      case 'unary':
        visit(e.expr)
        return
      default:
      // a subquery's inner expression runs at its own steps
    }
  }

  visit(expr)
  return out
}

function candidate(e: PromExpr): Candidate | undefined {
  const plain = (m: PromExpr): m is MatrixSelector => m.kind === 'matrix' && m.range > 0 && m.selector.offset === undefined && m.selector.at === undefined
  if (e.kind === 'call' && Object.hasOwn(OVER_TIME, e.func) && e.args.length === 1 && plain(e.args[0])) return {node: e, matrix: e.args[0], fn: OVER_TIME[e.func]}
  if (e.kind === 'aggregation' && POOLED[e.op] && !e.without && !e.param && plain(e.expr) && !e.grouping.includes('__name__')) {
    return {node: e, matrix: e.expr, fn: POOLED[e.op]!, by: e.grouping}
  }

  return undefined
}

/**
 * What the store can aggregate for an instant query at `start` (start = end, no step) or a range
 * query from start to end every `step`. Over_time pushdowns group by every tag key, so they need
 * the store's catalog; without it only pooled aggregations are pushed down.
 */
export async function pushdowns(found: readonly Candidate[], store: Store, start: number, end: number, step?: number): Promise<Pushdown[]> {
  const out: Pushdown[] = []
  for (const c of found) {
    const d = c.matrix.range
    if (step !== undefined && d !== step) continue
    const sel = c.matrix.selector
    const {measurement, field} = sel.split ?? splitMetricName(selectorName(sel)!)
    let by = c.by
    if (!by) {
      if (!hasTagKeys(store)) continue
      by = await store.tagKeys(measurement)
    }

    const range = step !== undefined
    // window (t − d, t] = [t − d + 1, t + 1) at the store's millisecond precision
    const first = start - d + 1
    const plan: QueryPlan = {
      measurement,
      field,
      matchers: tagMatchers(sel),
      start: first,
      end: end + 1,
      aggregate: {fn: c.fn, by},
      ...(range ? {every: d, offset: ((first % d) + d) % d} : {}),
    }
    out.push({
      node: c.node,
      plan,
      // for --explain only: not formatted for every query
      get text() {
        return formatExpr(c.node)
      },
      values(frames) {
        // built on first use: a range query answered from steps() never asks
        let byTime: Map<number, VectorElement[]> | undefined
        const index = () => {
          const out = new Map<number, VectorElement[]>()
          for (const f of frames) {
            const labels = labelsOf(f)
            eachPoint(f, (bucket, v) => {
              if (typeof v !== 'number') return
              const t = range ? bucket + d - 1 : start
              let at = out.get(t)
              if (!at) out.set(t, (at = []))
              at.push({labels, t, v})
            })
          }

          return out
        }

        // every step of the query is answered: a window without points has no value
        return (t) => (byTime ??= index()).get(t) ?? (t >= start && t <= end && (!range || (t - start) % step! === 0) ? [] : undefined)
      },
      ...(range && {
        // bucket k of the plan is the window of step k: one column per frame, no element per value
        steps: (frames: Frame[]) => (from: number, to: number, every: number) => {
          if (from !== start || to !== end || every !== step) return undefined
          const steps = Math.floor((end - start) / step!) + 1
          const columns: StepColumns = {labels: [], values: [], present: []}
          for (const f of frames) {
            const values = new Float64Array(steps)
            const present = new Uint8Array(steps)
            const put = (bucket: number, v: number | string | boolean | null) => {
              if (typeof v !== 'number') return
              const k = (bucket + d - 1 - start) / step!
              if (k >= 0 && k < steps) {
                values[k] = v
                present[k] = 1
              }
            }
            // the store's bucket columns (sqlite/buckets.ts) read in place here, where the call to
            // `put` can be inlined (eachPoint's call of its callback serves every caller)
            const c = frameColumns(f)
            if (!c) eachPoint(f, put)
            else if (!contiguous(c, values, present, (c.ts[0]! + d - 1 - start) / step!, step!)) for (let i = 0; i < c.ts.length; i++) put(c.ts[i]!, c.values[i]!)

            columns.labels.push(labelsOf(f))
            columns.values.push(values)
            columns.present.push(present)
          }

          return columns
        },
      }),
    })
  }

  return out
}

/**
 * A bucket at every step from step k0 on (what a series without gaps gives): its value column put
 * into the step columns at once. False, with nothing put, for any other (the caller puts them one
 * by one).
 */
function contiguous(c: FrameColumns, values: Float64Array, present: Uint8Array, k0: number, step: number): boolean {
  const {ts} = c
  const n = ts.length
  if (n === 0 || !(c.values instanceof Float64Array) || c.values.length !== n || !Number.isInteger(k0) || k0 < 0 || k0 + n > values.length) return false
  for (let i = 1; i < n; i++) if (ts[i]! - ts[i - 1]! !== step) return false
  values.set(c.values, k0)
  present.fill(1, k0, k0 + n)
  return true
}

/** A frame's tags as the evaluator's labels: as its grouping, an empty label is no label. */
function labelsOf(f: Frame): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const [k, v] of Object.entries(f.tags)) if (v !== '') labels[k] = v
  return labels
}

function hasTagKeys(store: Store): store is Store & Pick<StoreCatalog, 'tagKeys'> {
  return typeof (store as Partial<StoreCatalog>).tagKeys === 'function'
}
