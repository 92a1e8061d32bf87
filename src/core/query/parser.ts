import {closest} from '../did-you-mean.js'
import {InputError} from '../errors.js'
import {matcherRegex, type MatchOp, type Matcher} from '../model/matcher.js'
import {
  ALL_FNS,
  COMPARE_OPS,
  isAgg,
  isTransform,
  type ArithOp,
  type CallFn,
  type CallNode,
  type CompareOp,
  type Expr,
  type SelectorNode,
  type Span,
} from './ast.js'

/**
 * The expression language shared by `mon query`, alert rules and `mon top` (grammar in docs/query.md).
 *
 *   mean(cpu.usage_user{cpu="cpu-total"}) by host > 90
 *   sum(rate(net.bytes_recv{interface=~"eth.*"})) by (host)
 *   absent(system.uptime{host="web-01"}[5m])
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

    if ('+-*/%<>='.includes(c)) {
      i++
      toks.push({kind: 'op', text: c, start, end: i})
      continue
    }

    if ('(){}[],.'.includes(c)) {
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

class Parser {
  private pos = 0
  private depth = 0
  /** recursion depth of the parser itself (parentheses, calls, unary signs) */
  private nesting = 0
  /** depth of each built node's subtree */
  private readonly heights = new WeakMap<Expr, number>()
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

  private fail(tok: Span, reason: string, hint?: string): never {
    throw new QueryError(this.src, tok, reason, {hint})
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

  /** Records a node built over `children`; an operator chain counts one level per operator. */
  private built<E extends Expr>(node: E, at: Span, ...children: Expr[]): E {
    let height = 0
    for (const c of children) height = Math.max(height, this.heights.get(c) ?? 0)
    if (height + 1 > MAX_EXPRESSION_DEPTH) this.tooDeep(at)
    this.heights.set(node, height + 1)
    return node
  }

  private expect(text: string, what?: string): Token {
    const t = this.peek()
    if (t.text !== text || t.kind === 'string') this.fail(t, `expected '${text}'${what ? ` ${what}` : ''}, found ${describe(t)}`)
    return this.next()
  }

  parse(): Expr {
    if (this.peek().kind === 'eof') this.fail(this.peek(), 'empty query', 'e.g. mean(cpu.usage_user{cpu="cpu-total"}) by host')
    const e = this.comparison()
    const t = this.peek()
    if (t.kind !== 'eof') this.fail(t, `unexpected ${describe(t)}`, t.text === 'by' ? "'by' follows an aggregation such as mean(...)" : undefined)
    return e
  }

  private comparison(): Expr {
    const left = this.additive()
    const t = this.peek()
    if (t.kind === 'op' && COMPARE_OPS.includes(t.text)) {
      this.next()
      const right = this.additive()
      const after = this.peek()
      if (after.kind === 'op' && COMPARE_OPS.includes(after.text)) this.fail(after, 'comparisons cannot be chained')
      return this.built({kind: 'binary', op: t.text as CompareOp, left, right, start: left.start, end: right.end}, t, left, right)
    }

    return left
  }

  private additive(): Expr {
    let left = this.multiplicative()
    for (;;) {
      const t = this.peek()
      if (t.kind !== 'op' || (t.text !== '+' && t.text !== '-')) return left
      this.next()
      const right = this.multiplicative()
      left = this.built({kind: 'binary', op: t.text as ArithOp, left, right, start: left.start, end: right.end}, t, left, right)
    }
  }

  private multiplicative(): Expr {
    let left = this.unary()
    for (;;) {
      const t = this.peek()
      if (t.kind !== 'op' || !'*/%'.includes(t.text)) return left
      this.next()
      const right = this.unary()
      left = this.built({kind: 'binary', op: t.text as ArithOp, left, right, start: left.start, end: right.end}, t, left, right)
    }
  }

  private unary(): Expr {
    const t = this.peek()
    if (t.kind === 'op' && t.text === '-') {
      this.next()
      const e = this.nested(t, () => this.unary())
      if (e.kind === 'number') return {...e, value: -e.value, start: t.start}
      return this.built({kind: 'neg', expr: e, start: t.start, end: e.end}, t, e)
    }

    if (t.kind === 'op' && t.text === '+') {
      this.next()
      return this.nested(t, () => this.unary())
    }

    return this.postfix()
  }

  private postfix(): Expr {
    const e = this.primary()
    if (this.peek().kind === 'ident' && this.peek().text === 'by') {
      const byTok = this.next()
      if (e.kind !== 'call' || !isAgg(e.fn)) this.fail(byTok, "'by' can only follow an aggregation", 'e.g. mean(cpu.usage_user) by host')
      const call = e as CallNode
      call.by = this.groupList()
      call.end = this.toks[this.pos - 1].end
      return call
    }

    return e
  }

  private groupList(): string[] {
    const names: string[] = []
    if (this.peek().text === '(' && this.peek().kind === 'punct') {
      this.next()
      if (this.peek().text !== ')') {
        names.push(this.name('a tag key'))
        while (this.peek().text === ',') {
          this.next()
          names.push(this.name('a tag key'))
        }
      }

      this.expect(')', 'after the group list')
      return names
    }

    names.push(this.name('a tag key after by'))
    // a bare list `by host, cpu` only outside parentheses, where a comma cannot mean "next argument"
    while (this.depth === 0 && this.peek().text === ',' && this.peek(1).kind === 'ident') {
      this.next()
      names.push(this.name('a tag key'))
    }

    return names
  }

  private name(what: string): string {
    const t = this.peek()
    if (t.kind !== 'ident' && t.kind !== 'string') this.fail(t, `expected ${what}, found ${describe(t)}`)
    this.next()
    return t.text
  }

  private primary(): Expr {
    const t = this.peek()
    switch (t.kind) {
      case 'number':
        this.next()
        return {kind: 'number', value: t.value!, start: t.start, end: t.end}
      case 'duration':
        this.fail(t, 'a duration is only allowed inside [ ] after a selector', 'e.g. cpu.usage_user[5m]')
      case 'punct':
        if (t.text === '(') {
          this.next()
          this.depth++
          const e = this.nested(t, () => this.comparison())
          this.depth--
          this.expect(')', 'to close the parenthesis')
          return e
        }

        return this.fail(t, `unexpected ${describe(t)}`, 'a query starts with a selector such as cpu.usage_user or a function such as mean(...)')
      case 'ident':
        if (this.peek(1).text === '(' && this.peek(1).kind === 'punct') return this.call()
        return this.selector()
      case 'string':
        return this.selector()
      case 'eof':
        return this.fail(t, 'unexpected end of query')
      default:
        return this.fail(t, `unexpected ${describe(t)}`)
    }
  }

  private call(): Expr {
    return this.nested(this.peek(), () => this.callAt())
  }

  private callAt(): Expr {
    const nameTok = this.next()
    const fn = nameTok.text
    if (!(ALL_FNS as readonly string[]).includes(fn)) {
      const guess = closest(fn, ALL_FNS)
      this.fail(nameTok, `unknown function '${fn}'`, guess ? `did you mean '${guess}'?` : `functions: ${ALL_FNS.join(', ')}`)
    }

    this.expect('(')
    this.depth++
    const args: Expr[] = []
    if (this.peek().text !== ')') {
      args.push(this.comparison())
      while (this.peek().text === ',') {
        this.next()
        args.push(this.comparison())
      }
    }

    this.depth--
    const close = this.expect(')', `to close ${fn}(`)
    const node: CallNode = {kind: 'call', fn: fn as CallFn, args, start: nameTok.start, end: close.end}
    this.checkCall(node, nameTok)
    return this.built(node, nameTok, ...args)
  }

  private checkCall(node: CallNode, nameTok: Token): void {
    const {fn, args} = node
    const arity = fn === 'percentile' ? 2 : 1
    if (args.length !== arity) {
      this.fail(nameTok, `${fn}() takes ${arity} argument${arity === 1 ? '' : 's'}, got ${args.length}`, fn === 'percentile' ? 'e.g. percentile(http_response.response_time, 95)' : undefined)
    }

    const first = args[0]
    if (isAgg(fn)) {
      const inner = first.kind === 'call' && isTransform(first.fn) ? first.args[0] : first
      if (inner.kind !== 'selector') {
        this.fail(first, `${fn}() takes a selector such as cpu.usage_user{cpu="cpu-total"}${first.kind === 'call' ? ' or rate(...)/derivative(...)' : ''}`)
      }

      if (fn === 'percentile') {
        const p = args[1]
        if (p.kind !== 'number' || p.value < 0 || p.value > 100) this.fail(p, 'percentile must be a number from 0 to 100')
      }
    } else if (isTransform(fn) || fn === 'absent') {
      if (first.kind !== 'selector') this.fail(first, `${fn}() takes a selector such as net.bytes_recv{interface="eth0"}`)
    }
  }

  private selector(): SelectorNode {
    const first = this.peek()
    const measurement = this.name('a measurement')
    const dot = this.peek()
    if (dot.text !== '.' || dot.kind !== 'punct') {
      this.fail(first, `expected measurement.field, found '${measurement}'`, `name the field too, e.g. ${measurement}.value (see: mon store fields ${measurement})`)
    }

    this.next()
    const field = this.name('a field name after the dot')
    const node: SelectorNode = {kind: 'selector', measurement, field, matchers: [], start: first.start, end: this.toks[this.pos - 1].end}
    if (this.peek().text === '{' && this.peek().kind === 'punct') {
      this.next()
      while (this.peek().text !== '}') {
        node.matchers.push(this.matcher())
        if (this.peek().text === ',') this.next()
        else if (this.peek().text !== '}') this.fail(this.peek(), `expected ',' or '}' in the tag matchers, found ${describe(this.peek())}`)
      }

      node.end = this.next().end
    }

    if (this.peek().text === '[' && this.peek().kind === 'punct') {
      this.next()
      const d = this.peek()
      if (d.kind !== 'duration') this.fail(d, `expected a duration such as 5m inside [ ], found ${describe(d)}`)
      this.next()
      node.range = d.value
      node.end = this.expect(']').end
    }

    return node
  }

  private matcher(): Matcher {
    const nameTok = this.peek()
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

    void nameTok
    return m
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of query'
  if (t.kind === 'string') return `string "${t.text}"`
  return `'${t.text}'`
}

export function parseQuery(src: string): Expr {
  return new Parser(src).parse()
}
