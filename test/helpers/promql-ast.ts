/** Builders for the PromQL evaluator's expression tree (src/core/query/eval/ast.ts), as a parser will produce it. */
import type {Matcher} from '../../src/core/model/matcher.js'
import type {AggregationOp, BinaryOp, PromExpr, VectorMatching, VectorSelector} from '../../src/core/query/eval/ast.js'

export function sel(name: string | undefined, labels: Record<string, string> = {}, mods: {offset?: number; at?: VectorSelector['at']; matchers?: Matcher[]} = {}): VectorSelector {
  const matchers: Matcher[] = [...Object.entries(labels).map(([k, v]) => ({name: k, op: '=' as const, value: v})), ...(mods.matchers ?? [])]
  return {kind: 'vector', name, matchers, offset: mods.offset, at: mods.at}
}

export const range = (selector: VectorSelector, ms: number): PromExpr => ({kind: 'matrix', selector, range: ms})
export const subquery = (expr: PromExpr, rangeMs: number, stepMs?: number, mods: {offset?: number; at?: VectorSelector['at']} = {}): PromExpr => ({kind: 'subquery', expr, range: rangeMs, step: stepMs, ...mods})
export const call = (func: string, ...args: PromExpr[]): PromExpr => ({kind: 'call', func, args})
export const num = (value: number): PromExpr => ({kind: 'number', value})
export const str = (value: string): PromExpr => ({kind: 'string', value})
export const agg = (op: AggregationOp, expr: PromExpr, opts: {by?: string[]; without?: string[]; param?: PromExpr} = {}): PromExpr => ({
  kind: 'aggregation',
  op,
  expr,
  param: opts.param,
  grouping: opts.without ?? opts.by ?? [],
  without: opts.without !== undefined,
})
export const bin = (op: BinaryOp, lhs: PromExpr, rhs: PromExpr, opts: {bool?: boolean; matching?: VectorMatching} = {}): PromExpr => ({kind: 'binary', op, lhs, rhs, ...opts})
export const on = (labels: string[], extra: Partial<VectorMatching> = {}): VectorMatching => ({on: true, labels, ...extra})
export const ignoring = (labels: string[], extra: Partial<VectorMatching> = {}): VectorMatching => ({on: false, labels, ...extra})
