import {formatDuration} from '../config/duration.js'
import type {Matcher} from '../model/matcher.js'
import type {AggFn, TransformFn} from '../store/types.js'

/** Character offsets into the query text (0-based, end exclusive), for caret errors. */
export interface Span {
  start: number
  end: number
}

export interface NumberNode extends Span {
  kind: 'number'
  value: number
}

export interface SelectorNode extends Span {
  kind: 'selector'
  measurement: string
  field: string
  matchers: Matcher[]
  /** `[5m]`: the look-back window in ms, used by instant evaluation (rules, dashboards) */
  range?: number
}

export type CallFn = AggFn | TransformFn | 'absent' | 'abs' | 'round' | 'ceil' | 'floor'

export interface CallNode extends Span {
  kind: 'call'
  fn: CallFn
  args: Expr[]
  /** grouping of an aggregation: `mean(x) by host` or `by (host, cpu)` */
  by?: string[]
}

export type ArithOp = '+' | '-' | '*' | '/' | '%'
export type CompareOp = '>' | '<' | '>=' | '<=' | '==' | '!='

export interface BinaryNode extends Span {
  kind: 'binary'
  op: ArithOp | CompareOp
  left: Expr
  right: Expr
}

export interface NegNode extends Span {
  kind: 'neg'
  expr: Expr
}

export type Expr = NumberNode | SelectorNode | CallNode | BinaryNode | NegNode

export const AGG_FNS: readonly AggFn[] = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'percentile', 'median', 'stddev', 'spread']
export const TRANSFORM_FNS: readonly TransformFn[] = ['rate', 'derivative']
export const SCALAR_FNS = ['abs', 'round', 'ceil', 'floor'] as const
export const ALL_FNS: readonly CallFn[] = [...AGG_FNS, ...TRANSFORM_FNS, 'absent', ...SCALAR_FNS]
export const COMPARE_OPS: readonly string[] = ['>', '<', '>=', '<=', '==', '!=']

export function isAgg(fn: string): fn is AggFn {
  return (AGG_FNS as readonly string[]).includes(fn)
}

export function isTransform(fn: string): fn is TransformFn {
  return (TRANSFORM_FNS as readonly string[]).includes(fn)
}

/** Every selector in an expression, in order. */
export function selectorsOf(e: Expr): SelectorNode[] {
  switch (e.kind) {
    case 'selector':
      return [e]
    case 'call':
      return e.args.flatMap(selectorsOf)
    case 'binary':
      return [...selectorsOf(e.left), ...selectorsOf(e.right)]
    case 'neg':
      return selectorsOf(e.expr)
    default:
      return []
  }
}

/** The expression printed back in canonical form. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value)
    case 'selector': {
      const name = (s: string) => (/^[A-Za-z_][\w:]*$/.test(s) ? s : JSON.stringify(s))
      const ms = e.matchers.length > 0 ? `{${e.matchers.map((m) => `${name(m.name)}${m.op}${JSON.stringify(m.value)}`).join(', ')}}` : ''
      return `${name(e.measurement)}.${name(e.field)}${ms}${e.range === undefined ? '' : `[${formatDuration(e.range)}]`}`
    }

    case 'call':
      return `${e.fn}(${e.args.map(formatExpr).join(', ')})${e.by && e.by.length > 0 ? ` by (${e.by.join(', ')})` : ''}`
    case 'binary':
      return `${wrap(e.left)} ${e.op} ${wrap(e.right)}`
    case 'neg':
      return `-${wrap(e.expr)}`
  }
}

function wrap(e: Expr): string {
  return e.kind === 'binary' ? `(${formatExpr(e)})` : formatExpr(e)
}
