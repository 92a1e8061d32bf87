import {closest} from '../did-you-mean.js'
import {InputError} from '../errors.js'
import {matcherRegex, type MatchOp, type Matcher} from '../model/matcher.js'
import {AGGREGATION_OPS, type ParsedQuery, type Span} from './ast.js'
import type {AggregationOp, AtModifier, BinaryOp, PromExpr, VectorMatching, VectorSelector} from './eval/ast.js'
import {METRIC_NAME} from './eval/series.js'

/**
 * The expression language shared by `mon query`, alert and recording rules and `mon top`: PromQL
 * over mon's `measurement.field` names, plus mon's older spellings (grammar in docs/query.md).
 *
 *   avg by (host) (cpu.usage_user{cpu="cpu-total"}) > 90
 *   sum by (host) (rate(net.bytes_recv{interface=~"eth.*"}[5m]))
 *   mean(cpu.usage_user[5m]) by host > 90          (mon: pools every sample of the window)
 *   absent_over_time(system.uptime{host="web-01"}[5m])
 */
export class QueryError extends InputError {
  constructor(
    readonly query: string,
    readonly span: Span,
    readonly reason: string,
    opts: {hint?: string; source?: string; lineOffset?: number; colOffset?: number} = {},
  ) {
    const {line, col} = lineCol(query, span.start)
    const where = opts.source
      ? `${opts.source}:${line + (opts.lineOffset ?? 0)}:${col + (line === 1 ? (opts.colOffset ?? 0) : 0)}`
      : `query:${line}:${col}`
    super(`${where}: ${reason}`, {hint: opts.hint, details: caret(query, span)})
    this.name = 'QueryError'
  }
}

export function lineCol(text: string, offset: number): {line: number; col: number} {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++
      lineStart = i + 1
    }
  }

  return {line, col: offset - lineStart + 1}
}

/** The offending line with a caret (and tildes) under the span. */
export function caret(text: string, span: Span): string {
  const {line, col} = lineCol(text, span.start)
  const lineText = text.split('\n')[line - 1] ?? ''
  const width = Math.max(1, Math.min(span.end, span.start + lineText.length - col + 1) - span.start)
  return `  ${lineText}\n  ${' '.repeat(col - 1)}^${'~'.repeat(Math.max(0, width - 1))}`
}

type TokKind = 'ident' | 'string' | 'number' | 'duration' | 'op' | 'punct' | 'eof'
interface Token extends Span {
  kind: TokKind
  text: string
  value?: number
}

const DURATION_UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000}

function lex(src: string): Token[] {
  const toks: Token[] = []
  let i = 0
  const err = (start: number, end: number, reason: string, hint?: string): never => {
    throw new QueryError(src, {start, end}, reason, {hint})
  }

  while (i < src.length) {
    const c = src[i]
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
      continue
    }

    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++
      continue
    }

    const start = i
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[\w:]/.test(src[i])) i++
      toks.push({kind: 'ident', text: src.slice(start, i), start, end: i})
      continue
    }

    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i))!
      i += m[0].length
      // a duration: 5m, 1h30m, 250ms
      if (/[a-z]/.test(src[i] ?? '') && /^\d+$/.test(m[0])) {
        const d = /^(?:\d+(?:ms|s|m|h|d|w|y))+/.exec(src.slice(start))
        if (!d) err(start, i + 1, `invalid duration '${/^\w+/.exec(src.slice(start))![0]}'`, 'use units ms, s, m, h, d, w, y, e.g. 5m or 1h30m')
        let total = 0
        for (const part of d![0].matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(part[1]) * DURATION_UNITS[part[2]]
        i = start + d![0].length
        toks.push({kind: 'duration', text: d![0], value: total, start, end: i})
        continue
      }

      toks.push({kind: 'number', text: m[0], value: Number(m[0]), start, end: i})
      continue
    }

    if (c === '"' || c === "'" || c === '`') {
      i++
      let text = ''
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && c !== '`') {
          const n = src[i + 1]
          if (n === undefined) break
          text += n === 'n' ? '\n' : n === 't' ? '\t' : n
          i += 2
          continue
        }

        text += src[i++]
      }

      if (i >= src.length) err(start, src.length, 'unterminated string', `close it with ${c}`)
      i++
      toks.push({kind: 'string', text, start, end: i})
      continue
    }

    const two = src.slice(i, i + 2)
    if (['>=', '<=', '==', '!=', '=~', '!~'].includes(two)) {
      i += 2
      toks.push({kind: 'op', text: two, start, end: i})
      continue
    }

    if ('+-*/%^<>='.includes(c)) {
      i++
      toks.push({kind: 'op', text: c, start, end: i})
      continue
    }

    if ('(){}[],.:@'.includes(c)) {
      i++
      toks.push({kind: 'punct', text: c, start, end: i})
      continue
    }

    err(start, start + 1, `unexpected character '${c}'`)
  }

  toks.push({kind: 'eof', text: '', start: src.length, end: src.length})
  return toks
}

/**
 * How deeply an expression may nest: parentheses, calls, unary signs and operator chains alike.
 * Parsing and evaluation recurse along the tree, and a machine-written query 2,000 levels deep
 * would otherwise end in a stack overflow instead of an error naming where.
 */
export const MAX_EXPRESSION_DEPTH = 100

type ValueType = 'scalar' | 'vector' | 'matrix' | 'string'

/** Argument types of every function (`?` optional, `...` repeated) and what it returns. */
const FUNCTIONS: Record<string, {args: string[]; returns: ValueType}> = {
  abs: {args: ['vector'], returns: 'vector'},
  absent: {args: ['vector'], returns: 'vector'},
  absent_over_time: {args: ['matrix'], returns: 'vector'},
  anomaly: {args: ['vector', 'scalar', 'scalar?'], returns: 'vector'},
  avg_over_time: {args: ['matrix'], returns: 'vector'},
  ceil: {args: ['vector'], returns: 'vector'},
  changes: {args: ['matrix'], returns: 'vector'},
  clamp: {args: ['vector', 'scalar', 'scalar'], returns: 'vector'},
  clamp_max: {args: ['vector', 'scalar'], returns: 'vector'},
  clamp_min: {args: ['vector', 'scalar'], returns: 'vector'},
  count_over_time: {args: ['matrix'], returns: 'vector'},
  delta: {args: ['matrix'], returns: 'vector'},
  deriv: {args: ['matrix'], returns: 'vector'},
  exp: {args: ['vector'], returns: 'vector'},
  floor: {args: ['vector'], returns: 'vector'},
  histogram_quantile: {args: ['scalar', 'vector'], returns: 'vector'},
  holt_winters: {args: ['matrix', 'scalar', 'scalar'], returns: 'vector'},
  idelta: {args: ['matrix'], returns: 'vector'},
  increase: {args: ['matrix'], returns: 'vector'},
  irate: {args: ['matrix'], returns: 'vector'},
  label_join: {args: ['vector', 'string', 'string', 'string...'], returns: 'vector'},
  label_replace: {args: ['vector', 'string', 'string', 'string', 'string'], returns: 'vector'},
  last_over_time: {args: ['matrix'], returns: 'vector'},
  ln: {args: ['vector'], returns: 'vector'},
  log10: {args: ['vector'], returns: 'vector'},
  log2: {args: ['vector'], returns: 'vector'},
  max_over_time: {args: ['matrix'], returns: 'vector'},
  min_over_time: {args: ['matrix'], returns: 'vector'},
  predict_linear: {args: ['matrix', 'scalar'], returns: 'vector'},
  present_over_time: {args: ['matrix'], returns: 'vector'},
  quantile_over_time: {args: ['scalar', 'matrix'], returns: 'vector'},
  rate: {args: ['matrix'], returns: 'vector'},
  resets: {args: ['matrix'], returns: 'vector'},
  round: {args: ['vector', 'scalar?'], returns: 'vector'},
  scalar: {args: ['vector'], returns: 'scalar'},
  sqrt: {args: ['vector'], returns: 'vector'},
  stddev_over_time: {args: ['matrix'], returns: 'vector'},
  stdvar_over_time: {args: ['matrix'], returns: 'vector'},
  sum_over_time: {args: ['matrix'], returns: 'vector'},
  time: {args: [], returns: 'scalar'},
  timestamp: {args: ['vector'], returns: 'vector'},
  vector: {args: ['scalar'], returns: 'vector'},
}

/** mon's older function names, rewritten to the PromQL ones. */
const LEGACY_FUNCTIONS: Record<string, string> = {derivative: 'deriv'}
/** mon's older aggregation names. */
const LEGACY_AGGREGATIONS = ['mean', 'median', 'percentile'] as const
/** Aggregations whose first argument is a parameter: `topk(3, x)`. */
const PARAM_FIRST = new Set<string>(['quantile', 'topk', 'bottomk', 'count_values'])
/** Range functions that take mon's implicit window when written without one: `rate(x)`. */
const RANGE_FUNCTIONS = new Set(Object.entries(FUNCTIONS).filter(([, f]) => f.args[0] === 'matrix').map(([name]) => name))

const ALL_NAMES = [...Object.keys(FUNCTIONS), ...AGGREGATION_OPS, ...LEGACY_AGGREGATIONS, ...Object.keys(LEGACY_FUNCTIONS)]
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'atan2'])
const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<='])

/** Binary operators by precedence, lowest first; `^` is right-associative. */
const PRECEDENCE: Array<Set<string>> = [new Set(['or']), new Set(['and', 'unless']), COMPARISONS, new Set(['+', '-']), new Set(['*', '/', '%', 'atan2']), new Set(['^'])]

class Parser {
  private pos = 0
  /** recursion depth of the parser itself (parentheses, calls, unary signs) */
  private nesting = 0
  /** depth of each built node's subtree */
  private readonly heights = new WeakMap<PromExpr, number>()
  readonly spans = new WeakMap<object, Span>()
  private readonly toks: Token[]

  constructor(private readonly src: string) {
    this.toks = lex(src)
  }

  private peek(k = 0): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)]
  }

  private next(): Token {
    return this.toks[this.pos++]
  }

  private last(): Token {
    return this.toks[this.pos - 1]
  }

  fail(at: Span, reason: string, hint?: string): never {
    throw new QueryError(this.src, at, reason, {hint})
  }

  private tooDeep(at: Span): never {
    this.fail(at, `expression nested too deeply (more than ${MAX_EXPRESSION_DEPTH} levels)`, 'split it into smaller queries or rules')
  }

  /** Runs one level of parser recursion at `at`, refusing to go deeper than the limit. */
  private nested<T>(at: Span, parse: () => T): T {
    if (++this.nesting > MAX_EXPRESSION_DEPTH) this.tooDeep(at)
    try {
      return parse()
    } finally {
      this.nesting--
    }
  }

  /** Records a node built over `children` and its span; an operator chain counts one level per operator. */
  private built<E extends PromExpr>(node: E, span: Span, ...children: PromExpr[]): E {
    return this.builtAt(node, span, span, ...children)
  }

  /** {@link built}, with a depth error pointing at `at` (an operator) instead of the whole span. */
  private builtAt<E extends PromExpr>(node: E, span: Span, at: Span, ...children: PromExpr[]): E {
    let height = 0
    for (const c of children) height = Math.max(height, this.heights.get(c) ?? 0)
    // a leaf (number, selector) is height 0: the limit counts operators and calls
    const own = children.length === 0 ? 0 : height + 1
    if (own > MAX_EXPRESSION_DEPTH) this.tooDeep(at)
    this.heights.set(node, own)
    this.spans.set(node, {start: span.start, end: span.end})
    return node
  }

  span(node: PromExpr): Span {
    return this.spans.get(node) ?? {start: 0, end: this.src.length}
  }

  private isPunct(text: string, k = 0): boolean {
    const t = this.peek(k)
    return t.kind === 'punct' && t.text === text
  }

  private isWord(text: string, k = 0): boolean {
    const t = this.peek(k)
    return t.kind === 'ident' && t.text === text
  }

  private expect(text: string, what?: string): Token {
    const t = this.peek()
    if (t.text !== text || t.kind === 'string') this.fail(t, `expected '${text}'${what ? ` ${what}` : ''}, found ${describe(t)}`)
    return this.next()
  }

  parse(): PromExpr {
    if (this.peek().kind === 'eof') this.fail(this.peek(), 'empty query', 'e.g. avg by (host) (cpu.usage_user{cpu="cpu-total"})')
    const e = this.binary(0)
    const t = this.peek()
    if (t.kind !== 'eof') {
      this.fail(t, `unexpected ${describe(t)}`, t.text === 'by' || t.text === 'without' ? `'${t.text}' follows an aggregation such as sum(...)` : undefined)
    }

    return e
  }

  private binary(level: number): PromExpr {
    if (level === PRECEDENCE.length) return this.unary()
    let lhs = this.binary(level + 1)
    for (;;) {
      const t = this.peek()
      if ((t.kind !== 'op' && t.kind !== 'ident') || !PRECEDENCE[level].has(t.text)) return lhs
      this.next()
      const op = t.text as BinaryOp | 'atan2'
      if (op === 'atan2') this.fail(t, 'atan2 is not supported')
      const bool = this.isWord('bool') ? (this.next(), true) : false
      if (bool && !COMPARISONS.has(op)) this.fail(this.last(), `bool only follows a comparison, not '${op}'`)
      const matching = this.matching()
      // ^ is right-associative: the right side parses at the same level
      const rhs = op === '^' ? this.nested(t, () => this.binary(level)) : this.binary(level + 1)
      const span = {start: this.span(lhs).start, end: this.span(rhs).end}
      lhs = this.builtAt({kind: 'binary', op, lhs, rhs, ...(bool ? {bool} : {}), ...(matching ? {matching} : {})}, span, t, lhs, rhs)
      this.operatorSpans.set(lhs, t)
      if (op === '^') return lhs
    }
  }

  /** Where each binary operator sits, for errors about the match. */
  readonly operatorSpans = new WeakMap<object, Span>()

  private matching(): VectorMatching | undefined {
    if (!this.isWord('on') && !this.isWord('ignoring')) {
      if (this.isWord('group_left') || this.isWord('group_right')) this.fail(this.peek(), `${this.peek().text} needs on(…) or ignoring(…) before it`)
      return undefined
    }

    const on = this.next().text === 'on'
    const matching: VectorMatching = {on, labels: this.labelList()}
    if (this.isWord('group_left') || this.isWord('group_right')) {
      matching.group = this.next().text === 'group_left' ? 'left' : 'right'
      matching.include = this.isPunct('(') ? this.labelList() : []
    }

    return matching
  }

  private labelList(): string[] {
    this.expect('(', 'to open the label list')
    const names: string[] = []
    while (!this.isPunct(')')) {
      names.push(this.name('a label name'))
      if (this.isPunct(',')) this.next()
      else if (!this.isPunct(')')) this.fail(this.peek(), `expected ',' or ')' in the label list, found ${describe(this.peek())}`)
    }

    this.next()
    return names
  }

  private unary(): PromExpr {
    const t = this.peek()
    if (t.kind === 'op' && (t.text === '-' || t.text === '+')) {
      this.next()
      // -2 ^ 2 is -(2 ^ 2), as in PromQL: the sign applies to a power expression
      const e = this.nested(t, () => this.binary(PRECEDENCE.length - 1))
      const span = {start: t.start, end: this.span(e).end}
      if (e.kind === 'number' && t.text === '-') return this.built({kind: 'number', value: -e.value}, span)
      if (t.text === '+') return e
      return this.built({kind: 'unary', op: '-', expr: e}, span, e)
    }

    return this.postfix(this.primary())
  }

  /** `[range]`, `[range:step]`, `offset d` and `@ t` after an expression. */
  private postfix(e: PromExpr): PromExpr {
    let out = e
    for (;;) {
      if (this.isPunct('[')) out = this.rangeSuffix(out)
      else if (this.isWord('offset')) this.offset(out)
      else if (this.isPunct('@')) this.at(out)
      else return out
    }
  }

  private rangeSuffix(e: PromExpr): PromExpr {
    const open = this.next()
    const range = this.duration('a duration such as 5m inside [ ]')
    const start = this.span(e).start
    if (this.isPunct(':')) {
      this.next()
      const step = this.peek().kind === 'duration' ? this.duration('a step') : undefined
      const close = this.expect(']', 'to close the subquery')
      if (e.kind === 'matrix' || e.kind === 'subquery') this.fail(open, 'a subquery needs an instant vector, not a range vector')
      return this.built({kind: 'subquery', expr: e, range, ...(step === undefined ? {} : {step})}, {start, end: close.end}, e)
    }

    const close = this.expect(']')
    if (e.kind !== 'vector') {
      this.fail(open, e.kind === 'matrix' ? 'a selector takes one range' : 'a range [d] only follows a selector', e.kind === 'matrix' ? undefined : 'for a function of a range, write a subquery: (expr)[1h:1m]')
    }

    if (e.offset !== undefined || e.at !== undefined) this.fail(open, 'write the range before offset and @', 'e.g. x[5m] offset 1h')
    return this.built({kind: 'matrix', selector: e, range}, {start, end: close.end}, e)
  }

  private modifiable(e: PromExpr, t: Token): VectorSelector | {offset?: number; at?: AtModifier} {
    if (e.kind === 'vector' || e.kind === 'subquery') return e
    if (e.kind === 'matrix') return e.selector
    return this.fail(t, `${t.text} only follows a selector or a subquery`)
  }

  private offset(e: PromExpr): void {
    const t = this.next()
    const target = this.modifiable(e, t)
    if (target.offset !== undefined) this.fail(t, 'offset given twice')
    const negative = this.peek().kind === 'op' && this.peek().text === '-' ? (this.next(), true) : false
    const d = this.duration('a duration after offset')
    target.offset = negative ? -d : d
    this.extend(e, this.last())
  }

  private at(e: PromExpr): void {
    const t = this.next()
    const target = this.modifiable(e, t)
    if (target.at !== undefined) this.fail(t, '@ given twice')
    const v = this.peek()
    if (v.kind === 'ident' && (v.text === 'start' || v.text === 'end')) {
      this.next()
      this.expect('(')
      this.expect(')')
      target.at = v.text
    } else {
      const negative = v.kind === 'op' && v.text === '-' ? (this.next(), true) : false
      const n = this.peek()
      if (n.kind !== 'number') this.fail(n, `expected a Unix time in seconds, start() or end() after @, found ${describe(n)}`)
      this.next()
      target.at = Math.round((negative ? -n.value! : n.value!) * 1000)
    }

    this.extend(e, this.last())
  }

  private extend(e: PromExpr, to: Span): void {
    const span = this.span(e)
    this.spans.set(e, {start: span.start, end: to.end})
  }

  private duration(what: string): number {
    const d = this.peek()
    if (d.kind !== 'duration') this.fail(d, `expected ${what}, found ${describe(d)}`)
    this.next()
    if (d.value! <= 0) this.fail(d, 'a duration must be positive')
    return d.value!
  }

  private name(what: string): string {
    const t = this.peek()
    if (t.kind !== 'ident' && t.kind !== 'string') this.fail(t, `expected ${what}, found ${describe(t)}`)
    this.next()
    return t.text
  }

  private primary(): PromExpr {
    const t = this.peek()
    switch (t.kind) {
      case 'number':
        this.next()
        return this.built({kind: 'number', value: t.value!}, t)
      case 'duration':
        // a duration where a number goes (predict_linear(x[1h], 4h), anomaly(x, 1w)) is its seconds
        this.next()
        return this.built({kind: 'number', value: t.value! / 1000}, t)
      case 'string':
        if (this.isPunct('.', 1)) return this.selector()
        this.next()
        return this.built({kind: 'string', value: t.text}, t)
      case 'punct':
        if (t.text === '(') {
          this.next()
          const e = this.nested(t, () => this.binary(0))
          const close = this.expect(')', 'to close the parenthesis')
          this.spans.set(e, {start: t.start, end: close.end})
          return e
        }

        if (t.text === '{') return this.selector()
        return this.fail(t, `unexpected ${describe(t)}`, 'a query starts with a selector such as cpu.usage_user or a function such as sum(...)')
      case 'ident':
        if (t.text === 'Inf' || t.text === 'NaN' || t.text === 'inf' || t.text === 'nan') {
          this.next()
          return this.built({kind: 'number', value: t.text.toLowerCase() === 'inf' ? Number.POSITIVE_INFINITY : Number.NaN}, t)
        }

        if (this.isPunct('(', 1) || ((AGGREGATION_OPS as readonly string[]).includes(t.text) && (this.isWord('by', 1) || this.isWord('without', 1)))) {
          return this.nested(t, () => this.call())
        }

        if (KEYWORDS.has(t.text) && !this.isPunct('.', 1)) this.fail(t, `unexpected keyword '${t.text}'`)
        return this.selector()
      case 'eof':
        return this.fail(t, 'unexpected end of query')
      default:
        return this.fail(t, `unexpected ${describe(t)}`)
    }
  }

  private call(): PromExpr {
    const nameTok = this.peek()
    const name = nameTok.text
    if ((AGGREGATION_OPS as readonly string[]).includes(name) || (LEGACY_AGGREGATIONS as readonly string[]).includes(name)) return this.aggregation()
    const func = Object.hasOwn(LEGACY_FUNCTIONS, name) ? LEGACY_FUNCTIONS[name] : name
    if (!Object.hasOwn(FUNCTIONS, func)) {
      const guess = closest(name, ALL_NAMES)
      this.fail(nameTok, `unknown function '${name}'`, guess ? `did you mean '${guess}'?` : 'see docs/query.md for the functions')
    }

    this.next()
    const args = this.args(name)
    const close = this.last()
    if (this.isWord('by') || this.isWord('without')) this.fail(this.peek(), `'${this.peek().text}' follows an aggregation such as sum(...), not ${name}()`)
    // mon's older spellings: absent(x[5m]) is absent_over_time; rate(x) takes the implicit window
    let f = func
    if (f === 'absent' && args[0]?.kind === 'matrix') f = 'absent_over_time'
    if (RANGE_FUNCTIONS.has(f)) {
      const i = FUNCTIONS[f].args.indexOf('matrix')
      const arg = args[i]
      if (arg?.kind === 'vector') args[i] = this.built({kind: 'matrix', selector: arg, range: 0}, this.span(arg), arg)
    }

    return this.built({kind: 'call', func: f, args}, {start: nameTok.start, end: close.end}, ...args)
  }

  private args(name: string): PromExpr[] {
    this.expect('(')
    const args: PromExpr[] = []
    if (!this.isPunct(')')) {
      args.push(this.binary(0))
      while (this.isPunct(',')) {
        this.next()
        args.push(this.binary(0))
      }
    }

    this.expect(')', `to close ${name}(`)
    return args
  }

  private grouping(): {grouping: string[]; without: boolean} | undefined {
    if (!this.isWord('by') && !this.isWord('without')) return undefined
    const without = this.next().text === 'without'
    // mon's older bare form: `mean(x) by host`
    if (!without && !this.isPunct('(')) {
      const names = [this.name('a tag key after by')]
      // `by host, path` only outside parentheses and arguments, where a comma cannot mean "next argument"
      while (this.nesting === 1 && this.isPunct(',') && this.peek(1).kind === 'ident') {
        this.next()
        names.push(this.name('a tag key'))
      }

      return {grouping: names, without}
    }
    return {grouping: this.labelList(), without}
  }

  private aggregation(): PromExpr {
    const nameTok = this.next()
    const name = nameTok.text
    const before = this.grouping()
    const args = this.args(name)
    const close = this.last()
    const after = this.grouping()
    if (before && after) this.fail(this.last(), `${name}() is grouped twice`)
    const group = before ?? after ?? {grouping: [], without: false}
    let op = name as AggregationOp
    let expr: PromExpr | undefined
    let param: PromExpr | undefined
    const arity = (n: number, example: string) => {
      if (args.length !== n) this.fail(nameTok, `${name}() takes ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`, `e.g. ${example}`)
    }

    if (name === 'mean') {
      arity(1, 'mean(cpu.usage_user) by host')
      op = 'avg'
      expr = args[0]
    } else if (name === 'median') {
      arity(1, 'median(http_response.response_time[5m])')
      op = 'quantile'
      param = this.built({kind: 'number', value: 0.5}, nameTok)
      expr = args[0]
    } else if (name === 'percentile') {
      arity(2, 'percentile(http_response.response_time[5m], 95)')
      const p = args[1]
      if (p.kind !== 'number' || p.value < 0 || p.value > 100) this.fail(this.span(p), 'percentile must be a number from 0 to 100')
      op = 'quantile'
      param = this.built({kind: 'number', value: p.value / 100}, this.span(p))
      expr = args[0]
    } else if (PARAM_FIRST.has(name)) {
      arity(2, name === 'count_values' ? 'count_values("value", x)' : `${name}(${name === 'quantile' ? '0.9' : '3'}, x)`)
      param = args[0]
      expr = args[1]
    } else {
      arity(1, `${name}(cpu.usage_user) by (host)`)
      expr = args[0]
    }

    const node: PromExpr = {kind: 'aggregation', op, expr, grouping: group.grouping, ...(group.without ? {without: true} : {}), ...(param ? {param} : {})}
    return this.built(node, {start: nameTok.start, end: after ? this.last().end : close.end}, ...(param ? [param, expr] : [expr]))
  }

  private selector(): VectorSelector {
    const first = this.peek()
    let name: string | undefined
    let split: VectorSelector['split']
    if (!this.isPunct('{')) {
      const measurement = this.name('a metric name')
      if (this.isPunct('.')) {
        this.next()
        const field = this.name('a field name after the dot')
        name = `${measurement}.${field}`
        if (measurement.includes('.')) split = {measurement, field}
      } else {
        name = measurement
      }
    }

    const node: VectorSelector = {kind: 'vector', matchers: []}
    if (name !== undefined) node.name = name
    if (split) node.split = split
    if (this.isPunct('{')) {
      this.next()
      while (!this.isPunct('}')) {
        node.matchers.push(this.matcher())
        if (this.isPunct(',')) this.next()
        else if (!this.isPunct('}')) this.fail(this.peek(), `expected ',' or '}' in the tag matchers, found ${describe(this.peek())}`)
      }

      this.next()
    }

    const span = {start: first.start, end: this.last().end}
    if (node.name === undefined) {
      const named = node.matchers.find((m) => m.name === METRIC_NAME && m.op === '=')
      if (!named) this.fail(span, 'a selector needs a metric name', 'e.g. cpu.usage_user{host="web-01"} or {__name__="cpu.usage_user"}')
      node.name = named.value
      node.matchers = node.matchers.filter((m) => m !== named)
    }

    return this.built(node, span)
  }

  private matcher(): Matcher {
    const name = this.name('a tag key')
    const op = this.peek()
    if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) {
      this.fail(op, `expected =, !=, =~ or !~ after ${name}, found ${describe(op)}`, op.text === '==' ? 'tag matchers use a single =' : undefined)
    }

    this.next()
    const v = this.peek()
    if (v.kind !== 'string') this.fail(v, `expected a quoted value, found ${describe(v)}`, `e.g. ${name}${op.text}"value"`)
    this.next()
    const m: Matcher = {name, op: op.text as MatchOp, value: v.text}
    if (m.op === '=~' || m.op === '!~') {
      try {
        matcherRegex(m)
      } catch (error) {
        this.fail(v, (error as Error).message)
      }
    }

    return m
  }

  /** PromQL's static type check: every operand and argument has the type its place needs. */
  check(e: PromExpr): ValueType {
    const here = this.span(e)
    switch (e.kind) {
      case 'number':
        return 'scalar'
      case 'string':
        return 'string'
      case 'vector':
        return 'vector'
      case 'matrix':
        return 'matrix'
      case 'subquery': {
        const inner = this.check(e.expr)
        if (inner !== 'vector' && inner !== 'scalar') this.fail(this.span(e.expr), `a subquery needs an instant vector, got ${typeName(inner)}`)
        return 'matrix'
      }

      case 'unary': {
        const inner = this.check(e.expr)
        if (inner !== 'vector' && inner !== 'scalar') this.fail(here, `unary minus needs a number or an instant vector, got ${typeName(inner)}`)
        return inner
      }

      case 'aggregation': {
        const inner = this.check(e.expr)
        const pools = inner === 'matrix' && !['topk', 'bottomk', 'count_values'].includes(e.op)
        if (inner !== 'vector' && !pools) this.fail(this.span(e.expr), `${e.op}() takes an instant vector, got ${typeName(inner)}`, inner === 'matrix' ? `e.g. ${e.op}(…) of max_over_time(x[5m])` : undefined)
        if (e.param) {
          const want: ValueType = e.op === 'count_values' ? 'string' : 'scalar'
          const got = this.check(e.param)
          if (got !== want) this.fail(this.span(e.param), `${e.op}()'s parameter must be a ${want}, got ${typeName(got)}`)
        }

        return 'vector'
      }

      case 'call':
        return this.checkCall(e, here)
      case 'binary': {
        const lhs = this.check(e.lhs)
        const rhs = this.check(e.rhs)
        const op = this.operatorSpans.get(e) ?? here
        for (const [side, type] of [[e.lhs, lhs], [e.rhs, rhs]] as const) {
          if (type !== 'vector' && type !== 'scalar') {
            this.fail(this.span(side), `'${e.op}' needs a number or an instant vector on each side, got ${typeName(type)}`, type === 'matrix' ? 'apply a function such as rate(…) or avg_over_time(…) to a range first' : undefined)
          }
        }

        if (['and', 'or', 'unless'].includes(e.op) && (lhs !== 'vector' || rhs !== 'vector')) this.fail(op, `'${e.op}' needs an instant vector on each side`)
        if (e.matching && (lhs !== 'vector' || rhs !== 'vector')) this.fail(op, 'on(…)/ignoring(…) only apply between two instant vectors')
        if (COMPARISONS.has(e.op) && lhs === 'scalar' && rhs === 'scalar' && !e.bool) this.fail(op, 'a comparison between two numbers needs bool', `e.g. 1 ${e.op} bool 2`)
        return lhs === 'vector' || rhs === 'vector' ? 'vector' : 'scalar'
      }
    }
  }

  private checkCall(e: Extract<PromExpr, {kind: 'call'}>, here: Span): ValueType {
    const sig = FUNCTIONS[e.func]
    const types = e.args.map((a) => this.check(a))
    const required = sig.args.filter((a) => !a.endsWith('?') && !a.endsWith('...')).length
    const repeated = sig.args.some((a) => a.endsWith('...'))
    if (types.length < required || (!repeated && types.length > sig.args.length)) {
      const n = sig.args.length === required ? `${required}` : repeated ? `at least ${required}` : `${required} to ${sig.args.length}`
      this.fail(here, `${e.func}() takes ${n} argument${n === '1' ? '' : 's'}, got ${types.length}`)
    }

    for (const [i, got] of types.entries()) {
      const want = sig.args[Math.min(i, sig.args.length - 1)].replace(/[?.]+$/, '') as ValueType
      if (got === want) continue
      const hint = want === 'matrix' ? `write a window: ${e.func}(x[5m])` : got === 'matrix' ? `${e.func}() takes an instant vector: apply a function such as rate(…) to the range first` : undefined
      this.fail(this.span(e.args[i]), `${e.func}() expects ${typeName(want)} as argument ${i + 1}, got ${typeName(got)}`, hint)
    }

    return sig.returns
  }
}

function typeName(t: ValueType): string {
  return {scalar: 'a number', vector: 'an instant vector', matrix: 'a range vector', string: 'a string'}[t]
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of query'
  if (t.kind === 'string') return `string "${t.text}"`
  return `'${t.text}'`
}

/** Parses and type-checks an expression; throws a {@link QueryError} with a caret on bad input. */
export function parseQuery(src: string): ParsedQuery {
  const parser = new Parser(src)
  const expr = parser.parse()
  parser.check(expr)
  return {text: src, expr, spans: parser.spans}
}

/** Where a node of a parsed query sits (the whole text when unknown). */
export function spanOf(q: ParsedQuery, node: object | undefined): Span {
  return (node && q.spans.get(node)) || {start: 0, end: q.text.length}
}
