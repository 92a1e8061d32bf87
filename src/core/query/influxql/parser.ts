/**
 * InfluxQL's parser (influxdata/influxql parser.go) for mon's subset: SELECT and the SHOW statements
 * Grafana and the `influx` CLI send. Errors are worded as InfluxDB 1.x words them
 * (`found X, expected Y at line 1, char N`); the HTTP layer prefixes `error parsing query: `.
 * Statements outside the subset that InfluxDB would parse (CREATE, DROP, …) parse into an
 * {@link UnsupportedStatement}: the statements before it in the request still run.
 */
import type {BinaryOp, Expr, Field, FillOption, SelectStatement, ShowStatement, Source, Statement} from './ast.js'
import {durationNs, Lexer, type Token} from './lexer.js'
import {re2} from '../../re2.js'

export class InfluxQLParseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InfluxQLParseError'
  }
}

const STATEMENT_KEYWORDS = ['SELECT', 'DELETE', 'SHOW', 'CREATE', 'DROP', 'EXPLAIN', 'GRANT', 'REVOKE', 'ALTER', 'SET', 'KILL']
const SHOW_TARGETS = ['CONTINUOUS', 'DATABASES', 'DIAGNOSTICS', 'FIELD', 'GRANTS', 'MEASUREMENT', 'MEASUREMENTS', 'QUERIES', 'RETENTION', 'SERIES', 'SHARD', 'SHARDS', 'STATS', 'SUBSCRIPTIONS', 'TAG', 'USERS']

const PRECEDENCE: Record<string, number> = {
  OR: 1,
  AND: 2,
  '=': 4,
  '!=': 4,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  '=~': 4,
  '!~': 4,
  '+': 5,
  '-': 5,
  '|': 5,
  '^': 5,
  '*': 6,
  '/': 6,
  '%': 6,
  '&': 6,
}

export interface ParseOptions {
  /** `params=` of the request: values for `$name` */
  params?: Record<string, unknown>
}

/** Parses `;`-separated statements. Throws {@link InfluxQLParseError}. */
export function parseInfluxQL(text: string, opts: ParseOptions = {}): Statement[] {
  return new Parser(text, opts).parseQuery()
}

/** Parses one expression (tests, WHERE fragments). */
export function parseInfluxQLExpr(text: string): Expr {
  const p = new Parser(text, {})
  const e = p.parseExpr()
  p.expectEOF()
  return e
}

class Parser {
  private readonly lexer: Lexer
  private buffered: Token[] = []

  constructor(
    private readonly text: string,
    private readonly opts: ParseOptions,
  ) {
    this.lexer = new Lexer(text)
  }

  // --- tokens -------------------------------------------------------------------------------

  private scan(): Token {
    const t = this.buffered.pop() ?? this.lexer.scan()
    if (t.tok === 'BOUNDPARAM') return this.bind(t)
    return t
  }

  private unscan(t: Token): void {
    this.buffered.push(t)
  }

  private peek(): Token {
    const t = this.scan()
    this.unscan(t)
    return t
  }

  private bind(t: Token): Token {
    const params = this.opts.params
    if (!params || !(t.lit in params)) throw new InfluxQLParseError(`missing parameter: ${t.lit}`)
    const v = params[t.lit]
    if (typeof v === 'string') return {tok: 'STRING', lit: v, pos: t.pos}
    if (typeof v === 'boolean') return {tok: v ? 'TRUE' : 'FALSE', lit: String(v), pos: t.pos}
    if (typeof v === 'number') return {tok: Number.isInteger(v) ? 'INTEGER' : 'NUMBER', lit: String(v), pos: t.pos}
    if (v && typeof v === 'object') {
      const [kind, value] = Object.entries(v as Record<string, unknown>)[0] ?? []
      if (kind === 'identifier' && typeof value === 'string') return {tok: 'IDENT', lit: value, pos: t.pos, quoted: true}
      if (kind === 'duration' && typeof value === 'string') return {tok: 'DURATION', lit: value, pos: t.pos}
      if (kind === 'regex' && typeof value === 'string') return {tok: 'REGEX', lit: value, pos: t.pos}
    }

    throw new InfluxQLParseError(`unable to bind parameter with type ${v === null ? 'nil' : typeof v}`)
  }

  private scanRegex(): Token {
    const t = this.buffered.length > 0 ? this.scan() : this.lexer.scanRegex()
    if (t.tok === 'REGEX') {
      // a pattern that does not compile is a parse error, in Go's (and RE2's) words
      try {
        re2().compile(t.lit)
      } catch (error) {
        throw new InfluxQLParseError(`${(error as Error).message} ${this.at(t.pos)}`)
      }
    }

    return t
  }

  private isKeyword(t: Token, kw: string): boolean {
    return t.tok === 'KEYWORD' && t.lit === kw
  }

  private isOp(t: Token, op: string): boolean {
    return t.tok === 'OP' && t.lit === op
  }

  /** `found X, expected A, B at line L, char C` */
  private error(t: Token, expected: string[]): InfluxQLParseError {
    return new InfluxQLParseError(`found ${this.tokstr(t)}, expected ${expected.join(', ')} ${this.at(t.pos)}`)
  }

  private at(pos: number): string {
    const before = this.text.slice(0, Math.min(pos, this.text.length))
    const line = before.split('\n').length
    const col = pos - (before.lastIndexOf('\n') + 1)
    return `at line ${line}, char ${col + 1}`
  }

  private tokstr(t: Token): string {
    switch (t.tok) {
      case 'EOF':
        return 'EOF'
      case 'REGEX':
        return `/${t.lit}/`
      default:
        return t.lit
    }
  }

  private expectKeyword(kw: string): Token {
    const t = this.scan()
    if (!this.isKeyword(t, kw)) throw this.error(t, [kw])
    return t
  }

  private expectOp(op: string): Token {
    const t = this.scan()
    if (!this.isOp(t, op)) throw this.error(t, [op])
    return t
  }

  expectEOF(): void {
    const t = this.scan()
    if (t.tok !== 'EOF') throw this.error(t, ['EOF'])
  }

  private parseIdent(): string {
    const t = this.scan()
    if (t.tok !== 'IDENT') throw this.error(t, ['identifier'])
    return t.lit
  }

  private parseInt(min: number, what: string): number {
    const t = this.scan()
    if (t.tok !== 'INTEGER') throw this.error(t, ['integer'])
    const n = Number(t.lit)
    if (n < min) throw new InfluxQLParseError(`invalid ${what} ${this.at(t.pos)}`)
    return n
  }

  private parseString(): string {
    const t = this.scan()
    if (t.tok !== 'STRING') throw this.error(t, ['string'])
    return t.lit
  }

  // --- statements ---------------------------------------------------------------------------

  parseQuery(): Statement[] {
    const out: Statement[] = []
    let semi = true
    for (;;) {
      const t = this.scan()
      if (t.tok === 'EOF') return out
      if (this.isOp(t, ';')) {
        semi = true
        continue
      }

      if (!semi) throw this.error(t, [';'])
      this.unscan(t)
      out.push(this.parseStatement())
      semi = false
    }
  }

  private parseStatement(): Statement {
    const t = this.scan()
    if (t.tok !== 'KEYWORD' || !STATEMENT_KEYWORDS.includes(t.lit)) throw this.error(t, STATEMENT_KEYWORDS)
    if (t.lit === 'SELECT') return this.parseSelect()
    if (t.lit === 'SHOW') return this.parseShow(t)
    return this.unsupported(t)
  }

  /** Skips to the end of the statement: the text is kept for the error message. */
  private unsupported(first: Token): Statement {
    // from the statement's first keyword to its end (tokens already read included)
    let end = Math.max(first.pos + first.lit.length, this.buffered.length === 0 ? this.lexer.pos : 0)
    let depth = 0
    for (;;) {
      const t = this.peek()
      if (t.tok === 'EOF' || (depth === 0 && this.isOp(t, ';'))) break
      this.scan()
      if (this.isOp(t, '(')) depth++
      if (this.isOp(t, ')')) depth--
      end = this.lexer.pos
    }

    return {kind: 'unsupported', text: this.text.slice(first.pos, end).trim()}
  }

  private parseShow(showTok: Token): Statement {
    const t = this.scan()
    if (t.tok !== 'KEYWORD' || !SHOW_TARGETS.includes(t.lit)) throw this.error(t, SHOW_TARGETS)
    switch (t.lit) {
      case 'DATABASES':
        return {kind: 'showDatabases'}
      case 'MEASUREMENTS':
        return this.parseShowMeasurements()
      case 'RETENTION': {
        this.expectKeyword('POLICIES')
        return {kind: 'showRetentionPolicies', database: this.parseOn()}
      }

      case 'SERIES': {
        const next = this.peek()
        if (this.isKeyword(next, 'CARDINALITY') || this.isKeyword(next, 'EXACT')) return this.unsupported(showTok)
        const database = this.parseOn()
        const sources = this.parseOptionalFrom()
        const condition = this.parseOptionalWhere()
        const {limit, offset} = this.parseLimitOffset()
        return {kind: 'showSeries', database, sources, condition, limit, offset}
      }

      case 'TAG': {
        const kw = this.scan()
        if (this.isKeyword(kw, 'KEYS')) {
          const database = this.parseOn()
          const sources = this.parseOptionalFrom()
          const condition = this.parseOptionalWhere()
          const {limit, offset} = this.parseLimitOffset()
          return {kind: 'showTagKeys', database, sources, condition, limit, offset}
        }

        if (this.isKeyword(kw, 'VALUES')) {
          const database = this.parseOn()
          const sources = this.parseOptionalFrom()
          this.expectKeyword('WITH')
          this.expectKeyword('KEY')
          const op = this.scan()
          const st: Extract<ShowStatement, {kind: 'showTagValues'}> = {kind: 'showTagValues', database, sources, keyOp: '=', keys: [], limit: 0, offset: 0}
          if (this.isKeyword(op, 'IN')) {
            st.keyOp = 'IN'
            this.expectOp('(')
            for (;;) {
              st.keys.push(this.parseIdent())
              const n = this.scan()
              if (this.isOp(n, ')')) break
              if (!this.isOp(n, ',')) throw this.error(n, [',', ')'])
            }
          } else if (op.tok === 'OP' && (op.lit === '=' || op.lit === '!=')) {
            st.keyOp = op.lit
            st.keys.push(this.parseIdent())
          } else if (op.tok === 'OP' && (op.lit === '=~' || op.lit === '!~')) {
            st.keyOp = op.lit
            const re = this.scanRegex()
            if (re.tok !== 'REGEX') throw this.error(re, ['regex'])
            st.keyRegex = re.lit
          } else {
            throw this.error(op, ['=', '!=', '=~', '!~', 'IN'])
          }

          st.condition = this.parseOptionalWhere()
          Object.assign(st, this.parseLimitOffset())
          return st
        }

        if (this.isKeyword(kw, 'KEY')) return this.unsupported(showTok)
        throw this.error(kw, ['KEYS', 'VALUES'])
      }

      case 'FIELD': {
        const kw = this.scan()
        if (this.isKeyword(kw, 'KEY')) return this.unsupported(showTok)
        if (!this.isKeyword(kw, 'KEYS')) throw this.error(kw, ['KEYS'])
        const database = this.parseOn()
        const sources = this.parseOptionalFrom()
        const {limit, offset} = this.parseLimitOffset()
        return {kind: 'showFieldKeys', database, sources, limit, offset}
      }

      default:
        return this.unsupported(showTok)
    }
  }

  private parseShowMeasurements(): ShowStatement {
    const database = this.parseOn()
    const st: Extract<ShowStatement, {kind: 'showMeasurements'}> = {kind: 'showMeasurements', database, limit: 0, offset: 0}
    const t = this.scan()
    if (this.isKeyword(t, 'WITH')) {
      this.expectKeyword('MEASUREMENT')
      const op = this.scan()
      if (op.tok === 'OP' && (op.lit === '=~' || op.lit === '!~')) {
        st.op = op.lit
        const re = this.scanRegex()
        if (re.tok !== 'REGEX') throw this.error(re, ['regex'])
        st.regex = re.lit
      } else if (op.tok === 'OP' && (op.lit === '=' || op.lit === '!=')) {
        st.op = op.lit
        const n = this.scanRegex()
        if (n.tok === 'REGEX') st.regex = n.lit
        else if (n.tok === 'IDENT') st.name = n.lit
        else throw this.error(n, ['identifier', 'regex'])
      } else {
        throw this.error(op, ['=', '=~'])
      }
    } else {
      this.unscan(t)
    }

    st.condition = this.parseOptionalWhere()
    Object.assign(st, this.parseLimitOffset())
    return st
  }

  private parseOn(): string | undefined {
    const t = this.scan()
    if (this.isKeyword(t, 'ON')) return this.parseIdent()
    this.unscan(t)
    return undefined
  }

  private parseOptionalFrom(): Source[] {
    const t = this.scan()
    if (!this.isKeyword(t, 'FROM')) {
      this.unscan(t)
      return []
    }

    return this.parseSources(false)
  }

  private parseOptionalWhere(): Expr | undefined {
    const t = this.scan()
    if (!this.isKeyword(t, 'WHERE')) {
      this.unscan(t)
      return undefined
    }

    return this.parseExpr()
  }

  private parseLimitOffset(): {limit: number; offset: number} {
    let limit = 0
    let offset = 0
    let t = this.scan()
    if (this.isKeyword(t, 'LIMIT')) {
      limit = this.parseInt(0, 'LIMIT')
      t = this.scan()
    }

    if (this.isKeyword(t, 'OFFSET')) {
      offset = this.parseInt(0, 'OFFSET')
    } else {
      this.unscan(t)
    }

    return {limit, offset}
  }

  private parseSelect(): SelectStatement {
    const st: SelectStatement = {
      kind: 'select',
      fields: this.parseFields(),
      sources: [],
      groupByTags: [],
      groupByWildcard: false,
      fill: {kind: 'null'},
      descending: false,
      limit: 0,
      offset: 0,
      slimit: 0,
      soffset: 0,
    }
    let t = this.scan()
    if (this.isKeyword(t, 'INTO')) {
      st.into = this.parseSegmented().join('.')
      t = this.scan()
    }

    if (!this.isKeyword(t, 'FROM')) throw this.error(t, ['FROM'])
    st.sources = this.parseSources(true)
    st.condition = this.parseOptionalWhere()
    this.parseGroupBy(st)
    this.parseFill(st)
    this.parseOrderBy(st)
    t = this.scan()
    if (this.isKeyword(t, 'LIMIT')) {
      st.limit = this.parseInt(0, 'LIMIT')
      t = this.scan()
    }

    if (this.isKeyword(t, 'OFFSET')) {
      st.offset = this.parseInt(0, 'OFFSET')
      t = this.scan()
    }

    if (this.isKeyword(t, 'SLIMIT')) {
      st.slimit = this.parseInt(0, 'SLIMIT')
      t = this.scan()
    }

    if (this.isKeyword(t, 'SOFFSET')) {
      st.soffset = this.parseInt(0, 'SOFFSET')
      t = this.scan()
    }

    if (t.tok === 'IDENT' && t.lit.toLowerCase() === 'tz') {
      this.expectOp('(')
      st.tz = this.parseString()
      this.expectOp(')')
    } else {
      this.unscan(t)
    }

    return st
  }

  private parseFields(): Field[] {
    const fields: Field[] = []
    for (;;) {
      const expr = this.parseExpr()
      const field: Field = {expr}
      const t = this.scan()
      if (this.isKeyword(t, 'AS')) {
        field.alias = this.parseIdent()
      } else {
        this.unscan(t)
      }

      fields.push(field)
      const n = this.scan()
      if (!this.isOp(n, ',')) {
        this.unscan(n)
        return fields
      }
    }
  }

  /** `a`, `a.b.c`, `a..c`, possibly ending in a regex: the segments. */
  private parseSegmented(): string[] {
    const segs: string[] = [this.parseIdent()]
    for (;;) {
      const t = this.scan()
      if (!this.isOp(t, '.')) {
        this.unscan(t)
        return segs
      }

      const n = this.peek()
      if (this.isOp(n, '.')) {
        segs.push('')
        continue
      }

      segs.push(this.parseIdent())
    }
  }

  private parseSources(subqueries: boolean): Source[] {
    const sources: Source[] = []
    for (;;) {
      sources.push(this.parseSource(subqueries))
      const t = this.scan()
      if (!this.isOp(t, ',')) {
        this.unscan(t)
        return sources
      }
    }
  }

  private parseSource(subqueries: boolean): Source {
    const t = this.scanRegex()
    if (t.tok === 'REGEX') return {kind: 'measurement', regex: t.lit}
    if (subqueries && this.isOp(t, '(')) {
      this.expectKeyword('SELECT')
      const statement = this.parseSelect()
      this.expectOp(')')
      return {kind: 'subquery', statement}
    }

    if (t.tok !== 'IDENT') throw this.error(t, ['identifier'])
    // up to three segments: db.rp.m; the last may be a regex
    const segs: string[] = [t.lit]
    let regex: string | undefined
    while (segs.length < 3) {
      const dot = this.scan()
      if (!this.isOp(dot, '.')) {
        this.unscan(dot)
        break
      }

      const n = this.scanRegex()
      if (n.tok === 'REGEX') {
        regex = n.lit
        break
      }

      if (this.isOp(n, '.')) {
        segs.push('')
        this.unscan(n)
        continue
      }

      if (n.tok !== 'IDENT') throw this.error(n, ['identifier'])
      segs.push(n.lit)
    }

    if (regex !== undefined) {
      const [database, retentionPolicy] = segs.length === 2 ? segs : ['', segs[0]]
      return {kind: 'measurement', database: database || undefined, retentionPolicy: retentionPolicy || undefined, regex}
    }

    if (segs.length === 1) return {kind: 'measurement', name: segs[0]}
    if (segs.length === 2) return {kind: 'measurement', retentionPolicy: segs[0] || undefined, name: segs[1]}
    return {kind: 'measurement', database: segs[0] || undefined, retentionPolicy: segs[1] || undefined, name: segs[2]}
  }

  private parseGroupBy(st: SelectStatement): void {
    const t = this.scan()
    if (!this.isKeyword(t, 'GROUP')) {
      this.unscan(t)
      return
    }

    this.expectKeyword('BY')
    for (;;) {
      const d = this.scanRegex()
      if (this.isOp(d, '*')) {
        st.groupByWildcard = true
      } else if (d.tok === 'REGEX') {
        st.groupByRegex = d.lit
      } else if (d.tok === 'IDENT' && !d.quoted && d.lit.toLowerCase() === 'time' && this.isOp(this.peek(), '(')) {
        this.scan()
        const args = this.parseCallArgs()
        if (args.length < 1 || args.length > 2) throw new InfluxQLParseError('time dimension expected 1 or 2 arguments')
        const every = args[0]
        if (every.kind !== 'duration') throw new InfluxQLParseError('time dimension must have duration argument')
        if (every.ns <= 0n) throw new InfluxQLParseError('time dimension must have positive duration argument')
        let offset = 0
        if (args[1]) {
          const o = args[1]
          if (o.kind === 'duration') offset = o.ms
          else if (o.kind === 'binary' && o.rhs.kind === 'duration' && o.op === '-' && o.lhs.kind === 'number' && o.lhs.value === 0) offset = -o.rhs.ms
          else if (o.kind === 'call' && o.name.toLowerCase() === 'now') offset = Number.NaN
          else throw new InfluxQLParseError('time dimension offset must be duration or now()')
        }

        if (st.groupByTime) throw new InfluxQLParseError('multiple time dimensions not allowed')
        // mon's times are milliseconds: a finer interval buckets by the millisecond
        st.groupByTime = {every: Math.max(1, every.ms), offset}
      } else if (d.tok === 'IDENT') {
        const c = this.peek()
        if (this.isOp(c, '::')) {
          this.scan()
          const k = this.scan()
          if (k.tok !== 'IDENT' && k.tok !== 'KEYWORD') throw this.error(k, ['identifier'])
        }

        st.groupByTags.push(d.lit)
      } else {
        throw this.error(d, ['identifier', 'string', 'number', 'bool'])
      }

      const n = this.scan()
      if (!this.isOp(n, ',')) {
        this.unscan(n)
        return
      }
    }
  }

  private parseFill(st: SelectStatement): void {
    const t = this.scan()
    if (!(t.tok === 'IDENT' && t.lit.toLowerCase() === 'fill' && this.isOp(this.peek(), '('))) {
      this.unscan(t)
      return
    }

    this.scan()
    const a = this.scan()
    let fill: FillOption
    if (a.tok === 'IDENT' && a.lit.toLowerCase() === 'null') fill = {kind: 'null'}
    else if (a.tok === 'IDENT' && a.lit.toLowerCase() === 'none') fill = {kind: 'none'}
    else if (a.tok === 'IDENT' && a.lit.toLowerCase() === 'previous') fill = {kind: 'previous'}
    else if (a.tok === 'IDENT' && a.lit.toLowerCase() === 'linear') fill = {kind: 'linear'}
    else if (a.tok === 'INTEGER' || a.tok === 'NUMBER') fill = {kind: 'number', value: Number(a.lit)}
    else if (this.isOp(a, '-')) {
      const n = this.scan()
      if (n.tok !== 'INTEGER' && n.tok !== 'NUMBER') throw new InfluxQLParseError('expected number argument in fill()')
      fill = {kind: 'number', value: -Number(n.lit)}
    } else throw new InfluxQLParseError('expected number argument in fill()')
    const c = this.scan()
    if (!this.isOp(c, ')')) throw new InfluxQLParseError('fill() takes exactly one argument')
    st.fill = fill
  }

  private parseOrderBy(st: SelectStatement): void {
    const t = this.scan()
    if (!this.isKeyword(t, 'ORDER')) {
      this.unscan(t)
      return
    }

    this.expectKeyword('BY')
    for (let first = true; ; first = false) {
      const f = this.scan()
      if (f.tok === 'IDENT' && f.lit.toLowerCase() === 'time') {
        const dir = this.scan()
        if (this.isKeyword(dir, 'DESC')) st.descending = true
        else if (this.isKeyword(dir, 'ASC')) st.descending = false
        else this.unscan(dir)
      } else if (first && (this.isKeyword(f, 'ASC') || this.isKeyword(f, 'DESC'))) {
        st.descending = f.lit === 'DESC'
      } else if (f.tok === 'IDENT') {
        throw new InfluxQLParseError('only ORDER BY time supported at this time')
      } else {
        throw this.error(f, ['identifier', 'ASC', 'DESC'])
      }

      const n = this.scan()
      if (!this.isOp(n, ',')) {
        this.unscan(n)
        return
      }
    }
  }

  // --- expressions --------------------------------------------------------------------------

  parseExpr(): Expr {
    let root = this.parseUnary()
    for (;;) {
      const t = this.scan()
      const op = t.tok === 'OP' || (t.tok === 'KEYWORD' && (t.lit === 'AND' || t.lit === 'OR')) ? t.lit : undefined
      if (op === undefined || PRECEDENCE[op] === undefined) {
        this.unscan(t)
        return root
      }

      let rhs: Expr
      if (op === '=~' || op === '!~') {
        const re = this.scanRegex()
        if (re.tok === 'REGEX') rhs = {kind: 'regex', source: re.lit}
        else if (re.tok === 'BADREGEX') throw this.error(re, ['regex'])
        else {
          this.unscan(re)
          rhs = this.parseUnary()
          if (rhs.kind !== 'regex') throw this.error({...re, lit: re.tok === 'EOF' ? '' : re.lit}, ['regex'])
        }
      } else {
        rhs = this.parseUnary()
      }

      root = this.combine(root, op as BinaryOp, rhs)
    }
  }

  /** Inserts `op rhs` into the tree by precedence (influxql's right-leaning insertion). */
  private combine(root: Expr, op: BinaryOp, rhs: Expr): Expr {
    const prec = PRECEDENCE[op]
    if (root.kind === 'binary' && PRECEDENCE[root.op] < prec) {
      return {...root, rhs: this.combine(root.rhs, op, rhs)}
    }

    return {kind: 'binary', op, lhs: root, rhs}
  }

  private parseUnary(): Expr {
    const t = this.scan()
    if (this.isOp(t, '(')) {
      const n = this.peek()
      if (this.isKeyword(n, 'SELECT')) throw this.error(n, ['identifier', 'string', 'number', 'bool'])
      const expr = this.parseExpr()
      this.expectOp(')')
      return {kind: 'paren', expr}
    }

    if (this.isOp(t, '*')) return {kind: 'wildcard', type: this.parseCast()}
    if (this.isOp(t, '-') || this.isOp(t, '+')) {
      const n = this.scan()
      const sign = t.lit === '-' ? -1 : 1
      if (n.tok === 'INTEGER') return {kind: 'number', value: sign * Number(n.lit), integer: true}
      if (n.tok === 'NUMBER') return {kind: 'number', value: sign * Number(n.lit), integer: false}
      if (n.tok === 'DURATION') {
        const ns = durationNs(n.lit) * BigInt(sign)
        return {kind: 'duration', ns, ms: nsToMs(ns)}
      }

      if (n.tok === 'IDENT' || this.isOp(n, '(')) {
        this.unscan(n)
        const e = this.parseUnary()
        return sign === 1 ? e : {kind: 'binary', op: '*', lhs: {kind: 'number', value: -1, integer: true}, rhs: e}
      }

      throw this.error(n, ['identifier', 'number', 'duration', '('])
    }

    if (this.isKeyword(t, 'DISTINCT')) {
      // `distinct(f)` and `DISTINCT f`
      if (this.isOp(this.peek(), '(')) {
        this.scan()
        return {kind: 'call', name: 'distinct', args: this.parseCallArgs()}
      }

      return {kind: 'call', name: 'distinct', args: [{kind: 'ref', name: this.parseIdent()}]}
    }

    switch (t.tok) {
      case 'IDENT': {
        if (this.isOp(this.peek(), '(')) {
          this.scan()
          return {kind: 'call', name: t.lit.toLowerCase(), args: this.parseCallArgs()}
        }

        // a dotted name (`a.b`, `"a"."b"`) is one field name with its dots, as InfluxQL reads it
        let name = t.lit
        for (;;) {
          const dot = this.scan()
          if (!this.isOp(dot, '.')) {
            this.unscan(dot)
            break
          }

          const next = this.scan()
          if (next.tok !== 'IDENT') throw this.error(next, ['identifier'])
          name += `.${next.lit}`
        }

        return {kind: 'ref', name, type: this.parseCast()}
      }

      case 'STRING':
        return {kind: 'string', value: t.lit}
      case 'INTEGER':
        return {kind: 'number', value: Number(t.lit), integer: true}
      case 'NUMBER':
        return {kind: 'number', value: Number(t.lit), integer: false}
      case 'DURATION': {
        const ns = durationNs(t.lit)
        return {kind: 'duration', ns, ms: nsToMs(ns)}
      }

      case 'TRUE':
      case 'FALSE':
        return {kind: 'bool', value: t.tok === 'TRUE'}
      case 'REGEX':
        return {kind: 'regex', source: t.lit}
      case 'BADSTRING':
        throw new InfluxQLParseError(`found ${t.lit}, expected identifier, string, number, bool ${this.at(t.pos)}`)
      default:
        throw this.error(t, ['identifier', 'string', 'number', 'bool'])
    }
  }

  private parseCast(): 'tag' | 'field' | undefined {
    const t = this.scan()
    if (!this.isOp(t, '::')) {
      this.unscan(t)
      return undefined
    }

    const k = this.scan()
    const name = k.tok === 'IDENT' || k.tok === 'KEYWORD' ? k.lit.toLowerCase() : ''
    if (name === 'tag' || name === 'field') return name
    if (['float', 'integer', 'string', 'boolean', 'unsigned'].includes(name)) return 'field'
    throw this.error(k, ['float', 'integer', 'string', 'boolean', 'field', 'tag'])
  }

  private parseCallArgs(): Expr[] {
    const args: Expr[] = []
    const t = this.scan()
    if (this.isOp(t, ')')) return args
    this.unscan(t)
    for (;;) {
      args.push(this.parseExpr())
      const n = this.scan()
      if (this.isOp(n, ')')) return args
      if (!this.isOp(n, ',')) throw this.error(n, [',', ')'])
    }
  }
}

function nsToMs(ns: bigint): number {
  // floor division, so `-1ns` is before 0 as InfluxDB's nanoseconds are
  const q = ns / 1_000_000n
  return Number(ns < 0n && q * 1_000_000n !== ns ? q - 1n : q)
}
