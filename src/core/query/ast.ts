import type {Matcher} from '../model/matcher.js'
import type {AggregationOp, PromExpr, VectorSelector} from './eval/ast.js'
import {formatPromExpr} from './eval/format.js'
import {METRIC_NAME} from './eval/series.js'

/**
 * The expression language shared by `mon query`, alert and recording rules and `mon top`: PromQL
 * (docs/query.md) over mon's `measurement.field` names. The parser (parser.ts) builds the tree the
 * PromQL-model evaluator (eval/) runs; this file holds what callers need around it.
 */
export type {PromExpr} from './eval/ast.js'

/** Character offsets into the query text (0-based, end exclusive), for caret errors. */
export interface Span {
  start: number
  end: number
}

/** A parsed expression with where each node came from in the text. */
export interface ParsedQuery {
  text: string
  expr: PromExpr
  spans: WeakMap<object, Span>
}

/** The metric name of a mon series: `measurement.field`. */
export function metricName(measurement: string, field: string): string {
  return `${measurement}.${field}`
}

/**
 * `measurement.field` split at the first dot; a name without a dot (a Prometheus-style recording
 * rule name such as `job:requests:rate5m`) is the field `value` of that measurement.
 */
export function splitMetricName(name: string): {measurement: string; field: string} {
  const dot = name.indexOf('.')
  return dot < 0 ? {measurement: name, field: 'value'} : {measurement: name.slice(0, dot), field: name.slice(dot + 1)}
}

/** The metric name a selector reads (its name, or its `__name__="…"` matcher). */
export function selectorName(sel: VectorSelector): string | undefined {
  return sel.name ?? sel.matchers.find((m) => m.name === METRIC_NAME && m.op === '=')?.value
}

/** The selector's tag matchers, without the metric name. */
export function tagMatchers(sel: VectorSelector): Matcher[] {
  return sel.matchers.filter((m) => m.name !== METRIC_NAME)
}

/** Every selector in an expression, in order (a matrix selector's inner selector included). */
export function selectorsOf(e: PromExpr): VectorSelector[] {
  const out: VectorSelector[] = []
  walk(e, (node) => {
    if (node.kind === 'vector') out.push(node)
  })
  return out
}

/** Calls `visit` on every node, parents before children. */
export function walk(e: PromExpr, visit: (node: PromExpr) => void): void {
  visit(e)
  switch (e.kind) {
    case 'matrix':
      walk(e.selector, visit)
      return
    case 'subquery':
    case 'unary':
      walk(e.expr, visit)
      return
    case 'call':
      for (const a of e.args) walk(a, visit)
      return
    case 'aggregation':
      if (e.param) walk(e.param, visit)
      walk(e.expr, visit)
      return
    case 'binary':
      walk(e.lhs, visit)
      walk(e.rhs, visit)
      return
    default:
  }
}

/** Whether the expression calls `absent`/`absent_over_time` anywhere (a rule then has data by design). */
export function containsAbsent(e: PromExpr): boolean {
  let found = false
  walk(e, (node) => {
    if (node.kind === 'call' && (node.func === 'absent' || node.func === 'absent_over_time')) found = true
  })
  return found
}

/** The expression printed back in canonical PromQL form (mon names as written). */
export function formatExpr(e: PromExpr): string {
  return formatPromExpr(e)
}

export const AGGREGATION_OPS: readonly AggregationOp[] = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'quantile', 'topk', 'bottomk', 'count_values', 'first', 'last', 'spread']
