/**
 * InfluxDB line protocol: parse and serialize.
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * Behaviour and error messages follow InfluxDB's own parser (influxdata/influxdb `models/points.go`,
 * the 1.x/2.x write path, which Telegraf's output is made for). Where we differ it is on purpose
 * and marked "Deviation" below. In short:
 *
 * - Escapes: `\,` `\ ` in measurements (and `\=`, which InfluxDB also unescapes there); `\,` `\=`
 *   `\ ` in tag keys, tag values and field keys; `\"` and `\\` in string field values. A
 *   backslash before any other character is a literal backslash, so `\\` outside a string value
 *   is two backslashes, as in InfluxDB 1.x/2.x and Telegraf. (The docs' "escaping backslashes"
 *   table and InfluxDB 3 read `\\` as one backslash; we follow the servers we write to.) As a
 *   consequence a name ending with a backslash, or containing a newline, cannot be written in
 *   line protocol at all: `serializePoint` throws for those instead of writing something that
 *   InfluxDB would read differently.
 * - String field values may contain literal newlines, so one point can span several physical
 *   lines. Line and column numbers in errors are physical (1-based, columns in code points).
 * - Every line is parsed; bad lines are reported and skipped, good ones returned, so the caller
 *   picks reject-all or partial write (InfluxDB does a partial write).
 * - Timestamps become integer milliseconds (the {@link Point} model): finer precisions are
 *   floored (toward negative infinity), computed from the digits so 19-digit nanosecond stamps
 *   are exact. The accepted range is InfluxDB's, ±9223372036854775806 ns.
 * - Duplicate field keys: the last value wins (TSM behaviour). Duplicate tag keys: error.
 *
 * Deviations from InfluxDB 1.x, each for a reason given where it is implemented:
 * - `\r\n` line endings are accepted (1.x reads the `\r` as part of the last token).
 * - Only spaces separate the sections (1.x also skips tabs there), as influxdata/line-protocol v2
 *   and InfluxDB 3.
 * - A newline outside quotes always ends an entry, even after a backslash.
 * - `+1`, `inf` say "invalid number" (1.x: "invalid boolean"); range errors say
 *   "value out of range" rather than quoting Go's strconv error.
 * - Unsigned `u` values are always accepted (1.x needs a build flag; 2.x accepts them).
 * - String values are limited to 64KiB, as documented (the 1.x server enforces 1MiB).
 * - `\"` is not unescaped in measurements and field keys (1.x/2.x do; the docs, Telegraf's parser
 *   and InfluxDB 3 do not).
 * - A byte order mark at the start of the input is skipped.
 */
import {InputError} from '../errors.js'
import {type FieldValue, type Point, type Tags, UInt, escapeMeasurement, escapeTag} from './point.js'

/** Timestamp precision. `m` and `h` (minutes, hours) exist in the InfluxDB 1.x API only. */
export type Precision = 'ns' | 'us' | 'ms' | 's' | 'm' | 'h'

/** A located problem in line-protocol input. `line` and `col` are 1-based; `col` counts code points. */
export interface LineError {
  line: number
  col: number
  message: string
  /** the whole offending entry (several physical lines if a string field spans them) */
  text: string
  /** `opts.file`, when the caller gave one */
  file?: string
}

export interface ParseOptions {
  /** precision of the timestamps in the input; default `ns`, as InfluxDB */
  precision?: Precision
  /** name of the input, copied into each {@link LineError} */
  file?: string
  /** time (ms) for points without a timestamp; default `Date.now()`, truncated to the precision */
  now?: number
  /** added to every reported line number (for input that is a chunk of a larger text) */
  lineOffset?: number
}

export interface ParseResult {
  points: Point[]
  errors: LineError[]
}

/** Longest string field value, in UTF-8 bytes (InfluxDB documents 64KB). */
export const MAX_STRING_FIELD_BYTES = 65_536
/** Longest series key (measurement + tags, escaped) plus 4 plus a field key, in bytes, as InfluxDB. */
export const MAX_KEY_BYTES = 65_535

const TIME_RANGE_MESSAGE = 'time outside range -9223372036854775806 - 9223372036854775806'
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const UINT64_MAX = 2n ** 64n - 1n
/** 1 for the characters that end or escape a name: \n space , = \\ */
const NAME_SPECIAL = new Uint8Array(65_536)
for (const c of [10, 32, 44, 61, 92]) NAME_SPECIAL[c] = 1

/** 10^k for k = 0..22: every one is an exact double, so m / 10^k is correctly rounded. */
const POW10 = Array.from({length: 23}, (_, k) => 10 ** k)

interface PrecisionInfo {
  /** ms per unit for s/m/h; 1 for ms, us and ns */
  msPerUnit: number
  /** decimal digits below a millisecond: 6 for ns, 3 for us, 0 otherwise */
  subMsDigits: number
  /** largest |timestamp| in this unit whose nanoseconds fit InfluxDB's range, as digits */
  limit: string
  /** the millisecond part of `limit` (its digits without the sub-millisecond ones) */
  limitMs: number
}

const PRECISIONS: Record<Precision, PrecisionInfo> = {
  ns: precisionInfo(1, 6, '9223372036854775806'),
  us: precisionInfo(1, 3, '9223372036854775'),
  ms: precisionInfo(1, 0, '9223372036854'),
  s: precisionInfo(1000, 0, '9223372036'),
  m: precisionInfo(60_000, 0, '153722867'),
  h: precisionInfo(3_600_000, 0, '2562047'),
}

function precisionInfo(msPerUnit: number, subMsDigits: number, limit: string): PrecisionInfo {
  return {msPerUnit, subMsDigits, limit, limitMs: Number(limit.slice(0, limit.length - subMsDigits))}
}

/** Largest |ts| in ms that serializes to an in-range nanosecond timestamp. */
const MAX_TS_MS = 9_223_372_036_854

const PRECISION_ALIASES: Record<string, Precision> = {
  ns: 'ns',
  n: 'ns',
  us: 'us',
  u: 'us',
  'µs': 'us', // U+00B5 micro sign
  'μs': 'us', // U+03BC Greek mu
  'µ': 'us',
  'μ': 'us',
  ms: 'ms',
  s: 's',
  m: 'm',
  h: 'h',
}

/**
 * Reads a precision as the InfluxDB APIs spell it: v2 `ns|us|ms|s`, v1 `n|u|ms|s|m|h`
 * (`m` is minutes, `h` hours), plus `µs`.
 */
export function parsePrecision(s: string): Precision {
  const p = Object.hasOwn(PRECISION_ALIASES, s) ? PRECISION_ALIASES[s] : undefined
  if (p === undefined) {
    throw new InputError(`invalid precision ${JSON.stringify(s)}`, {
      hint: 'use one of ns, us, ms, s (InfluxDB 1.x also accepts n, u, m for minutes and h for hours)',
    })
  }
  return p
}

/** `file:line:col: message`, the form editors and CI annotations understand. */
export function formatLineError(file: string, e: LineError): string {
  return `${file}:${e.line}:${e.col}: ${e.message}`
}

/**
 * Parses line protocol. Never throws for bad input: every line is tried, good points are returned
 * in input order, and each bad line adds one {@link LineError}.
 */
export function parseLineProtocol(text: string, opts: ParseOptions = {}): ParseResult {
  const precision = opts.precision ?? 'ns'
  const info = PRECISIONS[precision]
  if (info === undefined) throw new InputError(`invalid precision ${JSON.stringify(precision)}`)
  // InfluxDB truncates the server time to the precision when a point has no timestamp.
  const now = Math.floor(opts.now ?? Date.now())
  const defaultTs = info.msPerUnit === 1 ? now : now - mod(now, info.msPerUnit)
  const parser = new Parser(text, info, defaultTs, opts.file, opts.lineOffset ?? 0)
  parser.run()
  return {points: parser.points, errors: parser.errors}
}

function mod(a: number, b: number): number {
  const r = a % b
  return r < 0 ? r + b : r
}

/**
 * One parse. The scanning methods return -1 (or undefined) after recording the error position in
 * `errAt`/`errMsg`, rather than throwing: bad input is expected, and exceptions would make a file
 * full of bad lines slow. Character codes used below: \t 9, \n 10, \r 13, space 32, " 34, # 35,
 * + 43, , 44, - 45, . 46, 0-9 48-57, = 61, E 69, I 73, N 78, \ 92, e 101, i 105, n 110, u 117.
 */
class Parser {
  readonly points: Point[] = []
  readonly errors: LineError[] = []
  private readonly n: number
  private errAt = 0
  private errMsg = ''
  /** end of the last scanned value */
  private pos = 0
  /** newlines inside string fields of the current entry */
  private newlines = 0
  /**
   * Names seen at the same position in the previous entry. Consecutive lines nearly always repeat
   * their measurement, tag keys and field keys, so comparing in place and reusing the (immutable)
   * string avoids allocating them again; that is most of the garbage in a large parse.
   */
  private lastMeasurement = ''
  /** set by scanName */
  private escaped = false
  private readonly lastTagKeys: string[] = []
  private readonly lastTagValues: string[] = []
  private readonly lastFieldKeys: string[] = []

  constructor(
    private readonly s: string,
    private readonly precision: PrecisionInfo,
    private readonly defaultTs: number,
    private readonly file: string | undefined,
    private readonly lineOffset: number,
  ) {
    this.n = s.length
  }

  run(): void {
    const s = this.s
    const n = this.n
    let pos = n > 0 && s.charCodeAt(0) === 0xfeff ? 1 : 0 // byte order mark
    let line = 1
    while (pos < n) {
      const lineStart = pos
      let c = s.charCodeAt(pos)
      // Leading blanks are skipped, as InfluxDB does.
      while (c === 32 || c === 9) c = s.charCodeAt(++pos)
      if (pos >= n) break
      if (c === 10 || (c === 13 && (pos + 1 >= n || s.charCodeAt(pos + 1) === 10))) {
        pos = c === 10 ? pos + 1 : pos + 2
        line++
        continue
      }
      if (c === 35) {
        const nl = s.indexOf('\n', pos)
        if (nl < 0) break
        pos = nl + 1
        line++
        continue
      }
      this.newlines = 0
      const end = this.parseEntry(pos)
      if (end >= 0) {
        pos = end + 1
        line += 1 + this.newlines
        continue
      }
      // Bad entry: report it, then resume after its end, found the way InfluxDB splits lines
      // (newlines inside a quoted field value do not end an entry).
      let stop = this.entryEnd(pos)
      if (stop < this.errAt) {
        const nl = s.indexOf('\n', this.errAt)
        stop = nl < 0 ? n : nl
      }
      this.report(lineStart, line, pos, stop)
      line += 1 + countNewlines(s, pos, stop)
      pos = stop + 1
    }
  }

  private fail(at: number, message: string): -1 {
    this.errAt = at
    this.errMsg = message
    return -1
  }

  private report(lineStart: number, line: number, entryStart: number, entryEnd: number): void {
    const s = this.s
    let col0 = lineStart
    for (let i = lineStart; i < this.errAt; i++) {
      if (s.charCodeAt(i) === 10) {
        line++
        col0 = i + 1
      }
    }
    let end = entryEnd
    if (end > entryStart && s.charCodeAt(end - 1) === 13) end--
    const e: LineError = {
      line: line + this.lineOffset,
      col: codePoints(s, col0, this.errAt) + 1,
      message: this.errMsg,
      text: s.slice(entryStart, end),
    }
    if (this.file !== undefined) e.file = this.file
    this.errors.push(e)
  }

  /** InfluxDB's `scanLine`: quotes after `=` in the field section protect newlines. */
  private entryEnd(start: number): number {
    const s = this.s
    const n = this.n
    let fields = false
    let quoted = false
    let equals = 0
    let commas = 0
    let i = start
    while (i < n) {
      const c = s.charCodeAt(i)
      if (c === 92) {
        // Deviation: InfluxDB also lets a backslash escape a newline outside quotes, which makes a
        // stray trailing backslash swallow the next line; here a newline outside quotes always
        // ends the entry (as influxdata/line-protocol v2 does).
        i += i + 1 < n && (quoted || s.charCodeAt(i + 1) !== 10) ? 2 : 1
        continue
      }
      if (c === 32) fields = true
      if (fields) {
        if (!quoted && c === 61) equals++
        else if (!quoted && c === 44) commas++
        else if (c === 34 && equals > commas) quoted = !quoted
      }
      if (c === 10 && !quoted) break
      i++
    }
    return i
  }

  /**
   * Scans a measurement, tag key, tag value or field key from `i` to its first unescaped `,`,
   * space or newline (or `=` when `equalsEnds`); sets `escaped` when it contains an escape.
   */
  private scanName(i: number, equalsEnds: boolean): number {
    const s = this.s
    const n = this.n
    let escaped = false
    while (i < n) {
      const c = s.charCodeAt(i)
      if (NAME_SPECIAL[c] === 0) {
        i++
        continue
      }
      if (c === 92) {
        const d = s.charCodeAt(i + 1)
        if (d === 44 || d === 32 || d === 61) {
          escaped = true
          i += 2
        } else {
          i++ // a literal backslash
        }
        continue
      }
      if (c === 61 && !equalsEnds) {
        i++
        continue
      }
      break
    }
    this.escaped = escaped
    return i
  }

  /** True at `\n`, at the end of input, and at a `\r` that ends the line. */
  private atLineEnd(i: number): boolean {
    if (i >= this.n) return true
    const c = this.s.charCodeAt(i)
    return c === 10 || (c === 13 && (i + 1 >= this.n || this.s.charCodeAt(i + 1) === 10))
  }

  /** Where to point a "missing ..." error at the end of a line: before a `\r` of a CRLF. */
  private endColumn(i: number): number {
    return i > 0 && this.s.charCodeAt(i - 1) === 13 && (i >= this.n || this.s.charCodeAt(i) === 10) ? i - 1 : i
  }

  /** Parses one entry starting at a non-blank character; returns the index of its `\n` (or n). */
  private parseEntry(start: number): number {
    const s = this.s
    const n = this.n
    let i = start
    let c = s.charCodeAt(i)
    if (c === 44) return this.fail(i, 'missing measurement')

    // measurement: ends at an unescaped comma or space
    i = this.scanName(i, false)
    let escaped = this.escaped
    c = i < n ? s.charCodeAt(i) : -1
    if (c !== 44 && c !== 32) return this.fail(this.endColumn(i), 'missing fields')
    let measurement = this.lastMeasurement
    if (escaped) measurement = unescapeName(s, start, i)
    else if (measurement.length !== i - start || !s.startsWith(measurement, start)) {
      measurement = this.lastMeasurement = s.slice(start, i)
    }

    // tag set
    const tags: Tags = {}
    let tagIndex = 0
    while (c === 44) {
      const keyStart = ++i
      i = this.scanName(i, true)
      escaped = this.escaped
      c = i < n ? s.charCodeAt(i) : -1
      if (i === keyStart) return this.fail(this.endColumn(i), 'missing tag key')
      if (c !== 61) return this.fail(this.endColumn(i), 'missing tag value')
      const key = escaped ? unescapeName(s, keyStart, i) : reuse(s, keyStart, i, this.lastTagKeys, tagIndex)
      const valueStart = ++i
      i = this.scanName(i, true)
      escaped = this.escaped
      c = i < n ? s.charCodeAt(i) : -1
      if (i === valueStart) return this.fail(this.endColumn(i), 'missing tag value')
      if (c === 61) return this.fail(i, 'invalid tag format')
      if (tags[key] !== undefined && Object.hasOwn(tags, key)) return this.fail(keyStart, 'duplicate tags')
      const value = escaped ? unescapeName(s, valueStart, i) : reuse(s, valueStart, i, this.lastTagValues, tagIndex)
      tagIndex++
      if (key === '__proto__') define(tags, key, value)
      else tags[key] = value
      if (c !== 44 && c !== 32) return this.fail(this.endColumn(i), 'missing fields')
    }
    const keyLength = i - start // in UTF-16 units; UTF-8 is at most 3 bytes per unit
    if (keyLength * 3 > MAX_KEY_BYTES - 4) {
      const bytes = Buffer.byteLength(s.slice(start, i))
      if (bytes > MAX_KEY_BYTES) return this.fail(start, `max key length exceeded: ${bytes} > ${MAX_KEY_BYTES}`)
    }

    // Field set, after one or more spaces. Deviation: InfluxDB 1.x also skips tabs here (and before
    // the timestamp), which makes a first field key starting with a tab unwritable; spaces only, as
    // influxdata/line-protocol v2 and InfluxDB 3 do.
    while (c === 32) c = s.charCodeAt(++i)
    if (this.atLineEnd(i)) return this.fail(this.endColumn(i), 'missing fields')
    const fields: Record<string, FieldValue> = {}
    let fieldIndex = 0
    for (;;) {
      const keyStart = i
      i = this.scanName(i, true)
      escaped = this.escaped
      c = i < n ? s.charCodeAt(i) : -1
      if (i === keyStart) {
        return c === 61 ? this.fail(i, 'missing field key') : this.fail(this.endColumn(i), 'invalid field format')
      }
      if (c !== 61) return this.fail(this.endColumn(i), 'invalid field format')
      if ((keyLength + i - keyStart) * 3 > MAX_KEY_BYTES - 4) {
        const size = Buffer.byteLength(s.slice(start, start + keyLength)) + 4 + Buffer.byteLength(s.slice(keyStart, i))
        if (size > MAX_KEY_BYTES) return this.fail(keyStart, `max key length exceeded: ${size} > ${MAX_KEY_BYTES}`)
      }
      const key = escaped ? unescapeName(s, keyStart, i) : reuse(s, keyStart, i, this.lastFieldKeys, fieldIndex)
      fieldIndex++
      i++
      if (this.atLineEnd(i)) return this.fail(this.endColumn(i), 'missing field value')
      c = s.charCodeAt(i)
      let value: FieldValue | undefined
      if (c === 34) {
        value = this.parseString(i)
      } else if ((c >= 48 && c <= 57) || c === 45 || c === 46) {
        value = this.parseNumber(i)
      } else if (c === 116 || c === 102 || c === 84 || c === 70) {
        value = this.parseBoolean(i)
      } else if (c === 44 || c === 32) {
        return this.fail(i, 'missing field value')
      } else if (c === 43 || c === 78 || c === 110 || c === 73 || c === 105) {
        // Deviation: InfluxDB says "invalid boolean" for +1 and inf, "invalid number" for NaN.
        return this.fail(i, 'invalid number')
      } else {
        return this.fail(i, 'invalid boolean')
      }
      if (value === undefined) return -1
      i = this.pos
      // Last one wins for a repeated key, as InfluxDB stores it.
      if (key === '__proto__') define(fields, key, value)
      else fields[key] = value
      if (i >= n) return this.finish(measurement, tags, fields, this.defaultTs, i)
      c = s.charCodeAt(i)
      if (c === 44) {
        i++
        continue
      }
      if (c === 32) break
      if (this.atLineEnd(i)) return this.finish(measurement, tags, fields, this.defaultTs, c === 10 ? i : i + 1)
      return this.fail(i, 'invalid field format') // only after a closing quote: `"a"b`
    }

    // timestamp, after one or more spaces, then only spaces
    while (c === 32) c = s.charCodeAt(++i)
    if (this.atLineEnd(i)) return this.finish(measurement, tags, fields, this.defaultTs, this.lineEnd(i))
    const tsStart = i
    const negative = c === 45
    if (negative) i++
    const digitsStart = i
    while (i < n) {
      c = s.charCodeAt(i)
      if (c < 48 || c > 57) break
      i++
    }
    if (i === digitsStart) return this.fail(this.atValueEnd(i) ? tsStart : i, 'bad timestamp')
    if (!(i >= n || c === 32 || this.atLineEnd(i))) return this.fail(i, 'bad timestamp')
    const ts = this.timestamp(digitsStart, i, negative)
    if (ts === undefined) return this.fail(tsStart, TIME_RANGE_MESSAGE)
    while (c === 32) c = s.charCodeAt(++i)
    if (!this.atLineEnd(i)) return this.fail(i, 'point is invalid: unexpected text after the timestamp')
    return this.finish(measurement, tags, fields, ts, this.lineEnd(i))
  }

  /** Index of the `\n` ending the line at `i` (which is at a line end), or n. */
  private lineEnd(i: number): number {
    return i < this.n && this.s.charCodeAt(i) === 13 ? i + 1 : i
  }

  private finish(measurement: string, tags: Tags, fields: Record<string, FieldValue>, ts: number, end: number): number {
    this.points.push({measurement, tags, fields, ts})
    return end
  }

  /** `"..."` starting at the quote; `\"` and `\\` are the only escapes; newlines are literal. */
  private parseString(quote: number): string | undefined {
    const s = this.s
    const n = this.n
    let i = quote + 1
    let escaped = false
    let newlines = 0
    while (i < n) {
      const c = s.charCodeAt(i)
      if (c === 34) break
      if (c === 92) {
        const d = s.charCodeAt(i + 1)
        if (d === 34 || d === 92) {
          escaped = true
          i += 2
          continue
        }
      } else if (c === 10) {
        newlines++
      }
      i++
    }
    if (i >= n) {
      this.fail(quote, 'unbalanced quotes')
      return undefined
    }
    const value = escaped ? unescapeString(s, quote + 1, i) : s.slice(quote + 1, i)
    if (value.length * 3 > MAX_STRING_FIELD_BYTES) {
      const bytes = Buffer.byteLength(value)
      if (bytes > MAX_STRING_FIELD_BYTES) {
        this.fail(quote, `string field value too long: ${bytes} bytes > ${MAX_STRING_FIELD_BYTES}`)
        return undefined
      }
    }
    this.newlines += newlines
    this.pos = i + 1
    return value
  }

  /** After a value: `,`, a blank or the end of the line. */
  private atValueEnd(i: number): boolean {
    if (i >= this.n) return true
    const c = this.s.charCodeAt(i)
    return c === 44 || c === 32 || this.atLineEnd(i)
  }

  /**
   * A float (`-1.5`, `.5`, `1.`, `1e3`, `-1.5E-3`), integer (`12i`) or unsigned (`12u`), with
   * InfluxDB's grammar: no `+` sign, no NaN/Inf, no hex, no exponent or point with i/u.
   */
  private parseNumber(start: number): FieldValue | undefined {
    const s = this.s
    const n = this.n
    let i = start
    const negative = s.charCodeAt(i) === 45
    if (negative) i++
    let mantissa = 0
    const intStart = i
    let c = s.charCodeAt(i)
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48)
      c = s.charCodeAt(++i)
    }
    const intDigits = i - intStart
    let fracDigits = 0
    let dot = false
    if (c === 46) {
      dot = true
      const fracStart = ++i
      c = s.charCodeAt(i)
      while (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48)
        c = s.charCodeAt(++i)
      }
      fracDigits = i - fracStart
    }
    if (intDigits + fracDigits === 0) {
      this.fail(i < n && !this.atValueEnd(i) ? i : this.endColumn(i), 'invalid number')
      return undefined
    }
    let exponent = false
    if (c === 101 || c === 69) {
      exponent = true
      c = s.charCodeAt(++i)
      if (c === 43 || c === 45) c = s.charCodeAt(++i)
      const expStart = i
      while (c >= 48 && c <= 57) c = s.charCodeAt(++i)
      if (i === expStart) {
        this.fail(this.atValueEnd(i) ? this.endColumn(i) : i, 'invalid number')
        return undefined
      }
    }
    if (c === 105 || c === 117) {
      const unsigned = c === 117
      if (dot || exponent || (unsigned && negative)) {
        this.fail(dot || exponent ? i : start, 'invalid number')
        return undefined
      }
      if (!this.atValueEnd(i + 1)) {
        this.fail(i + 1, 'invalid number')
        return undefined
      }
      this.pos = i + 1
      if (intDigits <= 15) return unsigned ? new UInt(BigInt(mantissa)) : BigInt(negative ? -mantissa : mantissa)
      const big = BigInt(s.slice(start, i))
      if (unsigned ? big > UINT64_MAX : big < INT64_MIN || big > INT64_MAX) {
        this.fail(start, `unable to parse ${unsigned ? 'unsigned' : 'integer'}: value out of range`)
        return undefined
      }
      return unsigned ? new UInt(big) : big
    }
    if (!this.atValueEnd(i)) {
      this.fail(i, 'invalid number')
      return undefined
    }
    this.pos = i
    // Up to 15 digits and no exponent: mantissa and 10^k are exact doubles, so the quotient is
    // the correctly rounded value, the same double Number() (and Go's ParseFloat) produce.
    if (!exponent && intDigits + fracDigits <= 15) {
      const v = fracDigits === 0 ? mantissa : mantissa / POW10[fracDigits]
      return negative ? -v : v
    }
    const v = Number(s.slice(start, i))
    if (!Number.isFinite(v)) {
      this.fail(start, 'invalid float: value out of range')
      return undefined
    }
    return v
  }

  /** t T true True TRUE f F false False FALSE, as InfluxDB. */
  private parseBoolean(start: number): boolean | undefined {
    const s = this.s
    const n = this.n
    let i = start
    while (i < n) {
      const c = s.charCodeAt(i)
      if (c === 44 || c === 32 || c === 10) break
      i++
    }
    if (i > start + 1 && s.charCodeAt(i - 1) === 13 && (i >= n || s.charCodeAt(i) === 10)) i--
    this.pos = i
    switch (s.slice(start, i)) {
      case 't':
      case 'T':
      case 'true':
      case 'True':
      case 'TRUE':
        return true
      case 'f':
      case 'F':
      case 'false':
      case 'False':
      case 'FALSE':
        return false
      default:
        this.fail(start, 'invalid boolean')
        return undefined
    }
  }

  /**
   * Digits [from, to) in the parser's precision → ms, floored; undefined when the nanosecond value
   * is outside InfluxDB's range. Works on the digits so that 19-digit values are exact.
   */
  private timestamp(from: number, to: number, negative: boolean): number | undefined {
    const s = this.s
    const {limit, limitMs, subMsDigits, msPerUnit} = this.precision
    while (to - from > 1 && s.charCodeAt(from) === 48) from++
    const digits = to - from
    if (digits > limit.length) return undefined
    const msEnd = to - subMsDigits
    let ms = 0 // at most 13 digits here, so exact
    for (let k = from; k < msEnd; k++) ms = ms * 10 + (s.charCodeAt(k) - 48)
    if (digits === limit.length && ms >= limitMs) {
      // within a millisecond of the end of the range: compare the sub-millisecond digits
      if (ms > limitMs) return undefined
      for (let k = msEnd, j = limit.length - subMsDigits; k < to; k++, j++) {
        const d = s.charCodeAt(k) - limit.charCodeAt(j)
        if (d < 0) break
        if (d > 0) return undefined
      }
    }
    ms *= msPerUnit
    if (!negative) return ms
    for (let k = Math.max(from, msEnd); k < to; k++) {
      if (s.charCodeAt(k) !== 48) return -ms - 1 // floor: -1.5 ms is -2 ms
    }
    return 0 - ms // never -0
  }
}

function reuse(s: string, from: number, to: number, cache: string[], index: number): string {
  const last = cache[index]
  if (last !== undefined && last.length === to - from && s.startsWith(last, from)) return last
  const value = s.slice(from, to)
  cache[index] = value
  return value
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {value, writable: true, enumerable: true, configurable: true})
}

function countNewlines(s: string, from: number, to: number): number {
  let count = 0
  for (let i = s.indexOf('\n', from); i >= 0 && i < to; i = s.indexOf('\n', i + 1)) count++
  return count
}

function codePoints(s: string, from: number, to: number): number {
  let count = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xdc00 || c > 0xdfff || i === from || s.charCodeAt(i - 1) < 0xd800 || s.charCodeAt(i - 1) > 0xdbff) count++
  }
  return count
}

/** Removes the backslash of `\,` `\ ` `\=` (all three in measurements too, as InfluxDB 1.x). */
function unescapeName(s: string, from: number, to: number): string {
  let out = ''
  let last = from
  for (let i = from; i < to; i++) {
    if (s.charCodeAt(i) !== 92) continue
    const d = s.charCodeAt(i + 1)
    if (i + 1 < to && (d === 44 || d === 32 || d === 61)) {
      out += s.slice(last, i)
      last = i + 1 // keep the escaped character
      i++
    }
  }
  return out + s.slice(last, to)
}

function unescapeString(s: string, from: number, to: number): string {
  let out = ''
  let last = from
  for (let i = from; i < to; i++) {
    if (s.charCodeAt(i) !== 92) continue
    const d = s.charCodeAt(i + 1)
    if (d === 34 || d === 92) {
      out += s.slice(last, i)
      last = i + 1
      i++
    }
  }
  return out + s.slice(last, to)
}

// ---------------------------------------------------------------------------------------------
// Serialization

/**
 * One point as one line of line protocol (no trailing newline): tags sorted by key (InfluxDB's
 * advice), empty tag values left out (InfluxDB drops them), fields in insertion order, the
 * timestamp in `precision` (floored).
 *
 * Throws an {@link InputError} for a point that line protocol cannot carry: no fields, an empty
 * or `#`-leading measurement, an empty key, a name ending with a backslash or containing a
 * newline, a NaN/infinite float, an integer out of 64-bit range, a string over 64KiB, a
 * timestamp outside InfluxDB's range.
 */
export function serializePoint(p: Point, precision: Precision = 'ms'): string {
  const m = p.measurement
  checkName(p, m, 'measurement')
  const first = m.charCodeAt(0)
  if (first === 35 || first === 9) {
    throw unserializable(p, `the measurement starts with ${first === 35 ? '"#" (a comment)' : 'a tab'}`)
  }
  let line = escapeMeasurement(m)
  const tagKeys = Object.keys(p.tags)
  if (tagKeys.length > 1) tagKeys.sort()
  for (const k of tagKeys) {
    const v = p.tags[k]
    if (v === '' || v === undefined) continue
    checkName(p, k, 'tag key')
    checkName(p, v, `value of tag ${JSON.stringify(k)}`)
    line += ',' + escapeTag(k) + '=' + escapeTag(v)
  }
  let sep = ' '
  for (const k of Object.keys(p.fields)) {
    checkName(p, k, 'field key')
    line += sep + escapeTag(k) + '=' + formatFieldValue(p, k, p.fields[k])
    sep = ','
  }
  if (sep === ' ') throw unserializable(p, 'it has no fields (point without fields is unsupported)')
  return line + ' ' + formatTimestamp(p, precision)
}

/** Points as line protocol, one per line, each line ending with `\n` (empty string for none). */
export function serializePoints(points: readonly Point[], precision: Precision = 'ms'): string {
  if (points.length === 0) return ''
  // One join copies everything once into a flat string (`out +=` per line measured slower).
  const lines: string[] = new Array(points.length + 1)
  for (let k = 0; k < points.length; k++) lines[k] = serializePoint(points[k], precision)
  lines[points.length] = ''
  return lines.join('\n')
}

function unserializable(p: Point, why: string): InputError {
  const name = typeof p.measurement === 'string' ? JSON.stringify(p.measurement.slice(0, 100)) : String(p.measurement)
  return new InputError(`cannot write point ${name} as line protocol: ${why}`)
}

function checkName(p: Point, s: string, what: string): void {
  if (typeof s !== 'string') throw unserializable(p, `the ${what} is not a string`)
  if (s === '') throw unserializable(p, `the ${what} is empty`)
  if (s.charCodeAt(s.length - 1) === 92) throw unserializable(p, `the ${what} ends with a backslash, which line protocol cannot express`)
  if (s.includes('\n')) throw unserializable(p, `the ${what} contains a newline, which line protocol cannot express`)
}

function formatFieldValue(p: Point, key: string, v: FieldValue): string {
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw unserializable(p, `field ${JSON.stringify(key)} is ${v}, which InfluxDB does not support`)
      // String() is the shortest text that reads back as the same double; integral values print
      // without a point (`1`), which InfluxDB reads as a float.
      return v === 0 && 1 / v < 0 ? '-0' : String(v)
    case 'bigint':
      if (v < INT64_MIN || v > INT64_MAX) throw unserializable(p, `integer field ${JSON.stringify(key)} is out of the 64-bit range`)
      return v + 'i'
    case 'boolean':
      return v ? 'true' : 'false'
    case 'string': {
      if (v.length * 3 > MAX_STRING_FIELD_BYTES && Buffer.byteLength(v) > MAX_STRING_FIELD_BYTES) {
        throw unserializable(p, `string field ${JSON.stringify(key)} is longer than ${MAX_STRING_FIELD_BYTES} bytes`)
      }
      return '"' + escapeString(v) + '"'
    }
    default:
      if (v instanceof UInt) {
        if (v.value > UINT64_MAX) throw unserializable(p, `unsigned field ${JSON.stringify(key)} is out of the 64-bit range`)
        return v.value + 'u'
      }
      throw unserializable(p, `field ${JSON.stringify(key)} has an unsupported value (${String(v)})`)
  }
}

/** `"` and `\` get a backslash; newlines stay literal (InfluxDB accepts them inside quotes). */
function escapeString(s: string): string {
  const n = s.length
  let i = 0
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 34 || c === 92) break
  }
  if (i === n) return s
  let out = s.slice(0, i)
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 34 || c === 92) out += '\\'
    out += s[i]
  }
  return out
}

function formatTimestamp(p: Point, precision: Precision): string {
  const ts = p.ts
  if (!Number.isInteger(ts)) throw unserializable(p, `the timestamp ${ts} is not an integer number of milliseconds`)
  if (ts > MAX_TS_MS || ts < -MAX_TS_MS) throw unserializable(p, TIME_RANGE_MESSAGE)
  switch (precision) {
    case 'ns':
      return ts === 0 ? '0' : ts + '000000'
    case 'us':
      return ts === 0 ? '0' : ts + '000'
    case 'ms':
      return String(ts)
    default: {
      const info = PRECISIONS[precision]
      if (info === undefined) throw new InputError(`invalid precision ${JSON.stringify(precision)}`)
      return String(Math.floor(ts / info.msPerUnit))
    }
  }
}
