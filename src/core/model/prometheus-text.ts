/**
 * The Prometheus text exposition format (version 0.0.4) and its mapping to points, as Telegraf's
 * `prometheus` input does it (docs/prometheus.md has the naming scheme with examples).
 *
 * The parser follows github.com/prometheus/common/expfmt (the parser Telegraf uses), with three
 * differences: it reports every bad line with line and column and carries on with the next one
 * instead of failing the whole page; it tolerates what OpenMetrics pages add (`# EOF`, exemplars,
 * `_total`/`_created` series); and it rejects histogram/summary samples that expfmt silently
 * misfiles or drops (a bucket without `le`, a summary sample without `quantile`).
 *
 * It scans the text by character codes, one line at a time, without regular expressions or
 * per-line splitting: a 10k-sample page parses in a few milliseconds.
 */
import type {FieldValue, Point, Tags} from './point.js'

export type PrometheusMetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface PrometheusSample {
  /** The series name as written: `http_request_duration_seconds_bucket`, `go_gc_duration_seconds`, … */
  name: string
  /** All labels in page order, `le` and `quantile` included. */
  labels: Record<string, string>
  value: number
  /** Integer milliseconds since the epoch, when the line carries a timestamp. */
  timestampMs?: number
  /** 1-based line of the sample in the page */
  line: number
}

export interface MetricFamily {
  name: string
  /** `untyped` when the page declares none (or declares `unknown`) */
  type: PrometheusMetricType
  help?: string
  /** every sample of the family in page order, the `_bucket`/`_sum`/`_count` series of a histogram included */
  samples: PrometheusSample[]
}

/** A located problem: 1-based line and column (in UTF-16 code units, as editors count them). */
export interface PrometheusTextError {
  file: string
  line: number
  col: number
  message: string
}

export interface PrometheusParseResult {
  /** in order of first appearance; families without any sample (HELP/TYPE only) are left out, as expfmt does */
  families: MetricFamily[]
  errors: PrometheusTextError[]
}

export interface PrometheusParseOptions {
  /** names the page in errors; `<input>` by default */
  file?: string
}

export function parsePrometheusText(text: string, opts: PrometheusParseOptions = {}): PrometheusParseResult {
  const parser = new TextParser(text, opts.file ?? '<input>')
  parser.run()
  return parser.result()
}

// ---------------------------------------------------------------------------------------------
// Numbers as Go's strconv reads and prints them (the spec defines values by Go's ParseFloat)

// strings, so no parsed number can be mistaken for them
const SYNTAX_ERROR = 'syntax'
const RANGE_ERROR = 'range'

/**
 * A float as `strconv.ParseFloat` accepts it, restricted as expfmt restricts it: decimal with an
 * optional sign, fraction and exponent; `NaN`, `Inf`, `Infinity` in any case (a sign allowed on
 * the infinities only). Hexadecimal floats need a `p` exponent in Go and expfmt rejects `p` and
 * `_`, so neither hex nor digit separators are values. Out-of-range numbers (`1e400`) are errors.
 */
function scanGoFloat(s: string): number | typeof SYNTAX_ERROR | typeof RANGE_ERROR {
  const n = s.length
  if (n === 0) return SYNTAX_ERROR
  let i = 0
  let c = s.charCodeAt(0)
  let sign = 1
  if (c === 43 || c === 45) {
    if (c === 45) sign = -1
    if (n === 1) return SYNTAX_ERROR
    i = 1
    c = s.charCodeAt(1)
  }
  if (c === 105 || c === 73) {
    const word = s.slice(i).toLowerCase()
    return word === 'inf' || word === 'infinity' ? sign * Infinity : SYNTAX_ERROR
  }
  if ((c === 110 || c === 78) && i === 0) return s.toLowerCase() === 'nan' ? NaN : SYNTAX_ERROR
  let digits = 0
  while (i < n && isDigit(s.charCodeAt(i))) {
    i++
    digits++
  }
  if (i < n && s.charCodeAt(i) === 46) {
    i++
    while (i < n && isDigit(s.charCodeAt(i))) {
      i++
      digits++
    }
  }
  if (digits === 0) return SYNTAX_ERROR
  if (i < n && (s.charCodeAt(i) | 32) === 101) {
    i++
    if (i < n && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++
    const expStart = i
    while (i < n && isDigit(s.charCodeAt(i))) i++
    if (i === expStart) return SYNTAX_ERROR
  }
  if (i !== n) return SYNTAX_ERROR
  const v = Number(s) // the grammar checked above is a subset of what Number() reads, with the same rounding
  return Number.isFinite(v) ? v : RANGE_ERROR
}

/** `strconv.ParseFloat` as expfmt uses it; undefined when Go would return an error. */
export function parseGoFloat(s: string): number | undefined {
  const v = scanGoFloat(s)
  return v === SYNTAX_ERROR || v === RANGE_ERROR ? undefined : v
}

/**
 * A float as Go's `fmt.Sprint` / `strconv.FormatFloat(v, 'g', -1, 64)` prints it: shortest
 * round-trip digits, exponent form below 1e-4 and from 1e6 up (`1e+06`, `1e-05`), `+Inf`,
 * `-Inf`, `NaN`. Telegraf names histogram bucket and quantile fields (and `le`/`quantile` tags)
 * this way, so `le="1.0"` becomes `1` and `le="1000000"` becomes `1e+06`.
 */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const sign = v < 0 ? '-' : ''
  const e = Math.abs(v).toExponential() // shortest round-trip digits, as Go's shortest formatting
  const ePos = e.indexOf('e')
  const mantissa = e.slice(0, ePos)
  const exp = Number(e.slice(ePos + 1))
  const digits = mantissa.length > 1 ? mantissa[0] + mantissa.slice(2) : mantissa
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp)
    const frac = digits.length > 1 ? '.' + digits.slice(1) : ''
    return sign + digits[0] + frac + 'e' + (exp < 0 ? '-' : '+') + (abs < 10 ? '0' : '') + abs
  }
  if (exp < 0) return sign + '0.' + '0'.repeat(-exp - 1) + digits
  if (digits.length <= exp + 1) return sign + digits + '0'.repeat(exp + 1 - digits.length)
  return sign + digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1)
}

// ---------------------------------------------------------------------------------------------
// The parser

const TAB = 9
const SPACE = 32
const QUOTE = 34
const HASH = 35
const COMMA = 44
const EQUALS = 61
const BACKSLASH = 92
const LBRACE = 123
const RBRACE = 125
const CR = 13
const EOL = -1

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

function isLabelNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95
}

function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || isDigit(c)
}

function isMetricNameStart(c: number): boolean {
  return isLabelNameStart(c) || c === 58
}

function isMetricNameChar(c: number): boolean {
  return isLabelNameChar(c) || c === 58
}

/** Assignment that also works for a key named `__proto__` (a valid label name). */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, {value, enumerable: true, writable: true, configurable: true})
  else obj[key] = value
}

const TYPES: Record<string, PrometheusMetricType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'untyped',
  unknown: 'untyped', // OpenMetrics' name for untyped
  // OpenMetrics-only types: their series (`_info`, `_gcount`, …) become untyped families of their own
  info: 'untyped',
  stateset: 'untyped',
  gaugehistogram: 'untyped',
}

interface FamilyBuilder {
  name: string
  type: PrometheusMetricType | undefined
  help: string | undefined
  samples: PrometheusSample[]
}

/** How a sample name relates to the family it belongs to. */
const ROLE_EXACT = 0
const ROLE_BUCKET = 1
const ROLE_SUM = 2
const ROLE_COUNT = 3
const ROLE_TOTAL = 4
const ROLE_CREATED = 5

class TextParser {
  private readonly families = new Map<string, FamilyBuilder>()
  private readonly errors: PrometheusTextError[] = []
  private line = 0
  private lineStart = 0
  /** end of the current line, trailing blanks and the CR of a CRLF excluded */
  private end = 0
  /** the last string read by readQuoted */
  private token = ''
  /** set by lookupFamily */
  private role = ROLE_EXACT
  /** set by parseLabels: a metric name given inside the braces, and where `le`/`quantile` values start */
  private nameInBraces: string | undefined
  private lePos = 0
  private quantilePos = 0
  /** the previous sample's name and label names, reused when the next line repeats them */
  private lastName = ''
  private lastLabelNames: string[] = []

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  result(): PrometheusParseResult {
    const families: MetricFamily[] = []
    for (const f of this.families.values()) {
      if (f.samples.length === 0) continue
      const family: MetricFamily = {name: f.name, type: f.type ?? 'untyped', samples: f.samples}
      if (f.help !== undefined) family.help = f.help
      families.push(family)
    }
    return {families, errors: this.errors}
  }

  run(): void {
    const text = this.text
    const n = text.length
    let start = text.charCodeAt(0) === 0xfeff ? 1 : 0 // a UTF-8 byte order mark
    while (start < n) {
      let nl = text.indexOf('\n', start)
      if (nl === -1) nl = n // the spec wants a final newline; a page without one is still read
      let end = nl
      for (let c = text.charCodeAt(end - 1); end > start && (c === SPACE || c === TAB || c === CR); c = text.charCodeAt(end - 1)) end--
      this.line++
      this.lineStart = start
      this.end = end
      if (!this.parseLine(start)) return
      start = nl + 1
    }
  }

  private error(pos: number, message: string): void {
    this.errors.push({file: this.file, line: this.line, col: pos - this.lineStart + 1, message})
  }

  private charAt(pos: number): number {
    return pos < this.end ? this.text.charCodeAt(pos) : EOL
  }

  private describe(pos: number): string {
    if (pos >= this.end) return 'end of line'
    const cp = this.text.codePointAt(pos)!
    return JSON.stringify(String.fromCodePoint(cp))
  }

  private skipBlanks(pos: number): number {
    const text = this.text
    while (pos < this.end) {
      const c = text.charCodeAt(pos)
      if (c !== SPACE && c !== TAB) break
      pos++
    }
    return pos
  }

  private tokenEnd(pos: number): number {
    const text = this.text
    while (pos < this.end) {
      const c = text.charCodeAt(pos)
      if (c === SPACE || c === TAB) break
      pos++
    }
    return pos
  }

  /** Whether text[start, end) equals `s`, compared in place. */
  private repeats(s: string, start: number, end: number): boolean {
    if (s.length !== end - start) return false
    const text = this.text
    for (let i = end - start - 1; i >= 0; i--) if (s.charCodeAt(i) !== text.charCodeAt(start + i)) return false
    return true
  }

  /** Returns false at `# EOF`, where parsing stops. */
  private parseLine(start: number): boolean {
    const pos = this.skipBlanks(start)
    if (pos >= this.end) return true
    if (this.text.charCodeAt(pos) === HASH) return this.parseComment(pos + 1)
    this.parseSample(pos)
    return true
  }

  private parseComment(start: number): boolean {
    const text = this.text
    let pos = this.skipBlanks(start)
    const keywordEnd = this.tokenEnd(pos)
    const keyword = text.slice(pos, keywordEnd)
    if (keyword === 'EOF') return this.skipBlanks(keywordEnd) < this.end // OpenMetrics' terminator
    if (keyword !== 'HELP' && keyword !== 'TYPE') return true // any other comment
    pos = this.skipBlanks(keywordEnd)
    // `# HELP` or `# TYPE` with nothing after it names no metric: expfmt reads it as a plain comment
    if (pos >= this.end) return true
    const nameStart = pos
    let name: string
    if (this.charAt(pos) === QUOTE) {
      pos = this.readQuoted(pos, 'metric name')
      if (pos < 0) return true
      name = this.token
    } else {
      while (pos < this.end && isMetricNameChar(text.charCodeAt(pos))) pos++
      name = text.slice(nameStart, pos)
      if (name === '' || !isMetricNameStart(name.charCodeAt(0))) {
        this.error(nameStart, `expected a metric name after # ${keyword}, found ${this.describe(nameStart)}`)
        return true
      }
    }
    const after = this.charAt(pos)
    if (after !== EOL && after !== SPACE && after !== TAB) {
      this.error(pos, `invalid character ${this.describe(pos)} in metric name "${name}" of # ${keyword} line`)
      return true
    }
    pos = this.skipBlanks(pos)
    const family = this.familyForMetadata(name)
    if (keyword === 'HELP') {
      if (family.help !== undefined) this.error(nameStart, `second HELP line for metric "${family.name}"`)
      else family.help = this.readHelp(pos)
      return true
    }
    if (pos >= this.end) {
      this.error(pos, `TYPE line for metric "${name}" without a type`)
      return true
    }
    const typeEnd = this.tokenEnd(pos)
    const typeWord = text.slice(pos, typeEnd)
    const type = Object.hasOwn(TYPES, typeWord.toLowerCase()) ? TYPES[typeWord.toLowerCase()] : undefined
    if (type === undefined) {
      this.error(pos, `unknown metric type "${typeWord}" (expected counter, gauge, histogram, summary or untyped)`)
      return true
    }
    const rest = this.skipBlanks(typeEnd)
    if (rest < this.end) {
      this.error(rest, `unexpected text after the type in TYPE line: "${text.slice(rest, this.end)}"`)
      return true
    }
    if (family.type !== undefined) {
      this.error(nameStart, family.samples.length > 0 ? `TYPE line for metric "${family.name}" after its samples` : `second TYPE line for metric "${family.name}"`)
      return true
    }
    family.type = type
    return true
  }

  /** The docstring: the rest of the line with `\\` and `\n` unescaped (`\"` tolerated, as expfmt does). */
  private readHelp(pos: number): string {
    const text = this.text
    const end = this.end
    let out = ''
    let segment = pos
    for (let i = pos; i < end; i++) {
      if (text.charCodeAt(i) !== BACKSLASH) continue
      const c = i + 1 < end ? text.charCodeAt(i + 1) : EOL
      let unescaped: string
      if (c === BACKSLASH) unescaped = '\\'
      else if (c === 110) unescaped = '\n'
      else if (c === QUOTE) unescaped = '"'
      else {
        // reported, and kept as written
        this.error(i, c === EOL ? 'HELP text ends with a lone backslash' : `invalid escape sequence "\\${String.fromCharCode(c)}" in HELP text (only \\\\ and \\n are allowed)`)
        continue
      }
      out += text.slice(segment, i) + unescaped
      i++
      segment = i + 1
    }
    return out + text.slice(segment, end)
  }

  private parseSample(start: number): void {
    const text = this.text
    let pos = start
    let name: string | undefined
    const nameCol = start
    if (text.charCodeAt(pos) !== LBRACE) {
      if (!isMetricNameStart(text.charCodeAt(pos))) {
        this.error(pos, `expected a metric name, found ${this.describe(pos)}`)
        return
      }
      pos++
      while (pos < this.end && isMetricNameChar(text.charCodeAt(pos))) pos++
      // consecutive lines mostly repeat the name: reusing the string spares an allocation and a hash
      name = this.repeats(this.lastName, start, pos) ? this.lastName : (this.lastName = text.slice(start, pos))
      const c = this.charAt(pos)
      if (c !== SPACE && c !== TAB && c !== LBRACE) {
        this.error(pos, c === EOL ? `missing value for metric "${name}"` : `invalid character ${this.describe(pos)} in metric name "${name}"`)
        return
      }
      pos = this.skipBlanks(pos)
    }
    const labels: Record<string, string> = {}
    this.lePos = -1
    this.quantilePos = -1
    if (this.charAt(pos) === LBRACE) {
      this.nameInBraces = undefined
      pos = this.parseLabels(pos + 1, name === undefined, labels)
      if (pos < 0) return
      if (name === undefined) {
        if (this.nameInBraces === undefined) {
          this.error(start, 'missing metric name (give it before "{" or quoted as the first item inside the braces)')
          return
        }
        name = this.nameInBraces
      }
      pos = this.skipBlanks(pos)
    }
    if (name === undefined) return // unreachable: a line not starting with a name starts with "{"
    if (pos >= this.end) {
      this.error(pos, `missing value for metric "${name}"`)
      return
    }
    const valueEnd = this.tokenEnd(pos)
    const plain = this.plainDecimal(pos, valueEnd, true)
    const valueText = plain === undefined ? text.slice(pos, valueEnd) : ''
    const value = plain ?? scanGoFloat(valueText)
    if (value === SYNTAX_ERROR || value === RANGE_ERROR) {
      this.error(
        pos,
        value === RANGE_ERROR
          ? `value "${valueText}" is out of the float64 range`
          : `invalid value "${valueText}" (expected a float such as 1, -2.5e3, NaN or +Inf)`,
      )
      return
    }
    let timestampMs: number | undefined
    pos = this.skipBlanks(valueEnd)
    if (pos < this.end && text.charCodeAt(pos) !== HASH) {
      const tsEnd = this.tokenEnd(pos)
      timestampMs = this.plainDecimal(pos, tsEnd, false)
      const tsText = timestampMs === undefined ? text.slice(pos, tsEnd) : ''
      if (timestampMs === undefined) timestampMs = parseTimestamp(tsText)
      if (timestampMs === undefined) {
        this.error(pos, /^[+-]?\d+$/.test(tsText) ? `timestamp "${tsText}" is out of range` : `invalid timestamp "${tsText}" (expected integer milliseconds since the epoch)`)
        return
      }
      pos = this.skipBlanks(tsEnd)
      // what follows " # " is an OpenMetrics exemplar: ignored
      if (pos < this.end && text.charCodeAt(pos) !== HASH) {
        this.error(pos, `unexpected text after the timestamp: "${text.slice(pos, this.end)}"`)
        return
      }
    }

    let family = this.lookupFamily(name)
    const role = this.role
    if (family === undefined) {
      family = {name, type: 'untyped', help: undefined, samples: []}
      this.families.set(name, family)
    } else if (family.type === undefined) {
      family.type = 'untyped'
    }
    if (role === ROLE_CREATED) return // OpenMetrics creation time: not a sample
    if (role === ROLE_EXACT && family.type === 'histogram') {
      this.error(nameCol, `sample "${name}" of histogram "${family.name}" must be named ${name}_bucket, ${name}_sum or ${name}_count`)
      return
    }
    if ((role === ROLE_EXACT && family.type === 'summary') || role === ROLE_BUCKET) {
      const label = role === ROLE_BUCKET ? 'le' : 'quantile'
      const labelPos = role === ROLE_BUCKET ? this.lePos : this.quantilePos
      if (labelPos < 0) {
        this.error(nameCol, `${family.type} sample "${name}" has no "${label}" label`)
        return
      }
      if (parseGoFloat(labels[label]!) === undefined) {
        this.error(labelPos, `invalid "${label}" label value "${labels[label]}" (expected a float)`)
        return
      }
    }
    const sample: PrometheusSample = {name, labels, value, line: this.line}
    if (timestampMs !== undefined) sample.timestampMs = timestampMs
    family.samples.push(sample)
  }

  /**
   * A signed decimal of at most 15 digits (nearly every value and timestamp) read in place,
   * exactly as Number() would: the digits fit a double exactly, and so does 10^fraction, so one
   * division rounds correctly. Undefined for anything else, which takes the general path.
   */
  private plainDecimal(start: number, end: number, allowFraction: boolean): number | undefined {
    const text = this.text
    let i = start
    let c = text.charCodeAt(i)
    const negative = c === 45
    if (negative || c === 43) i++
    let mantissa = 0
    let digits = 0
    let fraction = -1
    for (; i < end; i++) {
      c = text.charCodeAt(i)
      if (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48)
        digits++
      } else if (c === 46 && fraction < 0 && allowFraction) fraction = digits
      else return undefined
    }
    if (digits === 0 || digits > 15) return undefined
    const v = fraction < 0 || fraction === digits ? mantissa : mantissa / POW10[digits - fraction]!
    return negative ? (allowFraction ? -v : 0 - v) : v
  }

  /**
   * Reads the label set after "{" into `labels`; returns the position after "}" or -1 after an
   * error. A quoted (UTF-8) metric name may come first inside the braces.
   */
  private parseLabels(start: number, nameMayFollow: boolean, labels: Record<string, string>): number {
    const text = this.text
    let pos = start
    let first = true
    for (let index = 0; ; index++) {
      pos = this.skipBlanks(pos)
      let c = this.charAt(pos)
      if (c === RBRACE) return pos + 1
      if (c === EOL) {
        this.error(pos, 'unterminated label set (missing "}")')
        return -1
      }
      const nameStart = pos
      let labelName: string
      let quoted = false
      if (c === QUOTE) {
        pos = this.readQuoted(pos, 'label name')
        if (pos < 0) return -1
        labelName = this.token
        quoted = true
      } else if (isLabelNameStart(c)) {
        pos++
        while (pos < this.end && isLabelNameChar(text.charCodeAt(pos))) pos++
        const previous = this.lastLabelNames[index]
        if (previous !== undefined && this.repeats(previous, nameStart, pos)) labelName = previous
        else labelName = this.lastLabelNames[index] = text.slice(nameStart, pos)
      } else {
        this.error(pos, `expected a label name, found ${this.describe(pos)}`)
        return -1
      }
      pos = this.skipBlanks(pos)
      c = this.charAt(pos)
      if (c !== EQUALS) {
        if (nameMayFollow && first && (c === COMMA || c === RBRACE) && (quoted || isMetricNameStart(labelName.charCodeAt(0)))) {
          this.nameInBraces = labelName
          first = false
          if (c === COMMA) pos++
          continue
        }
        this.error(pos, `expected "=" after label name "${labelName}", found ${this.describe(pos)}`)
        return -1
      }
      first = false
      pos = this.skipBlanks(pos + 1)
      if (this.charAt(pos) !== QUOTE) {
        this.error(pos, `expected '"' to start the value of label "${labelName}", found ${this.describe(pos)}`)
        return -1
      }
      const valueStart = pos
      pos = this.readQuoted(pos, 'label value')
      if (pos < 0) return -1
      if (labelName === '__name__') {
        this.error(nameStart, 'label name "__name__" is reserved')
        return -1
      }
      if (Object.hasOwn(labels, labelName)) {
        this.error(nameStart, `duplicate label name "${labelName}"`)
        return -1
      }
      setOwn(labels, labelName, this.token)
      if (labelName === 'le') this.lePos = valueStart + 1
      else if (labelName === 'quantile') this.quantilePos = valueStart + 1
      pos = this.skipBlanks(pos)
      c = this.charAt(pos)
      if (c === COMMA) {
        pos++
        continue
      }
      if (c === RBRACE) return pos + 1
      if (c === EOL) {
        this.error(pos, 'unterminated label set (missing "}")')
        return -1
      }
      this.error(pos, `expected "," or "}" after the value of label "${labelName}", found ${this.describe(pos)}`)
      return -1
    }
  }

  /**
   * Reads a double-quoted string starting at `start` (the quote) into `this.token`, unescaping
   * `\\`, `\"` and `\n`; returns the position after the closing quote, or -1 after an error.
   */
  private readQuoted(start: number, what: string): number {
    const text = this.text
    const end = this.end
    let pos = start + 1
    let segment = pos
    let out = ''
    while (pos < end) {
      const c = text.charCodeAt(pos)
      if (c === QUOTE) {
        this.token = out + text.slice(segment, pos)
        if (what !== 'label value' && this.token === '') {
          this.error(start, `empty ${what}`)
          return -1
        }
        return pos + 1
      }
      if (c === BACKSLASH) {
        const e = pos + 1 < end ? text.charCodeAt(pos + 1) : EOL
        out += text.slice(segment, pos)
        if (e === BACKSLASH) out += '\\'
        else if (e === QUOTE) out += '"'
        else if (e === 110) out += '\n'
        else if (e === EOL) break
        else {
          this.error(pos, `invalid escape sequence "\\${String.fromCharCode(e)}" in ${what} (only \\\\, \\" and \\n are allowed)`)
          return -1
        }
        pos += 2
        segment = pos
        continue
      }
      pos++
    }
    this.error(start, `unterminated ${what} (missing closing '"')`)
    return -1
  }

  /**
   * The family a sample name belongs to, as expfmt resolves it: the family of that exact name, else
   * the histogram or summary whose `_bucket`/`_sum`/`_count` series it is (and, for OpenMetrics
   * pages, the counter whose `_total` series it is, or the family whose `_created` series it is).
   * Sets `this.role`.
   */
  private lookupFamily(name: string): FamilyBuilder | undefined {
    this.role = ROLE_EXACT
    const exact = this.families.get(name)
    if (exact !== undefined) return exact
    const u = name.lastIndexOf('_')
    if (u <= 0) return undefined
    const parent = this.families.get(name.slice(0, u))
    if (parent === undefined) return undefined
    let role: number
    let belongs: boolean
    const type = parent.type
    switch (name.slice(u + 1)) {
      case 'bucket':
        role = ROLE_BUCKET
        belongs = type === 'histogram'
        break
      case 'sum':
        role = ROLE_SUM
        belongs = type === 'histogram' || type === 'summary'
        break
      case 'count':
        role = ROLE_COUNT
        belongs = type === 'histogram' || type === 'summary'
        break
      case 'total':
        role = ROLE_TOTAL
        belongs = type === 'counter'
        break
      case 'created':
        role = ROLE_CREATED
        belongs = type === 'counter' || type === 'histogram' || type === 'summary'
        break
      default:
        return undefined
    }
    if (!belongs) return undefined
    this.role = role
    return parent
  }

  /** HELP and TYPE name a family the way samples do (so `# TYPE x_count` after `# TYPE x summary` is a second TYPE for x). */
  private familyForMetadata(name: string): FamilyBuilder {
    const found = this.lookupFamily(name)
    if (found !== undefined && this.role !== ROLE_CREATED) return found
    const family: FamilyBuilder = {name, type: undefined, help: undefined, samples: []}
    this.families.set(name, family)
    return family
  }
}

const POW10 = Array.from({length: 16}, (_, i) => 10 ** i)

function parseTimestamp(s: string): number | undefined {
  let i = s.charCodeAt(0) === 43 || s.charCodeAt(0) === 45 ? 1 : 0
  if (i === s.length) return undefined
  for (; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return undefined
  const v = Number(s)
  return Number.isSafeInteger(v) ? v + 0 : undefined // + 0 turns -0 into 0
}

// ---------------------------------------------------------------------------------------------
// Families → points, named as Telegraf's prometheus input names them

export const PROMETHEUS_MEASUREMENT = 'prometheus'

export interface PrometheusToPointsOptions {
  /** timestamp (ms) for samples without one */
  now: number
  /** Telegraf's `metric_version`: 1 (the prometheus input's default) or 2 */
  metricVersion?: 1 | 2
  /** use `now` even for samples that carry a timestamp (Telegraf's `ignore_timestamp`) */
  ignoreTimestamp?: boolean
}

/**
 * Points, plus how many sample values were left out because they are NaN or ±Inf: line protocol
 * cannot carry them (Telegraf drops them too, partly in the parser and the rest in its InfluxDB
 * serializer). An array so callers that only want points can use it as one.
 */
export type PrometheusPoints = Point[] & {dropped: number}

export function prometheusToPoints(families: readonly MetricFamily[], opts: PrometheusToPointsOptions): PrometheusPoints {
  const converter = new PointConverter(opts)
  for (const family of families) {
    if (family.type === 'histogram' || family.type === 'summary') converter.distribution(family)
    else converter.simple(family)
  }
  return Object.assign(converter.points, {dropped: converter.dropped})
}

/** One histogram or summary series: its samples grouped by the labels other than `le`/`quantile`. */
interface DistributionSeries {
  tags: Tags
  timestampMs: number | undefined
  count: number | undefined
  sum: number | undefined
  /** bucket upper bounds (`le`) or quantiles, with their values, in page order */
  bounds: number[]
  values: number[]
}

class PointConverter {
  readonly points: Point[] = []
  dropped = 0
  private readonly v1: boolean

  constructor(private readonly opts: PrometheusToPointsOptions) {
    this.v1 = (opts.metricVersion ?? 1) === 1
  }

  /** `le`/`quantile` values repeat on every series: parse and format each distinct one once */
  private readonly bounds = new Map<string, number | undefined>()
  private readonly boundNames = new Map<number, string>()

  private parseBound(text: string): number | undefined {
    let bound = this.bounds.get(text)
    if (bound === undefined && !this.bounds.has(text)) this.bounds.set(text, (bound = parseGoFloat(text)))
    return bound
  }

  private boundName(bound: number): string {
    let name = this.boundNames.get(bound)
    if (name === undefined) this.boundNames.set(bound, (name = formatGoFloat(bound)))
    return name
  }

  private ts(timestampMs: number | undefined): number {
    return !this.opts.ignoreTimestamp && timestampMs !== undefined && timestampMs > 0 ? timestampMs : this.opts.now
  }

  private keep(v: number): boolean {
    if (Number.isFinite(v)) return true
    this.dropped++
    return false
  }

  simple(family: MetricFamily): void {
    const field = this.v1 ? (family.type === 'counter' ? 'counter' : family.type === 'gauge' ? 'gauge' : 'value') : family.name
    const measurement = this.v1 ? family.name : PROMETHEUS_MEASUREMENT
    for (const s of family.samples) {
      if (!this.keep(s.value)) continue
      this.points.push({measurement, tags: labelsToTags(s.labels, undefined), fields: {[field]: s.value}, ts: this.ts(s.timestampMs)})
    }
  }

  distribution(family: MetricFamily): void {
    const isHistogram = family.type === 'histogram'
    const boundLabel = isHistogram ? 'le' : 'quantile'
    const series = new Map<string, DistributionSeries>()
    const countName = family.name + '_count'
    const sumName = family.name + '_sum'
    let last: DistributionSeries | undefined
    let lastLabels: Record<string, string> = {}
    for (const s of family.samples) {
      let bound: number | undefined
      if (s.name !== countName && s.name !== sumName) {
        const boundText = s.labels[boundLabel]
        bound = boundText === undefined ? undefined : this.parseBound(boundText)
        if (bound === undefined) continue // the parser never yields such a sample; families built by hand might
      }
      // the lines of one series are nearly always adjacent: compare with the previous line before hashing
      let entry = last !== undefined && sameSeries(s.labels, lastLabels, boundLabel) ? last : undefined
      if (entry === undefined) {
        const key = signature(s.labels, boundLabel)
        entry = series.get(key)
        if (entry === undefined) {
          entry = {tags: labelsToTags(s.labels, boundLabel), timestampMs: undefined, count: undefined, sum: undefined, bounds: [], values: []}
          series.set(key, entry)
        }
      }
      last = entry
      lastLabels = s.labels
      if (s.timestampMs !== undefined) entry.timestampMs = s.timestampMs // expfmt: the last one given wins
      if (s.name === countName) entry.count = Math.trunc(s.value) // expfmt stores counts as uint64
      else if (s.name === sumName) entry.sum = s.value
      else {
        entry.bounds.push(bound!)
        entry.values.push(isHistogram ? Math.trunc(s.value) : s.value)
      }
    }
    for (const entry of series.values()) {
      if (this.v1) this.distributionV1(family, entry)
      else this.distributionV2(family, entry, isHistogram)
    }
  }

  private distributionV1(family: MetricFamily, s: DistributionSeries): void {
    const fields: Record<string, FieldValue> = {}
    let any = false
    for (let i = 0; i < s.bounds.length; i++) {
      if (!this.keep(s.values[i]!)) continue
      setOwn(fields, this.boundName(s.bounds[i]!), s.values[i]!)
      any = true
    }
    if (s.count !== undefined && this.keep(s.count)) {
      fields.count = s.count
      any = true
    }
    if (s.sum !== undefined && this.keep(s.sum)) {
      fields.sum = s.sum
      any = true
    }
    if (any) this.points.push({measurement: family.name, tags: s.tags, fields, ts: this.ts(s.timestampMs)})
  }

  private distributionV2(family: MetricFamily, s: DistributionSeries, isHistogram: boolean): void {
    const name = family.name
    const ts = this.ts(s.timestampMs)
    const totals: Record<string, FieldValue> = {}
    let any = false
    if (s.count !== undefined && this.keep(s.count)) {
      setOwn(totals, name + '_count', s.count)
      any = true
    }
    if (s.sum !== undefined && this.keep(s.sum)) {
      setOwn(totals, name + '_sum', s.sum)
      any = true
    }
    if (any) this.points.push({measurement: PROMETHEUS_MEASUREMENT, tags: s.tags, fields: totals, ts})
    const boundTag = isHistogram ? 'le' : 'quantile'
    const field = isHistogram ? name + '_bucket' : name
    let infSeen = false
    for (let i = 0; i < s.bounds.length; i++) {
      const bound = s.bounds[i]!
      if (bound === Infinity) infSeen = true
      if (!this.keep(s.values[i]!)) continue
      this.points.push({measurement: PROMETHEUS_MEASUREMENT, tags: withTag(s.tags, boundTag, this.boundName(bound)), fields: {[field]: s.values[i]!}, ts})
    }
    // Prometheus needs the +Inf bucket; Telegraf adds it from the count when the page lacks it
    if (isHistogram && !infSeen && s.count !== undefined && Number.isFinite(s.count)) {
      this.points.push({measurement: PROMETHEUS_MEASUREMENT, tags: withTag(s.tags, 'le', '+Inf'), fields: {[field]: s.count}, ts})
    }
  }
}

/** Labels as tags; empty values are left out (Prometheus treats them as absent, InfluxDB drops them). */
function labelsToTags(labels: Record<string, string>, skip: string | undefined): Tags {
  const tags: Tags = {}
  for (const name in labels) {
    const value = labels[name]!
    if (value === '' || name === skip) continue
    setOwn(tags, name, value)
  }
  return tags
}

function withTag(tags: Tags, name: string, value: string): Tags {
  const copy: Tags = {}
  for (const key in tags) setOwn(copy, key, tags[key]!)
  setOwn(copy, name, value)
  return copy
}

/** Whether two label sets name the same series, `skip` and empty values aside. */
function sameSeries(a: Record<string, string>, b: Record<string, string>, skip: string): boolean {
  let n = 0
  for (const name in a) {
    const value = a[name]!
    if (name === skip || value === '') continue
    if (!Object.hasOwn(b, name) || b[name] !== value) return false
    n++
  }
  for (const name in b) if (name !== skip && b[name] !== '') n--
  return n === 0
}

/** Order-independent identity of a label set without `skip` (lengths prefixed, so no value can forge another). */
function signature(labels: Record<string, string>, skip: string): string {
  const names = Object.keys(labels)
  if (names.length > 1) names.sort()
  let key = ''
  for (const name of names) {
    if (name === skip) continue
    const value = labels[name]!
    if (value === '') continue // same series as without the label, as in Prometheus
    key += name.length + ':' + name + value.length + ':' + value
  }
  return key
}
