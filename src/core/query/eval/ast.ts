import type {Matcher} from '../../model/matcher.js'

/**
 * The expression tree the PromQL-model evaluator consumes (issue 18). It is deliberately separate
 * from the tree `parser.ts` builds today, so the current `mon query` behaviour stays unchanged
 * until a parser produces this one. Durations and `@` times are milliseconds.
 */
export type PromExpr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | Subquery
  | Call
  | Aggregation
  | BinaryExpr
  | UnaryExpr

export interface NumberLiteral {
  kind: 'number'
  value: number
}

export interface StringLiteral {
  kind: 'string'
  value: string
}

/** `start()`/`end()` are the range query's bounds (the evaluation time for an instant query). */
export type AtModifier = number | 'start' | 'end'

export interface VectorSelector {
  kind: 'vector'
  /** metric name (mon: `measurement.field`); undefined when only matchers select */
  name?: string
  /** mon: the measurement and field when the measurement itself holds a dot (`"a.b".c`) */
  split?: {measurement: string; field: string}
  matchers: Matcher[]
  /** `offset` in ms (negative allowed) */
  offset?: number
  at?: AtModifier
}

export interface MatrixSelector {
  kind: 'matrix'
  selector: VectorSelector
  /** the `[d]` window in ms; 0: none written (mon's `rate(x)`), the evaluator's implicit window */
  range: number
}

/**
 * `expr[range:step]`: the instant expression evaluated every `step` (aligned to multiples of the
 * step since the epoch) over the window, as a range vector.
 */
export interface Subquery {
  kind: 'subquery'
  expr: PromExpr
  range: number
  /** omitted: the evaluator's default step (Prometheus: the global evaluation interval) */
  step?: number
  offset?: number
  at?: AtModifier
}

export interface Call {
  kind: 'call'
  func: string
  args: PromExpr[]
}

export type AggregationOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'quantile'
  | 'topk'
  | 'bottomk'
  | 'count_values'
  /** mon: the earliest / latest sample of each group, and max − min */
  | 'first'
  | 'last'
  | 'spread'

export interface Aggregation {
  kind: 'aggregation'
  op: AggregationOp
  expr: PromExpr
  /** quantile's φ, topk/bottomk's k, count_values' label */
  param?: PromExpr
  /** `by (…)` labels, or with `without` the labels dropped */
  grouping: string[]
  without?: boolean
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^'
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<='
export type SetOp = 'and' | 'or' | 'unless'
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp

/** `on(…)`/`ignoring(…)` with optional `group_left(…)`/`group_right(…)` */
export interface VectorMatching {
  on: boolean
  labels: string[]
  group?: 'left' | 'right'
  /** labels copied from the "one" side (group_left(x) / group_right(x)) */
  include?: string[]
}

export interface BinaryExpr {
  kind: 'binary'
  op: BinaryOp
  lhs: PromExpr
  rhs: PromExpr
  /** comparison with `bool`: 0/1 instead of filtering */
  bool?: boolean
  matching?: VectorMatching
}

export interface UnaryExpr {
  kind: 'unary'
  op: '-' | '+'
  expr: PromExpr
}
