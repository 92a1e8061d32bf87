import type {AggFn, Frame, QueryPlan, Store} from '../store/types.js'
import {isAgg, isTransform, type CallNode, type Expr, type SelectorNode} from './ast.js'
import type {QueryDeadline} from './deadline.js'
import {QueryError} from './parser.js'

/**
 * Evaluates an expression against any {@link Store}. Selectors, aggregations and rate/derivative
 * become {@link QueryPlan}s that each backend runs natively (SQL on the embedded store, InfluxQL on
 * InfluxDB); arithmetic, comparisons, absent() and scalar functions are applied here, the same
 * way for every backend, so one expression gives the same numbers everywhere.
 */
export interface EvalOptions {
  /** [start, end) in ms for the whole query */
  start: number
  end: number
  /** bucket width in ms; without it an aggregation gives one value per group */
  every?: number
  /**
   * Instant evaluation (rules, dashboards): each selector reads its own window `[range]` (or this
   * default look-back) ending at `end`.
   */
  lookback?: number
  /** the query text, for located errors */
  source?: string
  /** the time budget: checked between plans and handed to the store */
  deadline?: QueryDeadline
}

export type PlanObserver = (plan: QueryPlan) => void

export async function evaluate(expr: Expr, store: Store, opts: EvalOptions, observe?: PlanObserver): Promise<Frame[] | number> {
  return new Evaluator(store, opts, observe).eval(expr)
}

/** One value per series (the latest), as alert rules and dashboards want it. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
  /** time of the value (ms) */
  ts: number
}

export async function evaluateInstant(
  expr: Expr,
  store: Store,
  at: number,
  opts: {lookback?: number; source?: string; deadline?: QueryDeadline} = {},
  observe?: PlanObserver,
): Promise<Sample[]> {
  const lookback = opts.lookback ?? 5 * 60_000
  const result = await evaluate(expr, store, {start: at - lookback + 1, end: at + 1, lookback, source: opts.source, deadline: opts.deadline}, observe)
  if (typeof result === 'number') return [{name: 'scalar', labels: {}, value: result, ts: at}]
  const samples: Sample[] = []
  for (const f of result) {
    const last = f.rows[f.rows.length - 1]
    if (!last || typeof last[1] !== 'number') continue
    samples.push({name: f.name, labels: f.tags, value: last[1], ts: last[0] as number})
  }

  return samples
}

/** The plans an expression would run (for --explain), without running them. */
export function plansOf(expr: Expr, opts: EvalOptions): QueryPlan[] {
  const ev = new Evaluator(undefined as unknown as Store, opts)
  const plans: QueryPlan[] = []
  const walk = (e: Expr): void => {
    if (e.kind === 'selector') plans.push(ev.planFor(e))
    else if (e.kind === 'call' && (isAgg(e.fn) || isTransform(e.fn) || e.fn === 'absent')) plans.push(ev.planForCall(e))
    else if (e.kind === 'call') e.args.forEach(walk)
    else if (e.kind === 'binary') {
      walk(e.left)
      walk(e.right)
    } else if (e.kind === 'neg') walk(e.expr)
  }

  walk(expr)
  return plans
}

class Evaluator {
  constructor(
    private readonly store: Store,
    private readonly opts: EvalOptions,
    private readonly observe?: PlanObserver,
  ) {}

  private window(sel: SelectorNode): {start: number; end: number} {
    if (this.opts.lookback === undefined) return {start: this.opts.start, end: this.opts.end}
    return {start: this.opts.end - (sel.range ?? this.opts.lookback), end: this.opts.end}
  }

  planFor(sel: SelectorNode): QueryPlan {
    return {measurement: sel.measurement, field: sel.field, matchers: sel.matchers, ...this.window(sel)}
  }

  planForCall(call: CallNode): QueryPlan {
    const arg = call.args[0]
    if (call.fn === 'absent') return {...this.planFor(arg as SelectorNode), limit: 1}
    if (isTransform(call.fn)) {
      return {...this.planFor(arg as SelectorNode), every: this.opts.every, transform: call.fn}
    }

    const inner = arg.kind === 'call' ? arg : undefined
    const sel = (inner ? inner.args[0] : arg) as SelectorNode
    const param = call.fn === 'percentile' && call.args[1]?.kind === 'number' ? call.args[1].value : undefined
    return {
      ...this.planFor(sel),
      every: this.opts.every,
      transform: inner && isTransform(inner.fn) ? inner.fn : undefined,
      aggregate: {fn: call.fn as AggFn, param, by: call.by ?? []},
    }
  }

  private async run(plan: QueryPlan): Promise<Frame[]> {
    this.observe?.(plan)
    const deadline = this.opts.deadline
    if (!deadline) return this.store.query(plan)
    return deadline.bound(this.store.query(plan, {deadline}))
  }

  async eval(e: Expr): Promise<Frame[] | number> {
    switch (e.kind) {
      case 'number':
        return e.value
      case 'selector':
        return this.run(this.planFor(e))
      case 'neg': {
        const v = await this.eval(e.expr)
        return typeof v === 'number' ? -v : mapFrames(v, (x) => -x)
      }

      case 'call':
        return this.call(e)
      case 'binary': {
        const [l, r] = await Promise.all([this.eval(e.left), this.eval(e.right)])
        return binary(e.op, l, r, () => new QueryError(this.opts.source ?? '', e, `cannot combine these operands with '${e.op}'`))
      }
    }
  }

  private async call(e: CallNode): Promise<Frame[] | number> {
    if (isAgg(e.fn) || isTransform(e.fn)) return this.run(this.planForCall(e))
    if (e.fn === 'absent') {
      const sel = e.args[0] as SelectorNode
      const plan = this.planForCall(e)
      const frames = await this.run(plan)
      if (frames.some((f) => f.rows.length > 0)) return []
      const tags: Record<string, string> = {}
      for (const m of sel.matchers) if (m.op === '=') tags[m.name] = m.value
      return [{name: sel.measurement, tags, columns: ['time', 'absent'], rows: [[plan.start, 1]]}]
    }

    const v = await this.eval(e.args[0])
    const f = {abs: Math.abs, round: Math.round, ceil: Math.ceil, floor: Math.floor}[e.fn as 'abs']
    return typeof v === 'number' ? f(v) : mapFrames(v, f)
  }
}

function mapFrames(frames: Frame[], f: (x: number) => number): Frame[] {
  return frames.map((fr) => ({...fr, rows: fr.rows.map((r) => [r[0], typeof r[1] === 'number' ? f(r[1]) : r[1]])}))
}

const ARITH: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
}
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '<': (a, b) => a < b,
  '>=': (a, b) => a >= b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
}

function tagKey(tags: Record<string, string>): string {
  return JSON.stringify(Object.entries(tags).sort())
}

/**
 * Arithmetic applies per value; a comparison filters (keeps the left value where it holds, as
 * PromQL does). Two series operands are joined on identical tag sets and timestamps; a series set
 * with a single untagged frame is broadcast.
 */
export function binary(op: string, l: Frame[] | number, r: Frame[] | number, incompatible: () => Error): Frame[] | number {
  const cmp = COMPARE[op]
  const arith = ARITH[op]
  if (typeof l === 'number' && typeof r === 'number') return cmp ? Number(cmp(l, r)) : arith(l, r)
  const combine = (a: number, b: number): number | undefined => (cmp ? (cmp(a, b) ? a : undefined) : arith(a, b))
  if (typeof r === 'number') return filterMap(l as Frame[], (v) => combine(v, r))
  if (typeof l === 'number') {
    // 90 < x keeps x's values
    return filterMap(r, (v) => (cmp ? (cmp(l, v) ? v : undefined) : arith(l, v)))
  }

  const rightByTags = new Map(r.map((f) => [tagKey(f.tags), f]))
  const broadcast = r.length === 1 && Object.keys(r[0].tags).length === 0 ? r[0] : undefined
  const out: Frame[] = []
  for (const lf of l) {
    const rf = rightByTags.get(tagKey(lf.tags)) ?? broadcast
    if (!rf) continue
    const rightAt = new Map(rf.rows.map((row) => [row[0] as number, row[1]]))
    const rightSingle = rf.rows.length === 1 ? rf.rows[0][1] : undefined
    const rows: Frame['rows'] = []
    for (const row of lf.rows) {
      const rv = rightAt.get(row[0] as number) ?? rightSingle
      if (typeof row[1] !== 'number' || typeof rv !== 'number') continue
      const v = combine(row[1], rv)
      if (v !== undefined) rows.push([row[0], v])
    }

    if (rows.length > 0) out.push({...lf, rows})
  }

  if (out.length === 0 && l.length > 0 && r.length > 0 && !broadcast && !l.some((f) => rightByTags.has(tagKey(f.tags)))) {
    // nothing lined up: say so rather than silently returning nothing
    throw incompatible()
  }

  return out
}

function filterMap(frames: Frame[], f: (v: number) => number | undefined): Frame[] {
  const out: Frame[] = []
  for (const fr of frames) {
    const rows: Frame['rows'] = []
    for (const row of fr.rows) {
      if (typeof row[1] !== 'number') continue
      const v = f(row[1])
      if (v !== undefined) rows.push([row[0], v])
    }

    if (rows.length > 0) out.push({...fr, rows})
  }

  return out
}
