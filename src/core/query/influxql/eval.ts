/**
 * SELECT with InfluxDB 1.x semantics over mon's store reads. Raw points are read per series and
 * field (QueryPlans without aggregation) and evaluated here: buckets aligned to the epoch plus the
 * offset, the bucket start as the time, fill, selectors' own times, transformations over
 * aggregates (with InfluxDB's look-back of one bucket), series per tag set. Where it gives the same
 * answer, `GROUP BY time(d), tags` with mean/sum/count/min/max is pushed down to the store as one
 * aggregated plan per call instead (see {@link EvalContext.pushdown}).
 */
import {compileLinearRegex, type Matcher, type LinearRegex} from '../../model/matcher.js'
import type {FieldType} from '../../model/point.js'
import {UnalignedBucketsError, type AggFn, type Frame, type QueryPlan, type Store, type StoreCatalog} from '../../store/types.js'
import {InputError} from '../../errors.js'
import {RawDataGoneError} from '../../store/retention.js'
import {exprString, unparen, type Expr, type SelectStatement, type Source} from './ast.js'

export type Val = number | string | boolean | null
export type Tags = Record<string, string>

/** A per-statement failure: the text goes into the result's `error`, as InfluxDB words it. */
export class StatementError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StatementError'
  }
}

export interface EvalContext {
  store: Store & StoreCatalog
  databases: string[]
  retentionPolicy: string
  /** the request's `db` */
  db?: string
  now: number
  /** false: never push aggregations down to the store (tests compare both paths) */
  pushdown: boolean
  /** sees every plan before it runs (tests, --debug) */
  observe?: (plan: QueryPlan) => void
}

/** A result series before formatting: times in ms. */
export interface ResultSeries {
  /** tz('…') of the statement: times are printed in that zone's offset */
  tz?: string
  name: string
  tags?: Tags
  columns: string[]
  rows: Val[][]
}

/** Points of one series: timestamps (ms, ascending) and one aligned value array per field. */
interface PointSeries {
  name: string
  tags: Tags
  ts: number[]
  fields: Map<string, Val[]>
}

const AGGREGATES = new Set(['count', 'mean', 'median', 'mode', 'spread', 'stddev', 'sum', 'first', 'last', 'max', 'min', 'percentile', 'integral'])
const SELECTORS = new Set(['first', 'last', 'max', 'min', 'percentile'])
/** Functions that give several rows per bucket. */
const MULTI_ROW = new Set(['top', 'bottom', 'distinct'])
const TRANSFORMS = new Set(['derivative', 'non_negative_derivative', 'difference', 'non_negative_difference', 'moving_average', 'cumulative_sum', 'elapsed'])
const MATH = new Set(['abs', 'ceil', 'floor', 'round', 'sqrt', 'ln', 'log2', 'log10', 'exp', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'pow', 'log', 'atan2'])
/** InfluxQL functions InfluxDB has and mon does not evaluate: rejected with a clear error. */
const NOT_SUPPORTED = new Set(['sample', 'holt_winters', 'holt_winters_with_fit', 'chande_momentum_oscillator', 'exponential_moving_average', 'double_exponential_moving_average', 'triple_exponential_moving_average', 'relative_strength_index', 'triple_exponential_derivative', 'kaufmans_efficiency_ratio', 'kaufmans_adaptive_moving_average'])
const PUSHABLE = new Set(['mean', 'sum', 'count', 'min', 'max'])

const MAX_TIME = 8_640_000_000_000_000
/** buckets one series of one statement may have */
const MAX_BUCKETS = 1_000_000

// ---------------------------------------------------------------------------------------------
// time conditions

interface TimeRange {
  /** inclusive bounds in ms; undefined when the condition has none */
  min?: number
  max?: number
}

function timeValue(e: Expr, now: number): number {
  e = unparen(e)
  switch (e.kind) {
    case 'duration':
      return Number(e.ns) / 1e6
    case 'number':
      return e.value / 1e6
    case 'string': {
      const t = parseTimeString(e.value)
      if (t === undefined) throw new StatementError(`invalid operation: time and *influxql.StringLiteral are not compatible`)
      return t
    }

    case 'call':
      if (e.name === 'now' && e.args.length === 0) return now
      break
    case 'binary':
      if (e.op === '+') return timeValue(e.lhs, now) + timeValue(e.rhs, now)
      if (e.op === '-') return timeValue(e.lhs, now) - timeValue(e.rhs, now)
      break
    default:
  }

  throw new StatementError(`invalid time expression: ${exprString(e)}`)
}

function parseTimeString(s: string): number | undefined {
  // RFC3339 with any fraction, or `2006-01-02 15:04:05.999999999`, or a date
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(s.trim())
  if (!m) return undefined
  const frac = m[3] ? Number(`0${m[3]}`) * 1000 : 0
  const base = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}${m[4] ?? 'Z'}`)
  return Number.isNaN(base) ? undefined : base + frac
}

function isTimeRef(e: Expr): boolean {
  e = unparen(e)
  return e.kind === 'ref' && e.name.toLowerCase() === 'time'
}

function mentionsTime(e: Expr): boolean {
  e = unparen(e)
  if (isTimeRef(e)) return true
  return e.kind === 'binary' ? mentionsTime(e.lhs) || mentionsTime(e.rhs) : false
}

const FLIP: Record<string, string> = {'<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=', '!=': '!='}

/** Splits the time bounds off a condition (AND-ed at the top); the rest filters tags and fields. */
export function splitTime(cond: Expr | undefined, now: number): {range: TimeRange; rest?: Expr} {
  const range: TimeRange = {}
  const walk = (e: Expr): Expr | undefined => {
    const u = unparen(e)
    if (u.kind === 'binary' && (u.op === 'AND' || u.op === 'OR')) {
      // InfluxDB takes time bounds out of the condition wherever they are, under OR too, and
      // keeps the rest
      const l = walk(u.lhs)
      const r = walk(u.rhs)
      if (l && r) return {kind: 'binary', op: u.op, lhs: l, rhs: r}
      return l ?? r
    }

    if (u.kind === 'binary' && FLIP[u.op] && (isTimeRef(u.lhs) || isTimeRef(u.rhs))) {
      const op = isTimeRef(u.lhs) ? u.op : FLIP[u.op]
      const t = timeValue(isTimeRef(u.lhs) ? u.rhs : u.lhs, now)
      const lo = (v: number) => (range.min = range.min === undefined ? v : Math.max(range.min, v))
      const hi = (v: number) => (range.max = range.max === undefined ? v : Math.min(range.max, v))
      switch (op) {
        case '>':
          lo(Math.floor(t) + 1)
          break
        case '>=':
          lo(Math.ceil(t))
          break
        case '<':
          hi(Math.ceil(t) - 1)
          break
        case '<=':
          hi(Math.floor(t))
          break
        case '=':
          lo(Math.ceil(t))
          hi(Math.floor(t))
          break
        default:
          throw new StatementError('invalid time comparison operator: !=')
      }

      return undefined
    }

    if (mentionsTime(u)) throw new StatementError(`invalid time condition: ${exprString(u)}`)

    return e
  }

  const rest = cond ? walk(cond) : undefined
  return {range, rest}
}

// ---------------------------------------------------------------------------------------------
// conditions on tags and fields

const regexCache = new Map<string, LinearRegex>()

function influxRegex(source: string): LinearRegex {
  let re = regexCache.get(source)
  if (!re) {
    try {
      re = compileLinearRegex(source)
    } catch {
      throw new StatementError(`error parsing regexp: invalid regular expression /${source}/`)
    }

    if (regexCache.size > 1000) regexCache.clear()
    regexCache.set(source, re)
  }

  return re
}

type Lookup = (name: string, type?: 'tag' | 'field') => Val

function evalValue(e: Expr, get: Lookup): Val {
  switch (e.kind) {
    case 'paren':
      return evalValue(e.expr, get)
    case 'ref':
      return get(e.name, e.type)
    case 'number':
      return e.value
    case 'string':
      return e.value
    case 'bool':
      return e.value
    case 'duration':
      return e.ms
    case 'binary':
      return evalBinary(e.op, e.lhs, e.rhs, get)
    case 'call':
      if (MATH.has(e.name)) return mathCall(e.name, e.args.map((a) => evalValue(a, get)))
      throw new StatementError(`unsupported call in condition: ${e.name}()`)
    default:
      return null
  }
}

function evalBinary(op: string, l: Expr, r: Expr, get: Lookup): Val {
  if (op === 'AND') return evalValue(l, get) === true && evalValue(r, get) === true
  if (op === 'OR') return evalValue(l, get) === true || evalValue(r, get) === true
  const a = evalValue(l, get)
  if (op === '=~' || op === '!~') {
    const ru = unparen(r)
    if (ru.kind !== 'regex' || typeof a !== 'string') return false
    const m = influxRegex(ru.source).test(a)
    return op === '=~' ? m : !m
  }

  const b = evalValue(r, get)
  return binaryValues(op, a, b)
}

function binaryValues(op: string, a: Val, b: Val): Val {
  if (a === null || b === null) return op === '=' || op === '!=' || op === '<' || op === '>' || op === '<=' || op === '>=' ? false : null
  switch (op) {
    case '=':
      return a === b
    case '!=':
      return a !== b
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (typeof a !== typeof b || typeof a === 'boolean') return false
      const c = a < b ? -1 : a > b ? 1 : 0
      return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0
    }

    default:
  }

  if (typeof a !== 'number' || typeof b !== 'number') return null
  switch (op) {
    case '+':
      return a + b
    case '-':
      return a - b
    case '*':
      return a * b
    case '/':
      return b === 0 ? 0 : a / b
    case '%':
      // Go's math.Mod(x, 0) is NaN: null in the JSON
      return b === 0 ? null : a % b
    case '&':
      return Number(BigInt(Math.trunc(a)) & BigInt(Math.trunc(b)))
    case '|':
      return Number(BigInt(Math.trunc(a)) | BigInt(Math.trunc(b)))
    case '^':
      return Number(BigInt(Math.trunc(a)) ^ BigInt(Math.trunc(b)))
    default:
      return null
  }
}

function mathCall(name: string, args: Val[]): Val {
  const x = args[0]
  if (typeof x !== 'number') return null
  const y = typeof args[1] === 'number' ? args[1] : Number.NaN
  let v: number
  switch (name) {
    case 'abs':
      v = Math.abs(x)
      break
    case 'ceil':
      v = Math.ceil(x)
      break
    case 'floor':
      v = Math.floor(x)
      break
    case 'round':
      // Go's math.Round: half away from zero
      v = Math.sign(x) * Math.round(Math.abs(x))
      break
    case 'sqrt':
      v = Math.sqrt(x)
      break
    case 'ln':
      v = Math.log(x)
      break
    case 'log2':
      v = Math.log2(x)
      break
    case 'log10':
      v = Math.log10(x)
      break
    case 'log':
      v = Math.log(x) / Math.log(y)
      break
    case 'exp':
      v = Math.exp(x)
      break
    case 'pow':
      v = x ** y
      break
    case 'sin':
      v = Math.sin(x)
      break
    case 'cos':
      v = Math.cos(x)
      break
    case 'tan':
      v = Math.tan(x)
      break
    case 'asin':
      v = Math.asin(x)
      break
    case 'acos':
      v = Math.acos(x)
      break
    case 'atan':
      v = Math.atan(x)
      break
    case 'atan2':
      v = Math.atan2(x, y)
      break
    default:
      return null
  }

  return Number.isFinite(v) ? v : null
}

/** The tag matchers the condition implies exactly (AND-ed simple tag comparisons); the store may use them to read less. */
export function impliedMatchers(cond: Expr | undefined, isTag: (name: string) => boolean): {matchers: Matcher[]; exact: boolean} {
  const matchers: Matcher[] = []
  let exact = true
  const walk = (e: Expr | undefined) => {
    if (!e) return
    const u = unparen(e)
    if (u.kind === 'binary' && u.op === 'AND') {
      walk(u.lhs)
      walk(u.rhs)
      return
    }

    if (u.kind === 'binary' && ['=', '!=', '=~', '!~'].includes(u.op)) {
      const l = unparen(u.lhs)
      const r = unparen(u.rhs)
      if (l.kind === 'ref' && l.type !== 'field' && isTag(l.name)) {
        if ((u.op === '=' || u.op === '!=') && r.kind === 'string') {
          matchers.push({name: l.name, op: u.op, value: r.value})
          return
        }

        if ((u.op === '=~' || u.op === '!~') && r.kind === 'regex') {
          // InfluxDB's regexes match anywhere in the value; mon's matchers are anchored
          matchers.push({name: l.name, op: u.op, value: `(?s:.*)(?:${r.source})(?s:.*)`})
          return
        }
      }
    }

    exact = false
  }

  walk(cond)
  return {matchers, exact}
}

function refsOf(e: Expr, out: Array<{name: string; type?: 'tag' | 'field'}>): void {
  switch (e.kind) {
    case 'ref':
      out.push({name: e.name, type: e.type})
      return
    case 'paren':
      refsOf(e.expr, out)
      return
    case 'binary':
      refsOf(e.lhs, out)
      refsOf(e.rhs, out)
      return
    case 'call':
      for (const a of e.args) refsOf(a, out)
      return
    default:
  }
}

// ---------------------------------------------------------------------------------------------
// validation and column names

interface Analysis {
  aggregate: boolean
  calls: Array<Extract<Expr, {kind: 'call'}>>
  hasTransform: boolean
  /** buckets of look-back the transformations need */
  lookback: number
  /** one selector with raw fields or tags beside it: those are read from the selected point */
  auxiliary: boolean
  /** top(), bottom() or distinct(): several rows per bucket */
  multi?: Extract<Expr, {kind: 'call'}>
}

function analyze(st: SelectStatement): Analysis {
  const calls: Analysis['calls'] = []
  let hasTransform = false
  let lookback = 0
  let aggregate = false
  let multi: Extract<Expr, {kind: 'call'}> | undefined
  let rawRef = false
  const visit = (e: Expr, inCall: boolean) => {
    switch (e.kind) {
      case 'paren':
        visit(e.expr, inCall)
        return
      case 'binary':
        visit(e.lhs, inCall)
        visit(e.rhs, inCall)
        return
      case 'ref':
      case 'wildcard':
        if (!inCall) rawRef = true
        return
      case 'call': {
        const name = e.name
        if (AGGREGATES.has(name)) {
          aggregate = true
          calls.push(e)
          if (name === 'integral') {
            if (e.args.length < 1 || e.args.length > 2) throw new StatementError(`invalid number of arguments for integral, expected at least 1 but no more than 2, got ${e.args.length}`)
            if (e.args[1] && unparen(e.args[1]).kind !== 'duration') throw new StatementError('second argument must be a duration')
          } else {
            const want = name === 'percentile' ? 2 : 1
            if (e.args.length !== want) throw new StatementError(`invalid number of arguments for ${name}, expected ${want}, got ${e.args.length}`)
          }

          const arg = unparen(e.args[0])
          // count(distinct(f)): the number of distinct values
          const countDistinct = name === 'count' && arg.kind === 'call' && arg.name === 'distinct' && arg.args.length === 1 && unparen(arg.args[0]).kind === 'ref'
          if (arg.kind !== 'ref' && !countDistinct) throw new StatementError(`expected field argument in ${name}()`)

          if (name === 'percentile') {
            const p = unparen(e.args[1])
            if (p.kind !== 'number') throw new StatementError(`expected float argument in percentile()`)
          }

          return
        }

        if (MULTI_ROW.has(name)) {
          aggregate = true
          calls.push(e)
          multi = e
          const arg = unparen(e.args[0] ?? {kind: 'bool', value: false})
          if (name === 'distinct') {
            if (e.args.length !== 1) throw new StatementError(`distinct function can only have one argument`)
            if (arg.kind !== 'ref') throw new StatementError('expected field argument in distinct()')
            return
          }

          if (e.args.length < 2) throw new StatementError(`invalid number of arguments for ${name}, expected at least 2, got ${e.args.length}`)
          if (arg.kind !== 'ref') throw new StatementError(`expected first argument to be a field in ${name}(), found ${exprString(arg)}`)
          const n = unparen(e.args[e.args.length - 1])
          if (n.kind !== 'number' || !n.integer) throw new StatementError(`expected integer as last argument in ${name}(), found ${exprString(n)}`)
          if (n.value <= 0) throw new StatementError(`limit (${n.value}) in ${name} function must be at least 1`)
          for (const t of e.args.slice(1, -1)) if (unparen(t).kind !== 'ref') throw new StatementError(`only fields or tags are allowed in ${name}(), found ${exprString(t)}`)
          return
        }

        if (TRANSFORMS.has(name)) {
          hasTransform = true
          calls.push(e)
          const [min, max] = name === 'moving_average' ? [2, 2] : name === 'cumulative_sum' ? [1, 1] : name.endsWith('derivative') || name === 'elapsed' ? [1, 2] : [1, 1]
          if (e.args.length < min || e.args.length > max) {
            throw new StatementError(
              min === max ? `invalid number of arguments for ${name}, expected ${min}, got ${e.args.length}` : `invalid number of arguments for ${name}, expected at least ${min} but no more than ${max}, got ${e.args.length}`,
            )
          }

          if (name === 'moving_average') {
            const n = unparen(e.args[1])
            if (n.kind !== 'number' || !n.integer) throw new StatementError('second argument for moving_average must be an integer')
            if (n.value <= 1) throw new StatementError(`moving_average window must be greater than 1, got ${n.value}`)
            lookback = Math.max(lookback, 1)
          } else if (name !== 'cumulative_sum') {
            lookback = Math.max(lookback, 1)
          }

          if ((name.endsWith('derivative') || name === 'elapsed') && e.args[1] && unparen(e.args[1]).kind !== 'duration') throw new StatementError(`second argument to ${name} must be a duration, got ${unparen(e.args[1]).kind === 'number' ? '*influxql.IntegerLiteral' : 'expression'}`)
          const inner = unparen(e.args[0])
          if (st.groupByTime) {
            if (inner.kind !== 'call' || !(AGGREGATES.has(inner.name) || TRANSFORMS.has(inner.name))) throw new StatementError(`aggregate function required inside the call to ${name}`)
            visit(inner, true)
          } else if (inner.kind === 'call') {
            if (AGGREGATES.has(inner.name)) throw new StatementError(`${name} aggregate requires a GROUP BY interval`)
            visit(inner, true)
          } else if (inner.kind !== 'ref') {
            throw new StatementError(`expected field argument in ${name}()`)
          }

          return
        }

        if (MATH.has(name)) {
          for (const a of e.args) visit(a, inCall)
          return
        }

        if (name === 'now') return
        if (NOT_SUPPORTED.has(name)) throw new StatementError(`${name}() is not supported by mon (see docs/influxql.md)`)
        throw new StatementError(`undefined function ${name}()`)
      }

      default:
    }
  }

  for (const f of st.fields) visit(f.expr, false)
  if (multi?.name === 'distinct' && (calls.length > 1 || rawRef)) throw new StatementError('aggregate function distinct() cannot be combined with other functions or fields')
  if (multi && calls.length > 1) throw new StatementError(`selector function ${multi.name}() cannot be combined with other functions`)
  const auxiliary = aggregate && rawRef && calls.length === 1 && (SELECTORS.has(calls[0].name) || calls[0] === multi)
  if (aggregate && rawRef && !auxiliary) throw new StatementError('mixing aggregate and non-aggregate queries is not supported')
  if (st.groupByTime && !aggregate) throw new StatementError('GROUP BY requires at least one aggregate function')
  if (hasTransform && aggregate && !st.groupByTime) throw new StatementError(`${calls.find((c) => TRANSFORMS.has(c.name))!.name} aggregate requires a GROUP BY interval`)
  return {aggregate, calls, hasTransform, lookback, auxiliary, multi}
}

/** Column names as InfluxDB derives them: the alias, the call's name, field names joined by `_`; repeats get `_1`, `_2`. */
export function columnNames(fields: SelectStatement['fields'], expanded?: string[]): string[] {
  const base = expanded ?? fields.map((f) => f.alias ?? exprName(f.expr))
  const seen = new Map<string, number>([['time', 1]])
  return base.map((name) => {
    const n = seen.get(name)
    if (n === undefined) {
      seen.set(name, 1)
      return name
    }

    for (let i = n; ; i++) {
      const candidate = `${name}_${i}`
      if (!seen.has(candidate)) {
        seen.set(name, i + 1)
        seen.set(candidate, 1)
        return candidate
      }
    }
  })
}

function exprName(e: Expr): string {
  const names: string[] = []
  const walk = (x: Expr) => {
    switch (x.kind) {
      case 'paren':
        walk(x.expr)
        return
      case 'ref':
        names.push(x.name)
        return
      case 'call':
        names.push(x.name)
        return
      case 'binary':
        walk(x.lhs)
        walk(x.rhs)
        return
      case 'wildcard':
        names.push('*')
        return
      default:
    }
  }

  walk(e)
  return names.join('_')
}

// ---------------------------------------------------------------------------------------------
// reading

interface MeasurementInfo {
  name: string
  tagKeys: Set<string>
  fields: Map<string, FieldType>
}

async function measurementInfo(store: StoreCatalog, name: string): Promise<MeasurementInfo> {
  const [tags, fields] = await Promise.all([store.tagKeys(name), store.fieldKeys(name)])
  return {name, tagKeys: new Set(tags), fields: new Map(fields.map((f) => [f.name, f.type]))}
}

function seriesKey(tags: Tags): string {
  return JSON.stringify(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** Raw frames of several fields of one measurement joined into series (points aligned by time). */
function joinFrames(name: string, perField: Array<{field: string; frames: Frame[]}>): PointSeries[] {
  const bySeries = new Map<string, {tags: Tags; cols: Array<{field: string; rows: Frame['rows']}>}>()
  for (const {field, frames} of perField) {
    for (const f of frames) {
      const key = seriesKey(f.tags)
      let s = bySeries.get(key)
      if (!s) {
        s = {tags: f.tags, cols: []}
        bySeries.set(key, s)
      }

      s.cols.push({field, rows: f.rows})
    }
  }

  const out: PointSeries[] = []
  for (const s of bySeries.values()) {
    const first = s.cols[0].rows
    // fields written together (Telegraf's way) share their timestamps: no join needed
    const aligned = s.cols.every((c) => c.rows.length === first.length && c.rows.every((r, i) => r[0] === first[i][0]))
    if (aligned) {
      out.push({name, tags: s.tags, ts: first.map((r) => r[0] as number), fields: new Map(s.cols.map((c) => [c.field, c.rows.map((r) => r[1] as Val)]))})
      continue
    }

    const times = new Set<number>()
    for (const c of s.cols) for (const r of c.rows) times.add(r[0] as number)
    const ts = [...times].sort((x, y) => x - y)
    const fields = new Map<string, Val[]>()
    for (const c of s.cols) {
      const byTime = new Map(c.rows.map((r) => [r[0] as number, r[1] as Val]))
      fields.set(c.field, ts.map((t) => byTime.get(t) ?? null))
    }

    out.push({name, tags: s.tags, ts, fields})
  }

  return out
}

// ---------------------------------------------------------------------------------------------
// the statement

interface Plan {
  st: SelectStatement
  an: Analysis
  range: TimeRange
  rest?: Expr
  /** the GROUP BY time interval (ms) and the offset of its buckets (tz included), 0 ≤ offset < every */
  every?: number
  offset: number
  /**
   * tz('…') whose UTC offset changes within the range (DST): buckets follow InfluxDB's windows in
   * that zone instead of a fixed offset, and nothing is pushed down
   */
  zone?: string
  /** the GROUP BY offset as written (with {@link zone}) */
  groupOffset?: number
  /** where reads start without a lower time bound (0 unless the store's old data is rolled up) */
  readFloor?: number
  /** `SELECT *`: the fields and tags of every measurement the statement reads */
  wildcard?: {fields: Set<string>; tags: Set<string>}
}

/** Runs a SELECT; `outerRange`: a subquery inherits its outer statement's time range where it has none. */
export async function runSelect(statement: SelectStatement, ctx: EvalContext, outerRange?: TimeRange): Promise<ResultSeries[]> {
  if (statement.into) throw new StatementError('SELECT ... INTO is not supported by mon (it only reads)')
  const st = await expandWildcardCalls(statement, ctx)
  const an = analyze(st)
  // InfluxDB extends the range back for transformations of the statement it was sent, not of a subquery
  if (outerRange) an.lookback = 0
  const {range, rest} = splitTime(st.condition, ctx.now)
  if (outerRange) {
    if (range.min === undefined) range.min = outerRange.min
    if (range.max === undefined) range.max = outerRange.max
  }

  if (st.groupByTime && Number.isNaN(st.groupByTime.offset)) st.groupByTime.offset = ((ctx.now % st.groupByTime.every) + st.groupByTime.every) % st.groupByTime.every
  const every = st.groupByTime?.every
  // tz('…'): buckets start at local time boundaries — a fixed shift while the zone's offset stays
  // the same over the range, InfluxDB's window walk when it changes (DST)
  const tzShift = st.tz ? -zoneOffsetMs(st.tz, range.min ?? ctx.now) : 0
  const offset = every ? (((st.groupByTime!.offset + tzShift) % every) + every) % every : 0
  const plan: Plan = {st, an, range, rest, every, offset}
  if (st.tz && every && !zoneOffsetConstant(st.tz, (range.min ?? ctx.now - 366 * 86_400_000) - every * (an.lookback + 1), range.max ?? ctx.now)) {
    plan.zone = st.tz
    plan.groupOffset = st.groupByTime!.offset
    ctx = {...ctx, pushdown: false}
  }

  if (!an.aggregate && st.fields.some((f) => unparen(f.expr).kind === 'wildcard')) {
    // SELECT * over several measurements: one set of columns, the union of theirs
    plan.wildcard = {fields: new Set(), tags: new Set()}
    for (const source of st.sources) {
      if (source.kind !== 'measurement') continue
      for (const name of await resolveMeasurements(source, ctx)) {
        const info = await measurementInfo(ctx.store, name)
        for (const f of info.fields.keys()) plan.wildcard.fields.add(f)
        for (const t of info.tagKeys) plan.wildcard.tags.add(t)
      }
    }
  }

  const out: ResultSeries[] = []
  const times = new Map<string, number>()
  for (const source of st.sources) {
    if (source.kind === 'subquery') {
      const inner = await runSelect(source.statement, ctx, range)
      const series: PointSeries[] = inner.map((s) => ({
        name: s.name,
        tags: s.tags ?? {},
        ts: s.rows.map((r) => r[0] as number),
        fields: new Map(s.columns.slice(1).map((c, i) => [c, s.rows.map((r) => r[i + 1])])),
      }))
      const byName = new Map<string, PointSeries[]>()
      for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s])
      for (const [name, group] of byName) {
        const fields = new Map<string, FieldType>()
        for (const s of group) for (const [f, vals] of s.fields) if (!fields.has(f)) fields.set(f, vals.some((v) => typeof v === 'string') ? 'string' : 'float')
        const tagKeys = new Set(group.flatMap((s) => Object.keys(s.tags)))
        out.push(...evaluate(plan, {name, tagKeys, fields}, filterSeries(group, plan, {name, tagKeys, fields}), ctx))
      }

      continue
    }

    for (const name of await resolveMeasurements(source, ctx)) times.set(name, (times.get(name) ?? 0) + 1)
  }

  // a measurement named twice (`FROM cpu, /c.*/`) is read twice into one series, as InfluxDB does
  for (const [name, n] of times) {
    const info = await measurementInfo(ctx.store, name)
    checkFieldTypes(an, info)
    const read = () => readMeasurement(plan, info, n > 1 ? {...ctx, pushdown: false} : ctx)
    let series: Awaited<ReturnType<typeof read>>
    try {
      series = await read()
    } catch (error) {
      // no lower time bound on a store whose oldest data only rollups hold (`no retention tier holds
      // data from 1970…`): read from its oldest raw point instead, as far as it keeps points
      if (range.min !== undefined || plan.readFloor !== undefined || !(error instanceof InputError)) throw error
      const oldest = (await ctx.store.info()).oldest
      if (oldest === undefined) throw error
      plan.readFloor = oldest
      series = await read()
    }

    if (!(series instanceof Array)) {
      out.push(...series.result)
      continue
    }

    out.push(...evaluate(plan, info, n > 1 ? Array.from({length: n}, () => series).flat() : series, ctx))
  }

  if (st.tz) for (const s of out) s.tz = st.tz
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareTags(a.tags, b.tags)))
  // ORDER BY time DESC walks the series backwards too
  let series = st.descending ? out.reverse() : out
  if (st.soffset > 0) series = series.slice(st.soffset)
  if (st.slimit > 0) series = series.slice(0, st.slimit)
  return series
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>()
/** offsets by zone and quarter hour (zones change offset on quarter hours at the finest) */
const zoneOffsets = new Map<string, number>()

/** The UTC offset (ms) of an IANA zone at `t`; an unknown zone is InfluxDB's error. */
export function zoneOffsetMs(zone: string, t: number): number {
  const key = `${zone}\u0000${Math.floor(t / 900_000)}`
  const known = zoneOffsets.get(key)
  if (known !== undefined) return known
  let format = zoneFormats.get(zone)
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {timeZone: zone, timeZoneName: 'longOffset'})
    } catch {
      throw new StatementError(`unable to find time zone ${zone}`)
    }

    if (zoneFormats.size > 100) zoneFormats.clear()
    zoneFormats.set(zone, format)
  }

  const name = format.formatToParts(new Date(t)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT'
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name)
  const offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3_600_000 + Number(m[3]) * 60_000) : 0
  if (zoneOffsets.size > 100_000) zoneOffsets.clear()
  zoneOffsets.set(key, offset)
  return offset
}

function compareTags(a: Tags | undefined, b: Tags | undefined): number {
  const ka = seriesKey(a ?? {})
  const kb = seriesKey(b ?? {})
  return ka < kb ? -1 : ka > kb ? 1 : 0
}

/**
 * `count(*)`, `mean(*)`…: one column per field of the measurements read (`count_<field>`), numeric
 * fields only where the function needs numbers, as InfluxDB expands them.
 */
async function expandWildcardCalls(st: SelectStatement, ctx: EvalContext): Promise<SelectStatement> {
  const isWildcardCall = (e: Expr) => {
    const u = unparen(e)
    return u.kind === 'call' && AGGREGATES.has(u.name) && u.args.length >= 1 && unparen(u.args[0]).kind === 'wildcard'
  }

  if (!st.fields.some((f) => isWildcardCall(f.expr))) return st
  const fields = new Map<string, FieldType>()
  for (const source of st.sources) {
    if (source.kind !== 'measurement') throw new StatementError('aggregates of * over a subquery are not supported by mon (see docs/influxql.md)')
    for (const name of await resolveMeasurements(source, ctx)) {
      for (const f of await ctx.store.fieldKeys(name)) if (!fields.has(f.name)) fields.set(f.name, f.type)
    }
  }

  const names = [...fields.keys()].sort()
  const expanded: SelectStatement['fields'] = []
  for (const f of st.fields) {
    if (!isWildcardCall(f.expr)) {
      expanded.push(f)
      continue
    }

    const call = unparen(f.expr) as Extract<Expr, {kind: 'call'}>
    for (const name of names) {
      const type = fields.get(name)
      if (NUMERIC_ONLY.has(call.name) && (type === 'string' || type === 'boolean')) continue
      expanded.push({expr: {...call, args: [{kind: 'ref', name, type: 'field'}, ...call.args.slice(1)]}, alias: `${f.alias ?? call.name}_${name}`})
    }
  }

  return {...st, fields: expanded}
}

/** The measurements a FROM source names; unknown names read nothing (InfluxDB answers an empty result). */
async function resolveMeasurements(source: Extract<Source, {kind: 'measurement'}>, ctx: EvalContext): Promise<string[]> {
  const db = source.database ?? ctx.db
  if (!db) throw new StatementError('database name required')
  if (!ctx.databases.includes(db)) throw new StatementError(`database not found: ${db}`)
  if (source.retentionPolicy && source.retentionPolicy !== ctx.retentionPolicy) throw new StatementError(`retention policy not found: ${source.retentionPolicy}`)
  const all = await ctx.store.measurements()
  if (source.regex !== undefined) {
    const re = influxRegex(source.regex)
    return all.filter((m) => re.test(m)).sort()
  }

  return all.includes(source.name!) ? [source.name!] : []
}

/** Aggregations InfluxDB has no iterator for on strings or booleans: its error, before anything is read. */
const NUMERIC_ONLY = new Set(['mean', 'sum', 'median', 'spread', 'stddev', 'percentile', 'min', 'max'])

function checkFieldTypes(an: Analysis, info: MeasurementInfo): void {
  for (const c of an.calls) {
    if (!NUMERIC_ONLY.has(c.name)) continue
    const arg = unparen(c.args[0])
    if (arg.kind !== 'ref' || isTagOf(info, arg.name, arg.type)) continue
    const type = info.fields.get(arg.name)
    if (type === 'string') throw new StatementError(`unsupported ${c.name} iterator type: *query.stringInterruptIterator`)
    if (type === 'boolean' && !(c.name === 'min' || c.name === 'max')) throw new StatementError(`unsupported ${c.name} iterator type: *query.booleanInterruptIterator`)
  }
}

/** Whether a name in the statement is a tag of the measurement (an explicit `::tag`/`::field` decides). */
function isTagOf(info: MeasurementInfo, name: string, type?: 'tag' | 'field'): boolean {
  if (type) return type === 'tag'
  // a name that is no field is a tag, present or not ('' where a series lacks it)
  return !info.fields.has(name)
}

function groupTagKeys(st: SelectStatement, info: MeasurementInfo): string[] {
  if (st.groupByWildcard) return [...info.tagKeys].sort()
  const keys = new Set(st.groupByTags.filter((k) => k.toLowerCase() !== 'time'))
  if (st.groupByRegex !== undefined) {
    const re = influxRegex(st.groupByRegex)
    for (const k of info.tagKeys) if (re.test(k)) keys.add(k)
  }

  return [...keys].sort()
}

/** Reads the points the statement needs from one measurement, or answers it with pushed-down aggregations. */
async function readMeasurement(plan: Plan, info: MeasurementInfo, ctx: EvalContext): Promise<PointSeries[] | {result: ResultSeries[]}> {
  const {st, an, range, rest} = plan
  const needed = new Set<string>()
  const refs: Array<{name: string; type?: 'tag' | 'field'}> = []
  for (const f of st.fields) {
    if (unparen(f.expr).kind === 'wildcard') for (const k of info.fields.keys()) needed.add(k)
    refsOf(f.expr, refs)
  }

  if (rest) refsOf(rest, refs)
  for (const r of refs) if (!isTagOf(info, r.name, r.type) && info.fields.has(r.name)) needed.add(r.name)
  if (needed.size === 0) return []

  const {matchers, exact} = impliedMatchers(rest, (n) => info.tagKeys.has(n))
  const start = readStart(plan)
  const end = range.max !== undefined ? range.max + 1 : st.groupByTime ? ctx.now + 1 : MAX_TIME

  if (ctx.pushdown && exact && an.aggregate && canPushDown(st, an)) {
    try {
      return {result: await pushedDown(plan, info, ctx, matchers, start, end)}
    } catch (error) {
      // a store that only answers raw reads (VictoriaMetrics), or rollups that cannot take the offset
      if (!(error instanceof UnalignedBucketsError)) throw error
    }
  }

  // ORDER BY time DESC LIMIT n of raw points: the newest n + offset points of each series are enough
  const newest = !an.aggregate && !an.hasTransform && st.descending && st.limit > 0 && exact ? st.limit + st.offset : undefined
  const perField = await Promise.all(
    [...needed].map(async (field) => {
      const q: QueryPlan = {measurement: info.name, field, matchers, start, end, ...(newest ? {limit: newest} : {})}
      ctx.observe?.(q)
      return {field, frames: await readRaw(ctx, q, info)}
    }),
  )
  return filterSeries(joinFrames(info.name, perField), plan, info)
}

/**
 * Where reads start: the range start, or with transformations over buckets as many buckets before
 * the first shown one as they look back (InfluxDB moves the start there, so the first shown bucket
 * then holds all of its points).
 */
/**
 * A raw read; where the embedded store's retention has left only rollups for part of the range,
 * each rollup bucket's mean stands in for the points of that bucket, at the bucket's start
 * (docs/influxql.md). Pushed-down aggregations are answered by the rollups directly.
 */
async function readRaw(ctx: EvalContext, q: QueryPlan, info: MeasurementInfo): Promise<Frame[]> {
  try {
    return await ctx.store.query(q)
  } catch (error) {
    if (!(error instanceof RawDataGoneError) || error.resolution === undefined) throw error
    const by = [...info.tagKeys].sort()
    const plan: QueryPlan = {...q, every: error.resolution, aggregate: {fn: 'mean', by}}
    ctx.observe?.(plan)
    const frames = await ctx.store.query(plan)
    // the series' own tags: rollup groups name every key, '' where a series has none
    return frames.map((f) => ({...f, tags: Object.fromEntries(Object.entries(f.tags).filter(([, v]) => v !== ''))}))
  }
}

function readStart(plan: Plan): number {
  const {range, every, an} = plan
  if (range.min === undefined) return plan.readFloor ?? 0
  if (!every || an.lookback === 0) return range.min
  // InfluxDB moves the range's start back by the interval (not to a bucket edge): the look-back
  // bucket holds only the points after that
  return range.min - an.lookback * every
}

/** The start of the bucket holding `t`: the epoch-aligned one, or InfluxDB's window in {@link Plan.zone}. */
function windowStart(plan: Plan, t: number): number {
  const every = plan.every!
  if (!plan.zone) return bucketStart(t, every, plan.offset)
  // influxdb query/iterator.go IteratorOptions.Window, in ms
  const groupOffset = plan.groupOffset ?? 0
  const t0 = t - groupOffset
  const zone = zoneOffsetMs(plan.zone, t0)
  const dt = (((t0 + zone) % every) + every) % every
  let start = t0 - dt
  const o = zone - zoneOffsetMs(plan.zone, start)
  if (o !== 0 && Math.abs(o) < every) start += o
  return start + groupOffset
}

/** The end of InfluxDB's window holding `t` in {@link Plan.zone} (IteratorOptions.Window's end). */
function windowEnd(plan: Plan, t: number): number {
  const every = plan.every!
  const zone = plan.zone!
  const groupOffset = plan.groupOffset ?? 0
  const t0 = t - groupOffset
  const z = zoneOffsetMs(zone, t0)
  const dt = (((t0 + z) % every) + every) % every
  let end = t0 + (every - dt)
  const endOffset = zoneOffsetMs(zone, end)
  const o = z - endOffset
  if (o !== 0 && Math.abs(o) < every) {
    if (o > 0) end += o
    else if (zoneOffsetMs(zone, end + o) === endOffset) end += o
  }

  return end + groupOffset
}

/** Whether a zone keeps one UTC offset over [from, to] (checked every day and at both ends). */
function zoneOffsetConstant(zone: string, from: number, to: number): boolean {
  const first = zoneOffsetMs(zone, from)
  if (zoneOffsetMs(zone, to) !== first) return false
  for (let t = from; t < to; t += 86_400_000) if (zoneOffsetMs(zone, t) !== first) return false
  return true
}

function bucketStart(t: number, every: number, offset: number): number {
  return Math.floor((t - offset) / every) * every + offset
}

/** Applies the non-time condition to series tags and field values (points failing it are dropped). */
function filterSeries(series: PointSeries[], plan: Plan, info: MeasurementInfo): PointSeries[] {
  const {rest, range} = plan
  const out: PointSeries[] = []
  for (const s of series) {
    let keep: number[] | undefined
    const lo = range.min ?? Number.NEGATIVE_INFINITY
    const readLo = range.min !== undefined ? readStart(plan) : lo
    const hi = range.max ?? Number.POSITIVE_INFINITY
    for (let i = 0; i < s.ts.length; i++) {
      const t = s.ts[i]
      let ok = t >= readLo && t <= hi
      if (ok && rest) {
        const get: Lookup = (name, type) => {
          if (isTagOf(info, name, type)) return s.tags[name] ?? ''
          return s.fields.get(name)?.[i] ?? null
        }

        ok = evalValue(rest, get) === true
      }

      if (!ok) {
        keep ??= Array.from({length: i}, (_, j) => j)
      } else if (keep) {
        keep.push(i)
      }
    }

    if (!keep) {
      if (s.ts.length > 0) out.push(s)
      continue
    }

    if (keep.length === 0) continue
    const idx = keep
    out.push({name: s.name, tags: s.tags, ts: idx.map((i) => s.ts[i]), fields: new Map([...s.fields].map(([f, v]) => [f, idx.map((i) => v[i])]))})
  }

  return out
}

// ---------------------------------------------------------------------------------------------
// evaluation

interface Group {
  tags: Tags
  series: PointSeries[]
}

function groupSeries(series: PointSeries[], keys: string[]): Group[] {
  const groups = new Map<string, Group>()
  for (const s of series) {
    const tags: Tags = {}
    for (const k of keys) tags[k] = s.tags[k] ?? ''
    const key = keys.map((k) => tags[k]).join('\u0000')
    let g = groups.get(key)
    if (!g) {
      g = {tags, series: []}
      groups.set(key, g)
    }

    g.series.push(s)
  }

  return [...groups.values()].sort((a, b) => compareTags(a.tags, b.tags))
}

function evaluate(plan: Plan, info: MeasurementInfo, series: PointSeries[], ctx: EvalContext): ResultSeries[] {
  const keys = groupTagKeys(plan.st, info)
  const groups = groupSeries(
    series.sort((a, b) => compareTags(a.tags, b.tags)),
    keys,
  )
  if (groups.length === 0) return []
  const out: ResultSeries[] = []
  let dataMin = Number.POSITIVE_INFINITY
  for (const s of series) if (s.ts.length > 0 && s.ts[0] < dataMin) dataMin = s.ts[0]
  for (const g of groups) {
    const r = plan.an.aggregate || plan.an.hasTransform ? aggregateGroup(plan, info, g, dataMin, ctx) : rawGroup(plan, info, g)
    if (!r || r.rows.length === 0) continue
    out.push({name: info.name, tags: keys.length > 0 || plan.st.groupByWildcard ? g.tags : undefined, columns: r.columns, rows: finishRows(plan.st, r.rows)})
  }

  return out
}

function finishRows(st: SelectStatement, rows: Val[][]): Val[][] {
  let out = st.descending ? rows.slice().reverse() : rows
  if (st.offset > 0) out = out.slice(st.offset)
  if (st.limit > 0) out = out.slice(0, st.limit)
  return out
}

/** Raw points: one row per point (series of a group merged by time), values computed per point. */
function rawGroup(plan: Plan, info: MeasurementInfo, g: Group): {columns: string[]; rows: Val[][]} {
  const {st} = plan
  let fields = st.fields
  let names: string[] | undefined
  if (fields.some((f) => unparen(f.expr).kind === 'wildcard')) {
    const groupKeys = new Set(groupTagKeys(st, info))
    const expanded: SelectStatement['fields'] = []
    for (const f of fields) {
      const w = unparen(f.expr)
      if (w.kind !== 'wildcard') {
        expanded.push(f)
        continue
      }

      const names = new Set<string>()
      const all = plan.wildcard ?? {fields: new Set(info.fields.keys()), tags: info.tagKeys}
      if (w.type !== 'tag') for (const k of all.fields) names.add(k)
      if (w.type !== 'field') for (const k of all.tags) if (!groupKeys.has(k)) names.add(k)
      for (const n of [...names].sort()) expanded.push({expr: {kind: 'ref', name: n, type: all.fields.has(n) ? 'field' : 'tag'}})
    }

    fields = expanded
    names = expanded.map((f) => f.alias ?? exprName(f.expr))
  }

  // a statement of tags only selects nothing (InfluxDB: no field in the projection)
  const fieldRefs: Array<{name: string; type?: 'tag' | 'field'}> = []
  for (const f of fields) refsOf(f.expr, fieldRefs)
  if (!fieldRefs.some((r) => !isTagOf(info, r.name, r.type))) return {columns: [], rows: []}

  const columns = ['time', ...columnNames(fields, names)]
  const selectedFields = [...new Set(fieldRefs.filter((r) => !isTagOf(info, r.name, r.type)).map((r) => r.name))]
  const merged: Array<{t: number; s: number; i: number}> = []
  g.series.forEach((s, si) => s.ts.forEach((t, i) => merged.push({t, s: si, i})))
  merged.sort((a, b) => a.t - b.t || a.s - b.s)
  const rows: Val[][] = []
  for (const p of merged) {
    const s = g.series[p.s]
    const get: Lookup = (name, type) => (isTagOf(info, name, type) ? (s.tags[name] ?? null) : (s.fields.get(name)?.[p.i] ?? null))
    // a point is a row when one of the fields the selection names has a value there (a value
    // computed as null, sqrt(-1), still shows)
    if (!selectedFields.some((f) => (s.fields.get(f)?.[p.i] ?? null) !== null)) continue
    const vals = fields.map((f) => finite(evalValue(f.expr, get)))
    rows.push([p.t, ...vals])
  }

  return {columns, rows}
}

function finite(v: Val): Val {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v
}

/** A column of an aggregate statement: (time, value) pairs; `at`: a selector's own point time. */
/** A selected point: its series and index there (auxiliary fields are read from it). */
interface PointRef {
  s: PointSeries
  i: number
}

type Column = Array<{t: number; v: Val; at?: number; filled?: boolean; src?: PointRef}>

interface Buckets {
  /** bucket start times shown, ascending (one, the range start or 0, without GROUP BY time) */
  times: number[]
  /** the look-back buckets before the first shown one */
  lookbackTimes: number[]
  index(t: number): number
}

function bucketsFor(plan: Plan, dataMin: number, ctx: EvalContext, g?: Group): Buckets {
  const {every, offset, range, an} = plan
  if (!every) {
    const t = range.min ?? 0
    return {times: [t], lookbackTimes: [], index: () => 0}
  }

  if (plan.zone) return zoneBuckets(plan, range.min ?? (Number.isFinite(dataMin) ? dataMin : ctx.now), range.max ?? ctx.now, g)
  const first = bucketStart(range.min ?? (Number.isFinite(dataMin) ? dataMin : ctx.now), every, offset)
  const last = bucketStart(range.max ?? ctx.now, every, offset)
  const count = Math.max(0, Math.floor((last - first) / every) + 1)
  // InfluxDB's max-select-buckets, which mon sets (InfluxDB's default is no limit)
  if (count > MAX_BUCKETS) throw new StatementError(`max-select-buckets limit exceeded: (${count}/${MAX_BUCKETS})`)
  const times = Array.from({length: count}, (_, i) => first + i * every)
  const lookbackTimes = Array.from({length: an.lookback}, (_, i) => first - (an.lookback - i) * every)
  const base = first - an.lookback * every
  return {times, lookbackTimes, index: (t) => Math.floor((t - base) / every)}
}

/**
 * Buckets in a zone whose offset changes: InfluxDB's fill walk (start at the first window, add the
 * interval, and where the offset changed just before the new time move by the change when it is
 * smaller than the interval); a point belongs to the bucket its window starts.
 */
function zoneBuckets(plan: Plan, from: number, to: number, g?: Group): Buckets {
  const every = plan.every!
  const zone = plan.zone!
  const first = windowStart(plan, from)
  const end = windowStart(plan, to)
  // the windows the group's points fall in, as InfluxDB's reduce iterator cuts them: the window of
  // the first point not yet in one, [start, end) by IteratorOptions.Window, holds every point before
  // its end (a window spanning a DST change back is an hour longer)
  const all = new Set<number>()
  for (const s of g?.series ?? []) for (const t of s.ts) all.add(t)
  const assigned = new Map<number, number>()
  let windowEndAt = Number.NEGATIVE_INFINITY
  let windowAt = 0
  for (const t of [...all].sort((a, b) => a - b)) {
    if (t >= windowEndAt) {
      windowAt = windowStart(plan, t)
      windowEndAt = windowEnd(plan, t)
    }

    assigned.set(t, windowAt)
  }

  const points = [...new Set([...assigned].filter(([t]) => t >= first && t <= to).map(([, w]) => w))].sort((a, b) => a - b)
  // InfluxDB's fill iterator: each row, a point's window or a filled one, moves the expected time
  // on by the interval (adjusted where the offset changed just before it); a point before the
  // expected time is its row all the same
  const times: number[] = []
  let time = first
  let offset = zoneOffsetMs(zone, time)
  let i = 0
  for (;;) {
    if (times.length >= MAX_BUCKETS) throw new StatementError(`max-select-buckets limit exceeded: (${times.length + 1}/${MAX_BUCKETS})`)
    const p = points[i]
    if (p === undefined && time > end) break
    if (p !== undefined && (p <= time || time > end)) {
      times.push(p)
      i++
    } else {
      times.push(time)
    }

    time += every
    const now = zoneOffsetMs(zone, time - 1)
    if (now !== offset) {
      const diff = offset - now
      if (Math.abs(diff) < every) time += diff
      offset = now
    }
  }

  const lookbackTimes: number[] = []
  let back = first
  for (let k = 0; k < plan.an.lookback; k++) lookbackTimes.unshift((back = windowStart(plan, back - 1)))
  const slot = new Map<number, number>()
  ;[...lookbackTimes, ...times].forEach((t, k) => {
    if (!slot.has(t)) slot.set(t, k)
  })
  return {times, lookbackTimes, index: (t) => slot.get(assigned.get(t) ?? windowStart(plan, t)) ?? -1}
}

function aggregateGroup(plan: Plan, info: MeasurementInfo, g: Group, dataMin: number, ctx: EvalContext): {columns: string[]; rows: Val[][]} | undefined {
  const {st, an} = plan
  const buckets = bucketsFor(plan, dataMin, ctx, g)
  if (an.multi) return multiRowGroup(plan, info, g, buckets, an.multi)
  const columns = ['time', ...columnNames(st.fields)]
  const lone = !st.groupByTime && an.calls.length === 1 && SELECTORS.has(an.calls[0].name)
  let cols: Array<Column | Val>
  if (an.auxiliary) {
    // SELECT max(v), host, other: the tag and field values of the point max() selected
    const selected = aggregateColumn(an.calls[0], plan, info, g, buckets)
    cols = st.fields.map((f) => {
      if (containsCall(f.expr)) return evalAggExpr(f.expr, plan, info, g, buckets)
      return selected.map((p) => ({t: p.t, at: p.at, filled: p.filled, v: p.src ? finite(evalValue(f.expr, pointLookup(info, p.src))) : null}))
    })
  } else {
    cols = st.fields.map((f) => evalAggExpr(f.expr, plan, info, g, buckets))
  }

  if (!hasValues(cols, buckets, plan)) return undefined
  return {columns, rows: joinColumns(cols, plan, buckets, lone)}
}

/**
 * top(f, [tag, …,] n), bottom(…) and distinct(f): per bucket, the n greatest (least) points — one per
 * tag combination when tags are named, the tags then shown as columns — in time order with their own
 * times; or the distinct values in order of first appearance (then value), at the bucket's time.
 * No fill: an empty bucket has no rows.
 */
function multiRowGroup(plan: Plan, info: MeasurementInfo, g: Group, buckets: Buckets, call: Extract<Expr, {kind: 'call'}>): {columns: string[]; rows: Val[][]} | undefined {
  const {st} = plan
  const field = (unparen(call.args[0]) as {name: string}).name
  const tagArgs = call.name === 'distinct' ? [] : call.args.slice(1, -1).map((a) => (unparen(a) as {name: string}).name)
  const n = call.name === 'distinct' ? 0 : (unparen(call.args[call.args.length - 1]) as {value: number}).value
  // the tags named in the call come right after its column, before any other field
  const callField = st.fields.findIndex((f) => mentions(f.expr, call))
  const names = columnNames(st.fields)
  const columns = ['time', ...names.slice(0, callField + 1), ...tagArgs, ...names.slice(callField + 1)]
  const perBucket: Array<Array<{t: number; v: number | string | boolean; src: PointRef}> | undefined> = []
  for (const s of g.series) {
    const vals = s.fields.get(field)
    if (!vals) continue
    for (let i = 0; i < s.ts.length; i++) {
      const v = vals[i]
      if (v === null) continue
      const b = buckets.index(s.ts[i])
      if (b < 0 || b >= buckets.times.length) continue
      ;(perBucket[b] ??= []).push({t: s.ts[i], v, src: {s, i}})
    }
  }

  const rows: Val[][] = []
  const top = call.name === 'top'
  for (let b = 0; b < buckets.times.length; b++) {
    const pts = perBucket[b]
    if (!pts) continue
    if (call.name === 'distinct') {
      const first = new Map<number | string | boolean, number>()
      for (const p of pts) if (!first.has(p.v) || p.t < first.get(p.v)!) first.set(p.v, p.t)
      const values = [...first.entries()].sort((x, y) => x[1] - y[1] || cmpVal(x[0], y[0]))
      for (const [v] of values) rows.push([buckets.times[b], v])
      continue
    }

    // greatest (least) first, the earlier point first among equal values
    const better = (x: {t: number; v: Val}, y: {t: number; v: Val}) => (top ? cmpVal(y.v, x.v) : cmpVal(x.v, y.v)) || x.t - y.t
    let candidates = pts.filter((p) => typeof p.v === 'number')
    if (tagArgs.length > 0) {
      const best = new Map<string, (typeof candidates)[number]>()
      for (const p of candidates) {
        const key = tagArgs.map((k) => p.src.s.tags[k] ?? '').join('\u0000')
        const known = best.get(key)
        if (!known || better(p, known) < 0) best.set(key, p)
      }

      candidates = [...best.values()]
    }

    const chosen = candidates.sort(better).slice(0, n)
    chosen.sort((x, y) => x.t - y.t || (top ? cmpVal(y.v, x.v) : cmpVal(x.v, y.v)))
    for (const p of chosen) {
      const lookup = pointLookup(info, p.src)
      const vals = st.fields.map((f) => finite(evalWithCall(f.expr, call, p.v, lookup)))
      rows.push([p.t, ...vals.slice(0, callField + 1), ...tagArgs.map((k) => p.src.s.tags[k] ?? null), ...vals.slice(callField + 1)])
    }
  }

  return rows.length > 0 ? {columns, rows} : undefined
}

function mentions(e: Expr, target: Expr): boolean {
  if (e === target) return true
  if (e.kind === 'paren') return mentions(e.expr, target)
  if (e.kind === 'binary') return mentions(e.lhs, target) || mentions(e.rhs, target)
  if (e.kind === 'call') return e.args.some((a) => mentions(a, target))
  return false
}

/** A field expression with the multi-row call's value in place of the call. */
function evalWithCall(e: Expr, call: Expr, value: Val, lookup: Lookup): Val {
  if (e === call) return value
  switch (e.kind) {
    case 'paren':
      return evalWithCall(e.expr, call, value, lookup)
    case 'binary':
      return binaryValues(e.op, evalWithCall(e.lhs, call, value, lookup), evalWithCall(e.rhs, call, value, lookup))
    case 'call':
      if (MATH.has(e.name)) return mathCall(e.name, e.args.map((a) => evalWithCall(a, call, value, lookup)))
      return null
    default:
      return evalValue(e, lookup)
  }
}

function containsCall(e: Expr): boolean {
  const u = unparen(e)
  if (u.kind === 'call') return AGGREGATES.has(u.name) || u.args.some(containsCall)
  return u.kind === 'binary' ? containsCall(u.lhs) || containsCall(u.rhs) : false
}

function pointLookup(info: MeasurementInfo, p: PointRef): Lookup {
  return (name, type) => (isTagOf(info, name, type) ? (p.s.tags[name] ?? null) : (p.s.fields.get(name)?.[p.i] ?? null))
}

/** A group is a series of the result when some aggregate gave a value (not fill's) in a shown bucket. */
function hasValues(cols: Array<Column | Val>, buckets: Buckets, plan: Plan): boolean {
  const firstShown = plan.every ? (buckets.times[0] ?? Number.POSITIVE_INFINITY) : Number.NEGATIVE_INFINITY
  return cols.some((c) => Array.isArray(c) && c.some((p) => p.v !== null && !p.filled && p.t >= firstShown))
}

/** The rows of an aggregate statement: the union of the columns' times, shown buckets only. */
function joinColumns(cols: Array<Column | Val>, plan: Plan, buckets: Buckets, lone: boolean): Val[][] {
  const firstShown0 = plan.every ? (buckets.times[0] ?? Number.NEGATIVE_INFINITY) : Number.NEGATIVE_INFINITY
  const only = cols.length === 1 ? cols[0] : undefined
  if (Array.isArray(only)) {
    // one column (the common Grafana query): its times are already ascending and distinct
    const rows: Val[][] = []
    for (const p of only) if (p.t >= firstShown0) rows.push([lone && p.at !== undefined ? p.at : p.t, finite(p.v)])
    return rows
  }

  const times = new Set<number>()
  for (const c of cols) if (Array.isArray(c)) for (const p of c) times.add(p.t)
  const firstShown = buckets.times[0] ?? Number.NEGATIVE_INFINITY
  const sorted = [...times].filter((t) => !plan.every || t >= firstShown).sort((a, b) => a - b)
  const maps = cols.map((c) => (Array.isArray(c) ? new Map(c.map((p) => [p.t, p])) : c))
  return sorted.map((t) => {
    let time = t
    const vals = maps.map((m) => {
      if (!(m instanceof Map)) return m
      const p = m.get(t)
      if (lone && p?.at !== undefined) time = p.at
      return finite(p?.v ?? null)
    })
    return [time, ...vals]
  })
}

function evalAggExpr(e: Expr, plan: Plan, info: MeasurementInfo, g: Group, buckets: Buckets): Column | Val {
  switch (e.kind) {
    case 'paren':
      return evalAggExpr(e.expr, plan, info, g, buckets)
    case 'number':
      return e.value
    case 'string':
      return e.value
    case 'bool':
      return e.value
    case 'duration':
      return e.ms
    case 'binary': {
      const l = evalAggExpr(e.lhs, plan, info, g, buckets)
      const r = evalAggExpr(e.rhs, plan, info, g, buckets)
      return combineColumns(l, r, (a, b) => binaryValues(e.op, a, b))
    }

    case 'call': {
      if (AGGREGATES.has(e.name)) return aggregateColumn(e, plan, info, g, buckets)
      if (TRANSFORMS.has(e.name)) return transformColumn(e, evalAggExpr(e.args[0], plan, info, g, buckets), plan)
      if (MATH.has(e.name)) {
        const args = e.args.map((a) => evalAggExpr(a, plan, info, g, buckets))
        const col = args.find((a): a is Column => Array.isArray(a))
        if (!col) return mathCall(e.name, args as Val[])
        return col.map((p) => ({t: p.t, at: p.at, v: mathCall(e.name, args.map((a) => (Array.isArray(a) ? (a.find((q) => q.t === p.t)?.v ?? null) : a)))}))
      }

      return null
    }

    case 'ref': {
      // a raw field under a transformation without GROUP BY time: the group's points merged by time
      const merged: Column = []
      for (const s of g.series) {
        const vals = s.fields.get(e.name)
        if (!vals) continue
        s.ts.forEach((t, i) => {
          if (vals[i] !== null) merged.push({t, v: vals[i]})
        })
      }

      return merged.sort((a, b) => a.t - b.t)
    }

    default:
      return null
  }
}

function combineColumns(l: Column | Val, r: Column | Val, f: (a: Val, b: Val) => Val): Column | Val {
  if (!Array.isArray(l) && !Array.isArray(r)) return f(l, r)
  if (!Array.isArray(r)) return (l as Column).map((p) => ({t: p.t, at: p.at, filled: p.filled, v: f(p.v, r)}))
  if (!Array.isArray(l)) return r.map((p) => ({t: p.t, at: p.at, filled: p.filled, v: f(l, p.v)}))
  const rm = new Map(r.map((p) => [p.t, p]))
  const lm = new Map(l.map((p) => [p.t, p]))
  const times = [...new Set([...lm.keys(), ...rm.keys()])].sort((a, b) => a - b)
  return times.map((t) => {
    const a = lm.get(t)
    const b = rm.get(t)
    return {t, at: a?.at ?? b?.at, filled: (a ? a.filled === true : true) && (b ? b.filled === true : true), v: a && b ? f(a.v, b.v) : null}
  })
}

/** One aggregate call over the group's points, per bucket (with the look-back buckets), filled. */
function aggregateColumn(call: Extract<Expr, {kind: 'call'}>, plan: Plan, info: MeasurementInfo, g: Group, buckets: Buckets): Column {
  const first = unparen(call.args[0])
  const distinct = first.kind === 'call' && first.name === 'distinct'
  const arg = (distinct ? unparen(first.args[0]) : first) as Extract<Expr, {kind: 'ref'}>
  const param = call.name === 'percentile' ? (unparen(call.args[1]) as {value: number}).value : undefined
  const all = [...buckets.lookbackTimes, ...buckets.times]
  // integral's buckets are not filled (influxd emits them as its reducer streams)
  if (call.name === 'integral') return integralColumn(call, arg, plan, info, g, all)
  const perBucket: Array<Array<{t: number; v: Val; src?: PointRef}> | undefined> = Array.from({length: all.length})
  const field = isTagOf(info, arg.name, arg.type) ? undefined : arg.name
  if (field) {
    for (const s of g.series) {
      const vals = s.fields.get(field)
      if (!vals) continue
      for (let i = 0; i < s.ts.length; i++) {
        const v = vals[i]
        if (v === null) continue
        const b = buckets.index(s.ts[i])
        if (b < 0 || b >= all.length) continue
        ;(perBucket[b] ??= []).push(plan.an.auxiliary ? {t: s.ts[i], v, src: {s, i}} : {t: s.ts[i], v})
      }
    }
  }

  const col: Column = []
  for (let b = 0; b < all.length; b++) {
    const pts = perBucket[b]
    if (!pts || pts.length === 0) {
      col.push({t: all[b], v: null, filled: true})
      continue
    }

    const r = reduce(distinct ? 'count_distinct' : call.name, pts, param)
    col.push(r.v === null ? {t: all[b], v: null, filled: true} : {t: all[b], v: r.v, at: r.at, src: r.src})
  }

  return fill(col, plan, call.name === 'count')
}

/**
 * integral(f[, unit]) as InfluxDB's reducer computes it: trapezoids between consecutive points of the
 * group (merged by time; of points at one time the last counts), the trapezoid crossing a bucket's
 * end cut there at the interpolated value, its rest counted in the next bucket from that bucket's
 * start. Unit: 1 s by default.
 */
function integralColumn(call: Extract<Expr, {kind: 'call'}>, arg: Extract<Expr, {kind: 'ref'}>, plan: Plan, info: MeasurementInfo, g: Group, all: number[]): Column {
  const unitArg = call.args[1] ? unparen(call.args[1]) : undefined
  const unit = unitArg?.kind === 'duration' ? unitArg.ms : 1000
  const pts: Array<{t: number; v: number}> = []
  if (!isTagOf(info, arg.name, arg.type)) {
    for (const s of g.series) {
      const vals = s.fields.get(arg.name)
      if (!vals) continue
      s.ts.forEach((t, i) => {
        const v = vals[i]
        if (typeof v === 'number' && t >= (all[0] ?? t)) pts.push({t, v})
      })
    }
  }

  pts.sort((a, b) => a.t - b.t)
  const sums = new Map<number, number>()
  const every = plan.every
  const windowOf = (t: number) => {
    if (!every) return {start: all[0], end: Number.POSITIVE_INFINITY}
    const start = windowStart(plan, t)
    return {start, end: plan.zone ? windowEnd(plan, t) : start + every}
  }

  let prev: {t: number; v: number} | undefined
  let window = {start: 0, end: 0}
  let sum = 0
  for (const p of pts) {
    if (!prev) {
      prev = p
      window = windowOf(p.t)
      continue
    }

    if (prev.t === p.t) {
      prev = p
      continue
    }

    if (!every || p.t < window.end) {
      sum += (0.5 * (p.v + prev.v) * (p.t - prev.t)) / unit
      prev = p
      continue
    }

    const value = prev.v + ((p.v - prev.v) * (window.end - prev.t)) / (p.t - prev.t)
    sum += (0.5 * (value + prev.v) * (window.end - prev.t)) / unit
    sums.set(window.start, sum)
    window = windowOf(p.t)
    sum = (0.5 * (value + p.v) * (p.t - window.start)) / unit
    prev = p
  }

  if (prev) sums.set(window.start, sum)
  return all.filter((t) => sums.has(t)).map((t) => ({t, v: sums.get(t)!}))
}

/** fill() on one aggregate's buckets: null (count: 0), none, a number, previous, linear. */
function fill(col: Column, plan: Plan, isCount: boolean): Column {
  const f = plan.st.fill
  if (!plan.every) return col.filter((p) => p.v !== null)
  // buckets nothing fell into: InfluxDB's count gives 0 under fill(null)
  const empty = (p: {v: Val}) => p.v === null
  switch (f.kind) {
    case 'null':
      return isCount ? col.map((p) => (empty(p) ? {t: p.t, v: 0, filled: true} : p)) : col
    case 'none':
      return col.filter((p) => !empty(p))
    case 'number':
      return col.map((p) => (empty(p) ? {t: p.t, v: f.value, filled: true} : p))
    case 'previous': {
      let prev: Val = null
      return col.map((p) => {
        if (empty(p)) return {t: p.t, v: prev, filled: true}
        prev = p.v
        return p
      })
    }

    case 'linear': {
      const out = col.slice()
      let last = -1
      for (let i = 0; i < col.length; i++) {
        if (empty(col[i]) || typeof col[i].v !== 'number') continue
        if (last >= 0 && i - last > 1) {
          const a = col[last].v as number
          const b = col[i].v as number
          for (let k = last + 1; k < i; k++) out[k] = {t: col[k].t, v: a + ((b - a) * (k - last)) / (i - last), filled: true}
        }

        last = i
      }

      return out
    }
  }
}

function reduce(fn: string, pts: Array<{t: number; v: Val; src?: PointRef}>, param?: number): {v: Val; at?: number; src?: PointRef} {
  if (fn === 'count') return {v: pts.length}
  if (fn === 'count_distinct') return {v: new Set(pts.map((p) => p.v)).size}
  if (fn === 'first' || fn === 'last') {
    let best = pts[0]
    // points of several series at one time: the greatest value, as InfluxDB's reducers pick
    for (const p of pts) if ((fn === 'first' ? p.t < best.t : p.t > best.t) || (p.t === best.t && cmpVal(p.v, best.v) > 0)) best = p
    return {v: best.v, at: best.t, src: best.src}
  }

  const nums = pts.filter((p) => typeof p.v === 'number' || typeof p.v === 'boolean').map((p) => ({t: p.t, v: Number(p.v), src: p.src}))
  if (nums.length === 0) return {v: null}
  switch (fn) {
    case 'mean':
      return {v: nums.reduce((a, p) => a + p.v, 0) / nums.length}
    case 'sum':
      return {v: nums.reduce((a, p) => a + p.v, 0)}
    case 'max':
    case 'min': {
      let best = nums[0]
      for (const p of nums) if ((fn === 'max' ? p.v > best.v : p.v < best.v) || (p.v === best.v && p.t < best.t)) best = p
      return {v: best.v, at: best.t, src: best.src}
    }

    case 'spread': {
      let lo = Number.POSITIVE_INFINITY
      let hi = Number.NEGATIVE_INFINITY
      for (const p of nums) {
        lo = Math.min(lo, p.v)
        hi = Math.max(hi, p.v)
      }

      return {v: hi - lo}
    }

    case 'median': {
      const s = nums.map((p) => p.v).sort((a, b) => a - b)
      const m = s.length >> 1
      return {v: s.length % 2 === 1 ? s[m] : s[m - 1] + (s[m] - s[m - 1]) / 2}
    }

    case 'mode': {
      const s = nums.map((p) => p.v).sort((a, b) => a - b)
      let best = s[0]
      let bestN = 0
      for (let i = 0; i < s.length; ) {
        let j = i
        while (j < s.length && s[j] === s[i]) j++
        if (j - i > bestN) {
          bestN = j - i
          best = s[i]
        }

        i = j
      }

      return {v: best}
    }

    case 'stddev': {
      if (nums.length < 2) return {v: null}
      const mean = nums.reduce((a, p) => a + p.v, 0) / nums.length
      const ss = nums.reduce((a, p) => a + (p.v - mean) ** 2, 0)
      return {v: Math.sqrt(ss / (nums.length - 1))}
    }

    case 'percentile': {
      const s = nums.slice().sort((a, b) => a.v - b.v || a.t - b.t)
      const i = Math.floor((s.length * (param ?? 50)) / 100 + 0.5) - 1
      if (i < 0 || i >= s.length) return {v: null}
      return {v: s[i].v, at: s[i].t, src: s[i].src}
    }

    default:
      return {v: null}
  }
}

function cmpVal(a: Val, b: Val): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  const x = String(a)
  const y = String(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** derivative, difference, moving_average, cumulative_sum over a column (nulls skipped). */
function transformColumn(call: Extract<Expr, {kind: 'call'}>, input: Column | Val, plan: Plan): Column {
  if (!Array.isArray(input)) return []
  const pts = input.filter((p): p is {t: number; v: number} => typeof p.v === 'number')
  const out: Column = []
  switch (call.name) {
    case 'derivative':
    case 'non_negative_derivative': {
      const unitArg = call.args[1] ? unparen(call.args[1]) : undefined
      // the unit: the argument, else the GROUP BY interval, else 1s
      const unit = unitArg?.kind === 'duration' ? unitArg.ms : (plan.every ?? 1000)
      for (let i = 1; i < pts.length; i++) {
        const dt = pts[i].t - pts[i - 1].t
        if (dt === 0) continue
        const v = (pts[i].v - pts[i - 1].v) / (dt / unit)
        if (call.name === 'non_negative_derivative' && v < 0) continue
        out.push({t: pts[i].t, v})
      }

      return out
    }

    case 'difference':
    case 'non_negative_difference':
      for (let i = 1; i < pts.length; i++) {
        const v = pts[i].v - pts[i - 1].v
        if (call.name === 'non_negative_difference' && v < 0) continue
        out.push({t: pts[i].t, v})
      }

      return out
    case 'moving_average': {
      const n = (unparen(call.args[1]) as {value: number}).value
      let sum = 0
      for (let i = 0; i < pts.length; i++) {
        sum += pts[i].v
        if (i >= n) sum -= pts[i - n].v
        if (i >= n - 1) out.push({t: pts[i].t, v: sum / n})
      }

      return out
    }

    case 'elapsed': {
      // the time between consecutive points in the unit (default 1 ns), at the later point's time
      const unitArg = call.args[1] ? unparen(call.args[1]) : undefined
      const unitNs = unitArg?.kind === 'duration' ? Number(unitArg.ns) : 1
      const any = input.filter((p) => p.v !== null)
      for (let i = 1; i < any.length; i++) out.push({t: any[i].t, v: Math.trunc(((any[i].t - any[i - 1].t) * 1e6) / unitNs)})
      return out
    }

    case 'cumulative_sum': {
      let sum = 0
      for (const p of pts) {
        sum += p.v
        out.push({t: p.t, v: sum})
      }

      return out
    }

    default:
      return out
  }
}

// ---------------------------------------------------------------------------------------------
// pushdown

/** Every aggregate is mean/sum/count/min/max of a plain field (math with constants around it allowed), no transformation, no selector time. */
function canPushDown(st: SelectStatement, an: Analysis): boolean {
  // without GROUP BY time a lone selector shows its point's time, which an aggregated plan does not keep
  if (!st.groupByTime && an.calls.length === 1 && SELECTORS.has(an.calls[0].name)) return false
  let ok = true
  const visit = (e: Expr) => {
    switch (e.kind) {
      case 'paren':
        visit(e.expr)
        return
      case 'binary':
        visit(e.lhs)
        visit(e.rhs)
        return
      case 'number':
        return
      case 'call': {
        if (!PUSHABLE.has(e.name) || e.args.length !== 1) {
          ok = false
          return
        }

        const a = unparen(e.args[0])
        if (a.kind !== 'ref' || a.type === 'tag') ok = false
        return
      }

      default:
        ok = false
    }
  }

  for (const f of st.fields) visit(f.expr)
  return ok
}

/**
 * The aggregations as one plan per call with `every`, `offset` and `aggregate.by` = the GROUP BY
 * tags: the store buckets as this evaluator does (epoch + offset aligned, bucket start as time).
 */
async function pushedDown(plan: Plan, info: MeasurementInfo, ctx: EvalContext, matchers: Matcher[], start: number, end: number): Promise<ResultSeries[]> {
  const {st} = plan
  const by = groupTagKeys(st, info)
  const calls: Array<Extract<Expr, {kind: 'call'}>> = []
  const collect = (e: Expr) => {
    if (e.kind === 'paren') collect(e.expr)
    else if (e.kind === 'binary') {
      collect(e.lhs)
      collect(e.rhs)
    } else if (e.kind === 'call') calls.push(e)
  }

  for (const f of st.fields) collect(f.expr)
  const frames = new Map<Extract<Expr, {kind: 'call'}>, Frame[]>()
  await Promise.all(
    calls.map(async (c) => {
      const field = (unparen(c.args[0]) as {name: string}).name
      if (!info.fields.has(field)) return frames.set(c, [])
      const q: QueryPlan = {measurement: info.name, field, matchers, start, end, every: plan.every, offset: plan.offset || undefined, aggregate: {fn: c.name as AggFn, by}}
      ctx.observe?.(q)
      frames.set(c, await ctx.store.query(q))
    }),
  )

  const groups = new Map<string, {tags: Tags; perCall: Map<Extract<Expr, {kind: 'call'}>, Map<number, number | null>>}>()
  let dataMin = Number.POSITIVE_INFINITY
  for (const [c, fs] of frames) {
    for (const f of fs) {
      const tags: Tags = {}
      for (const k of by) tags[k] = f.tags[k] ?? ''
      const key = by.map((k) => tags[k]).join('\u0000')
      let g = groups.get(key)
      if (!g) {
        g = {tags, perCall: new Map()}
        groups.set(key, g)
      }

      const m = new Map<number, number | null>()
      for (const r of f.rows) {
        m.set(r[0] as number, r[1] as number | null)
        dataMin = Math.min(dataMin, r[0] as number)
      }

      g.perCall.set(c, m)
    }
  }

  const buckets = bucketsFor(plan, dataMin, ctx)
  const all = [...buckets.lookbackTimes, ...buckets.times]
  const columns = ['time', ...columnNames(st.fields)]
  const out: ResultSeries[] = []
  for (const g of [...groups.values()].sort((a, b) => compareTags(a.tags, b.tags))) {
    const evalExpr = (e: Expr): Column | Val => {
      switch (e.kind) {
        case 'paren':
          return evalExpr(e.expr)
        case 'number':
          return e.value
        case 'binary':
          return combineColumns(evalExpr(e.lhs), evalExpr(e.rhs), (a, b) => binaryValues(e.op, a, b))
        case 'call': {
          const m = g.perCall.get(e) ?? new Map<number, number | null>()
          return fill(
            all.map((t) => {
              const v = m.get(t) ?? null
              return v === null ? {t, v, filled: true} : {t, v}
            }),
            plan,
            e.name === 'count',
          )
        }

        default:
          return null
      }
    }

    const cols = st.fields.map((f) => evalExpr(f.expr))
    if (!hasValues(cols, buckets, plan)) continue
    const rows = joinColumns(cols, plan, buckets, false)
    if (rows.length === 0) continue
    out.push({name: info.name, tags: by.length > 0 ? g.tags : undefined, columns, rows: finishRows(st, rows)})
  }

  return out
}

