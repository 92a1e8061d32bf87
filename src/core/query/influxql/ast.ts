/** The InfluxQL syntax tree of mon's subset (influxql ast.go, trimmed). Times are in ms, durations in ms. */

export type Expr =
  | {kind: 'ref'; name: string; type?: 'tag' | 'field'}
  | {kind: 'wildcard'; type?: 'tag' | 'field'}
  | {kind: 'call'; name: string; args: Expr[]}
  | {kind: 'number'; value: number; integer: boolean}
  | {kind: 'string'; value: string}
  | {kind: 'bool'; value: boolean}
  | {kind: 'regex'; source: string}
  | {kind: 'duration'; ms: number; ns: bigint}
  | {kind: 'binary'; op: BinaryOp; lhs: Expr; rhs: Expr}
  | {kind: 'paren'; expr: Expr}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '=' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~' | 'AND' | 'OR'

export interface Field {
  expr: Expr
  alias?: string
}

export type Source =
  | {kind: 'measurement'; database?: string; retentionPolicy?: string; name?: string; regex?: string}
  | {kind: 'subquery'; statement: SelectStatement}

export interface SelectStatement {
  kind: 'select'
  fields: Field[]
  sources: Source[]
  into?: string
  condition?: Expr
  groupByTime?: {every: number; offset: number}
  /** tag keys in GROUP BY (without `*`) */
  groupByTags: string[]
  groupByWildcard: boolean
  groupByRegex?: string
  fill: FillOption
  descending: boolean
  limit: number
  offset: number
  slimit: number
  soffset: number
  tz?: string
}

export type FillOption = {kind: 'null'} | {kind: 'none'} | {kind: 'previous'} | {kind: 'linear'} | {kind: 'number'; value: number}

export type ShowStatement =
  | {kind: 'showDatabases'}
  | {kind: 'showMeasurements'; database?: string; op?: '=' | '!=' | '=~' | '!~'; name?: string; regex?: string; condition?: Expr; limit: number; offset: number}
  | {kind: 'showTagKeys'; database?: string; sources: Source[]; condition?: Expr; limit: number; offset: number}
  | {
      kind: 'showTagValues'
      database?: string
      sources: Source[]
      keyOp: '=' | '!=' | '=~' | '!~' | 'IN'
      keys: string[]
      keyRegex?: string
      condition?: Expr
      limit: number
      offset: number
    }
  | {kind: 'showFieldKeys'; database?: string; sources: Source[]; limit: number; offset: number}
  | {kind: 'showRetentionPolicies'; database?: string}
  | {kind: 'showSeries'; database?: string; sources: Source[]; condition?: Expr; limit: number; offset: number}

/** A statement mon parses but does not run (writes, administration): answered with an error. */
export interface UnsupportedStatement {
  kind: 'unsupported'
  text: string
}

export type Statement = SelectStatement | ShowStatement | UnsupportedStatement

/** The text InfluxDB names an expression by in error messages (String() of the AST, simplified). */
export function exprString(e: Expr): string {
  switch (e.kind) {
    case 'ref':
      return quoteIdentIfNeeded(e.name) + (e.type ? `::${e.type}` : '')
    case 'wildcard':
      return '*' + (e.type ? `::${e.type}` : '')
    case 'call':
      return `${e.name}(${e.args.map(exprString).join(', ')})`
    case 'number':
      return e.integer ? String(e.value) : Number.isInteger(e.value) ? e.value.toFixed(3) : String(e.value)
    case 'string':
      return `'${e.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
    case 'bool':
      return String(e.value)
    case 'regex':
      return `/${e.source.replace(/\//g, '\\/')}/`
    case 'duration':
      return `${e.ms}ms`
    case 'binary':
      return `${exprString(e.lhs)} ${e.op} ${exprString(e.rhs)}`
    case 'paren':
      return `(${exprString(e.expr)})`
  }
}

export function quoteIdentIfNeeded(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** Removes parentheses around an expression. */
export function unparen(e: Expr): Expr {
  while (e.kind === 'paren') e = e.expr
  return e
}
