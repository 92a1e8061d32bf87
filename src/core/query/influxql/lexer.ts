/**
 * InfluxQL's scanner (influxdata/influxql scanner.go), the parts mon's subset needs: identifiers
 * (bare, double-quoted), keywords (case-insensitive), strings ('…'), numbers, integers, durations
 * (`10s`, `1700000000000ms`), regexes (`/…/`, only where the parser asks for one), bound parameters
 * (`$name`), operators and comments. Positions are offsets into the query text.
 */

export type Tok =
  | 'EOF'
  | 'ILLEGAL'
  | 'IDENT'
  | 'KEYWORD'
  | 'STRING'
  | 'BADSTRING'
  | 'NUMBER'
  | 'INTEGER'
  | 'DURATION'
  | 'REGEX'
  | 'BADREGEX'
  | 'BOUNDPARAM'
  | 'TRUE'
  | 'FALSE'
  | 'OP'

export interface Token {
  tok: Tok
  /** keywords: upper case; operators: the operator; strings/identifiers: the unquoted text */
  lit: string
  pos: number
  /** for IDENT: it was written in double quotes */
  quoted?: boolean
}

export const KEYWORDS = new Set([
  'ALL', 'ALTER', 'ANALYZE', 'ANY', 'AS', 'ASC', 'BEGIN', 'BY', 'CARDINALITY', 'CREATE', 'CONTINUOUS', 'DATABASE', 'DATABASES', 'DEFAULT',
  'DELETE', 'DESC', 'DESTINATIONS', 'DIAGNOSTICS', 'DISTINCT', 'DROP', 'DURATION', 'END', 'EVERY', 'EXACT', 'EXPLAIN', 'FIELD', 'FOR', 'FROM',
  'GRANT', 'GRANTS', 'GROUP', 'GROUPS', 'IN', 'INF', 'INSERT', 'INTO', 'KEY', 'KEYS', 'KILL', 'LIMIT', 'MEASUREMENT', 'MEASUREMENTS', 'NAME',
  'OFFSET', 'ON', 'ORDER', 'PASSWORD', 'POLICY', 'POLICIES', 'PRIVILEGES', 'QUERIES', 'QUERY', 'READ', 'REPLICATION', 'RESAMPLE', 'RETENTION',
  'REVOKE', 'SELECT', 'SERIES', 'SET', 'SHOW', 'SHARD', 'SHARDS', 'SLIMIT', 'SOFFSET', 'STATS', 'SUBSCRIPTION', 'SUBSCRIPTIONS', 'TAG', 'TO', 'USER',
  'USERS', 'VALUES', 'WHERE', 'WITH', 'WRITE', 'AND', 'OR',
])

const DURATION_UNITS = ['ns', 'u', 'µ', 'ms', 's', 'm', 'h', 'd', 'w']

function isLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_'
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9'
}

function isIdentChar(c: string): boolean {
  return isLetter(c) || isDigit(c)
}

export class Lexer {
  pos = 0

  constructor(readonly text: string) {}

  private peekc(n = 0): string {
    return this.text[this.pos + n] ?? ''
  }

  private skipSpaceAndComments(): void {
    for (;;) {
      const c = this.peekc()
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        this.pos++
      } else if (c === '-' && this.peekc(1) === '-') {
        while (this.pos < this.text.length && this.peekc() !== '\n') this.pos++
      } else if (c === '/' && this.peekc(1) === '*') {
        const end = this.text.indexOf('*/', this.pos + 2)
        this.pos = end < 0 ? this.text.length : end + 2
      } else {
        return
      }
    }
  }

  /** The next token (whitespace and comments skipped). */
  scan(): Token {
    this.skipSpaceAndComments()
    const pos = this.pos
    const c = this.peekc()
    if (c === '') return {tok: 'EOF', lit: '', pos: this.text.length + 1}
    if (isLetter(c)) return this.scanIdent(pos)
    if (c === '"') {
      const s = this.scanQuoted('"')
      return s === undefined ? {tok: 'BADSTRING', lit: this.text.slice(pos + 1, this.pos), pos} : {tok: 'IDENT', lit: s, pos, quoted: true}
    }

    if (c === "'") {
      const s = this.scanQuoted("'")
      return s === undefined ? {tok: 'BADSTRING', lit: this.text.slice(pos + 1, this.pos), pos} : {tok: 'STRING', lit: s, pos}
    }

    if (isDigit(c) || (c === '.' && isDigit(this.peekc(1)))) return this.scanNumber(pos)
    if (c === '$') {
      this.pos++
      const start = this.pos
      if (this.peekc() === '"') {
        const s = this.scanQuoted('"')
        return {tok: 'BOUNDPARAM', lit: s ?? '', pos}
      }

      while (isIdentChar(this.peekc())) this.pos++
      return {tok: 'BOUNDPARAM', lit: this.text.slice(start, this.pos), pos}
    }

    const two = this.text.slice(pos, pos + 2)
    if (['!=', '<>', '<=', '>=', '=~', '!~', '::'].includes(two)) {
      this.pos += 2
      return {tok: 'OP', lit: two === '<>' ? '!=' : two, pos}
    }

    if ('+-*/%&|^=<>(),;.'.includes(c)) {
      this.pos++
      return {tok: 'OP', lit: c, pos}
    }

    this.pos++
    return {tok: 'ILLEGAL', lit: c, pos}
  }

  /** A regex `/…/` at the current position (after whitespace); `\/` escapes a slash. */
  scanRegex(): Token {
    // InfluxDB reports a regex at the position before the whitespace that precedes it
    const pos = this.pos
    this.skipSpaceAndComments()
    if (this.peekc() !== '/') return this.scan()
    this.pos++
    let out = ''
    for (;;) {
      const c = this.peekc()
      if (c === '') return {tok: 'BADREGEX', lit: out, pos}
      this.pos++
      if (c === '\\' && this.peekc() === '/') {
        out += '/'
        this.pos++
      } else if (c === '/') {
        return {tok: 'REGEX', lit: out, pos}
      } else {
        out += c
      }
    }
  }

  private scanIdent(pos: number): Token {
    while (isIdentChar(this.peekc())) this.pos++
    const lit = this.text.slice(pos, this.pos)
    const upper = lit.toUpperCase()
    if (upper === 'TRUE') return {tok: 'TRUE', lit: 'true', pos}
    if (upper === 'FALSE') return {tok: 'FALSE', lit: 'false', pos}
    if (KEYWORDS.has(upper)) return {tok: 'KEYWORD', lit: upper, pos}
    return {tok: 'IDENT', lit, pos}
  }

  /** The text of a quoted string or identifier; undefined when unterminated (a newline ends it too). */
  private scanQuoted(quote: string): string | undefined {
    this.pos++
    let out = ''
    for (;;) {
      const c = this.peekc()
      if (c === '' || c === '\n') return undefined
      this.pos++
      if (c === quote) return out
      if (c === '\\') {
        const n = this.peekc()
        this.pos++
        if (n === 'n') out += '\n'
        else if (n === '\\') out += '\\'
        else if (n === '"') out += '"'
        else if (n === "'") out += "'"
        else out += '\\' + n
      } else {
        out += c
      }
    }
  }

  private scanNumber(pos: number): Token {
    while (isDigit(this.peekc())) this.pos++
    let isFloat = false
    if (this.peekc() === '.' && isDigit(this.peekc(1))) {
      isFloat = true
      this.pos++
      while (isDigit(this.peekc())) this.pos++
    } else if (this.peekc() === '.' && !isDigit(this.peekc(1)) && this.pos > pos) {
      // `1.` is a float in InfluxQL
      isFloat = true
      this.pos++
    }

    if (this.peekc() === 'e' || this.peekc() === 'E') {
      const save = this.pos
      this.pos++
      if (this.peekc() === '+' || this.peekc() === '-') this.pos++
      if (isDigit(this.peekc())) {
        isFloat = true
        while (isDigit(this.peekc())) this.pos++
      } else {
        this.pos = save
      }
    }

    const num = this.text.slice(pos, this.pos)
    if (!isFloat) {
      // a duration: digits followed directly by a unit
      for (const unit of [...DURATION_UNITS].sort((a, b) => b.length - a.length)) {
        if (this.text.startsWith(unit, this.pos) && !isIdentChar(this.text[this.pos + unit.length] ?? '')) {
          this.pos += unit.length
          return {tok: 'DURATION', lit: num + unit, pos}
        }
      }

      // compound durations such as 1h30m
      if (/^[a-zµ]/.test(this.peekc())) {
        const m = /^(?:\d+(?:ns|u|µ|ms|s|m|h|d|w))+/.exec(this.text.slice(pos))
        if (m && !isIdentChar(this.text[pos + m[0].length] ?? '')) {
          this.pos = pos + m[0].length
          return {tok: 'DURATION', lit: m[0], pos}
        }
      }
    }

    return {tok: isFloat ? 'NUMBER' : 'INTEGER', lit: num, pos}
  }
}

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  u: 1000n,
  µ: 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 604_800_000_000_000n,
}

/** A duration literal (`10s`, `1h30m`, `1700000000000ms`) in nanoseconds. */
export function durationNs(lit: string): bigint {
  let total = 0n
  for (const m of lit.matchAll(/(\d+)(ns|u|µ|ms|s|m|h|d|w)/g)) total += BigInt(m[1]) * UNIT_NS[m[2]]
  return total
}

/** A duration in InfluxDB's display form (`168h0m0s`, `0s`, `1m30s`), as SHOW RETENTION POLICIES prints. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s'
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = (ms % 60_000) / 1000
  if (h > 0) return `${h}h${m}m${s}s`
  if (m > 0) return `${m}m${s}s`
  return `${s}s`
}
