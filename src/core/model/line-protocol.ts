/**
 * InfluxDB line protocol: parse, validate and serialize.
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * `parseLineProtocol` builds points; `validateLineProtocol` gives the same verdict (the same
 * errors, the same entries kept) without building anything, for callers that keep the text as it
 * came; `checkAsciiLineProtocol` is its fast path on bytes for an ASCII body with no bad entry.
 * `serializePoint(s)` and `PointSerializer` write points.
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
 *   consequence a name ending with a backslash cannot be written in line protocol at all:
 *   `serializePoint` throws for those instead of writing something that InfluxDB would read
 *   differently. A newline in a name (Prometheus allows one in a label value) is written `\n`, as
 *   Telegraf's serializer does; InfluxDB and this parser read it back as a backslash and an `n`,
 *   so both stores hold the same value and writing it again gives the same text.
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
import {isAscii} from 'node:buffer'
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

export interface ValidateOptions {
  /** precision of the timestamps in the input; default `ns`, as InfluxDB */
  precision?: Precision
  /** name of the input, copied into each {@link LineError} */
  file?: string
  /** added to every reported line number (for input that is a chunk of a larger text) */
  lineOffset?: number
  /** tag keys to look for: {@link ValidateResult.missingTags} counts the valid entries lacking one */
  requiredTags?: readonly string[]
  /** also say where the valid entries are ({@link ValidateResult.validLineRanges}) */
  ranges?: boolean
}

export interface ValidateResult {
  /** valid entries: the points {@link parseLineProtocol} would return */
  points: number
  /** exactly the errors {@link parseLineProtocol} reports for the same input and precision */
  errors: LineError[]
  /** valid entries without a timestamp (they would get the time of arrival) */
  untimed: number
  /** valid entries that lack at least one of `opts.requiredTags` (as an own tag key) */
  missingTags: number
  /**
   * With `opts.ranges`: the valid entries as `[start, end)` pairs of offsets into the text, a run
   * of consecutive valid entries as one pair (with any blank or comment lines between them). An
   * end excludes the line's `\n` or `\r\n`, so joining the slices with `\n` gives the valid entries.
   */
  validLineRanges?: number[]
}

/** Longest string field value, in UTF-8 bytes (InfluxDB documents 64KB). */
export const MAX_STRING_FIELD_BYTES = 65_536
/** Longest series key (measurement + tags, escaped) plus 4 plus a field key, in bytes, as InfluxDB. */
export const MAX_KEY_BYTES = 65_535

const TIME_RANGE_MESSAGE = 'time outside range -9223372036854775806 - 9223372036854775806'
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const UINT64_MAX = 2n ** 64n - 1n
const INT64_MAX_DIGITS = String(INT64_MAX)
const INT64_MIN_DIGITS = String(-INT64_MIN)
const UINT64_MAX_DIGITS = String(UINT64_MAX)
/** Beyond this many tags in an entry, validation finds duplicates with a Set. */
const MANY_TAGS = 32
/** Stands in for the tags and fields objects in validate mode (never written to). */
const NOTHING: Record<string, never> = Object.freeze(Object.create(null) as Record<string, never>)
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
  const parser = new Parser(text, info, defaultTs, opts.file, opts.lineOffset ?? 0, true)
  parser.run()
  return {points: parser.points, errors: parser.errors}
}

/**
 * Checks line protocol exactly as {@link parseLineProtocol} does — the same errors at the same
 * positions, the same entries kept — without building anything: no {@link Point}s, no names, no
 * BigInts (integers are range-checked on their digits). For a caller that keeps the text as it
 * came and only needs to know which entries are good (the listener's partial writes).
 */
export function validateLineProtocol(text: string, opts: ValidateOptions = {}): ValidateResult {
  const precision = opts.precision ?? 'ns'
  const info = PRECISIONS[precision]
  if (info === undefined) throw new InputError(`invalid precision ${JSON.stringify(precision)}`)
  const parser = new Parser(text, info, 0, opts.file, opts.lineOffset ?? 0, false)
  if (opts.requiredTags && opts.requiredTags.length > 0) parser.requireTags(opts.requiredTags)
  if (opts.ranges) parser.ranges = []
  parser.run()
  const result: ValidateResult = {points: parser.valid, errors: parser.errors, untimed: parser.untimed, missingTags: parser.missingTags}
  if (parser.ranges) result.validLineRanges = parser.ranges
  return result
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
 *
 * With `build` false it only validates (validateLineProtocol): the same scan and the same checks,
 * in the same order, but nothing is allocated for a good entry — names are not sliced, values not
 * converted, duplicate tag keys are found by comparing the raw text (an escaped key has exactly
 * one spelling, so equal text is equal keys).
 */
class Parser {
  readonly points: Point[] = []
  readonly errors: LineError[] = []
  /** valid entries */
  valid = 0
  /** valid entries without a timestamp */
  untimed = 0
  /** valid entries lacking one of the required tags (validate mode) */
  missingTags = 0
  /** [start, end) runs of valid entries, when asked for (validate mode) */
  ranges: number[] | undefined
  private runStart = -1
  private runEnd = -1
  /** required tag keys as they are spelled in line protocol (escaped) */
  private required: string[] = []
  /** required tags found in the current entry */
  private found = 0
  /** where the current entry's tag keys are, for the duplicate check in validate mode */
  private readonly tagKeyStarts: number[] = []
  private readonly tagKeyEnds: number[] = []
  private tagKeySet?: Set<string>
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
    /** build points (parse) or only check (validate) */
    private readonly build: boolean,
  ) {
    this.n = s.length
  }

  requireTags(keys: readonly string[]): void {
    this.required = [...new Set(keys)].map(escapeTag)
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
        if (this.ranges) {
          if (this.runStart < 0) this.runStart = pos
          this.runEnd = end > pos && s.charCodeAt(end - 1) === 13 ? end - 1 : end
        }
        pos = end + 1
        line += 1 + this.newlines
        continue
      }
      if (this.ranges && this.runStart >= 0) {
        this.ranges.push(this.runStart, this.runEnd)
        this.runStart = -1
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
    if (this.ranges && this.runStart >= 0) this.ranges.push(this.runStart, this.runEnd)
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
    const build = this.build
    let i = start
    let c = s.charCodeAt(i)
    if (c === 44) return this.fail(i, 'missing measurement')

    // measurement: ends at an unescaped comma or space
    i = this.scanName(i, false)
    let escaped = this.escaped
    c = i < n ? s.charCodeAt(i) : -1
    if (c !== 44 && c !== 32) return this.fail(this.endColumn(i), 'missing fields')
    let measurement = this.lastMeasurement
    if (!build) {
      // nothing to name
    } else if (escaped) measurement = unescapeName(s, start, i)
    else if (measurement.length !== i - start || !s.startsWith(measurement, start)) {
      measurement = this.lastMeasurement = s.slice(start, i)
    }

    // tag set
    const tags: Tags = build ? {} : NOTHING
    let tagIndex = 0
    this.found = 0
    while (c === 44) {
      const keyStart = ++i
      i = this.scanName(i, true)
      escaped = this.escaped
      c = i < n ? s.charCodeAt(i) : -1
      if (i === keyStart) return this.fail(this.endColumn(i), 'missing tag key')
      if (c !== 61) return this.fail(this.endColumn(i), 'missing tag value')
      const keyEnd = i
      const key = !build ? '' : escaped ? unescapeName(s, keyStart, i) : reuse(s, keyStart, i, this.lastTagKeys, tagIndex)
      const valueStart = ++i
      i = this.scanName(i, true)
      escaped = this.escaped
      c = i < n ? s.charCodeAt(i) : -1
      if (i === valueStart) return this.fail(this.endColumn(i), 'missing tag value')
      if (c === 61) return this.fail(i, 'invalid tag format')
      if (build) {
        if (tags[key] !== undefined && Object.hasOwn(tags, key)) return this.fail(keyStart, 'duplicate tags')
        const value = escaped ? unescapeName(s, valueStart, i) : reuse(s, valueStart, i, this.lastTagValues, tagIndex)
        if (key === '__proto__') define(tags, key, value)
        else tags[key] = value
      } else {
        if (this.seenTagKey(keyStart, keyEnd, tagIndex)) return this.fail(keyStart, 'duplicate tags')
        if (this.required.length > 0) this.lookForRequired(keyStart, keyEnd)
      }
      tagIndex++
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
    const fields: Record<string, FieldValue> = build ? {} : NOTHING
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
      const key = !build ? '' : escaped ? unescapeName(s, keyStart, i) : reuse(s, keyStart, i, this.lastFieldKeys, fieldIndex)
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
      if (!build) {
        // nothing to keep
      } else if (key === '__proto__') define(fields, key, value)
      else fields[key] = value
      if (i >= n) return this.finish(measurement, tags, fields, this.defaultTs, i, false)
      c = s.charCodeAt(i)
      if (c === 44) {
        i++
        continue
      }
      if (c === 32) break
      if (this.atLineEnd(i)) return this.finish(measurement, tags, fields, this.defaultTs, c === 10 ? i : i + 1, false)
      return this.fail(i, 'invalid field format') // only after a closing quote: `"a"b`
    }

    // timestamp, after one or more spaces, then only spaces
    while (c === 32) c = s.charCodeAt(++i)
    if (this.atLineEnd(i)) return this.finish(measurement, tags, fields, this.defaultTs, this.lineEnd(i), false)
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
    // validating needs the range only: |ts| ≤ the limit, the same test as timestamp()'s
    const ts = build ? this.timestamp(digitsStart, i, negative) : digitsAtMost(s, digitsStart, i, this.precision.limit) ? 0 : undefined
    if (ts === undefined) return this.fail(tsStart, TIME_RANGE_MESSAGE)
    while (c === 32) c = s.charCodeAt(++i)
    if (!this.atLineEnd(i)) return this.fail(i, 'point is invalid: unexpected text after the timestamp')
    return this.finish(measurement, tags, fields, ts, this.lineEnd(i), true)
  }

  /**
   * Validate mode: whether the tag key at [from, to) equals one of the entry's earlier ones
   * (`count` of them, recorded here as they come). Raw text is compared: a key has exactly one
   * escaped spelling (a `,` `=` or space in it is always `\`-escaped, anything else literal).
   */
  private seenTagKey(from: number, to: number, count: number): boolean {
    const s = this.s
    const starts = this.tagKeyStarts
    const ends = this.tagKeyEnds
    if (count >= MANY_TAGS) {
      // many tags: pairwise comparing would be quadratic
      if (count === MANY_TAGS) {
        this.tagKeySet = new Set()
        for (let k = 0; k < count; k++) this.tagKeySet.add(s.slice(starts[k], ends[k]))
      }
      const key = s.slice(from, to)
      if (this.tagKeySet!.has(key)) return true
      this.tagKeySet!.add(key)
      return false
    }
    const length = to - from
    for (let k = 0; k < count; k++) {
      const a = starts[k]!
      if (ends[k]! - a !== length) continue
      let j = 0
      while (j < length && s.charCodeAt(a + j) === s.charCodeAt(from + j)) j++
      if (j === length) return true
    }
    starts[count] = from
    ends[count] = to
    return false
  }

  /** Validate mode: counts the tag key at [from, to) when it is one of the required ones. */
  private lookForRequired(from: number, to: number): void {
    const s = this.s
    for (const key of this.required) {
      if (key.length === to - from && s.startsWith(key, from)) {
        this.found++
        return
      }
    }
  }

  /** Index of the `\n` ending the line at `i` (which is at a line end), or n. */
  private lineEnd(i: number): number {
    return i < this.n && this.s.charCodeAt(i) === 13 ? i + 1 : i
  }

  private finish(measurement: string, tags: Tags, fields: Record<string, FieldValue>, ts: number, end: number, timed: boolean): number {
    this.valid++
    if (!timed) this.untimed++
    if (this.build) this.points.push({measurement, tags, fields, ts})
    else if (this.found < this.required.length) this.missingTags++
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
    // validating: only a value that may be too long is looked at (its unescaped length is at most i - quote - 1)
    if (!this.build && (i - quote - 1) * 3 <= MAX_STRING_FIELD_BYTES) {
      this.newlines += newlines
      this.pos = i + 1
      return ''
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
      if (!this.build) {
        if (intDigits <= 15 || digitsAtMost(s, intStart, i, unsigned ? UINT64_MAX_DIGITS : negative ? INT64_MIN_DIGITS : INT64_MAX_DIGITS)) return 0
        this.fail(start, `unable to parse ${unsigned ? 'unsigned' : 'integer'}: value out of range`)
        return undefined
      }
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
    // Without an exponent and with fewer than 309 integer digits a float is below 1e308: finite.
    if (!this.build && !exponent && intDigits <= 308) return 0
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
    // compared in place: slicing every value would allocate
    switch (i - start) {
      case 1: {
        const c = s.charCodeAt(start)
        if (c === 116 || c === 84) return true
        if (c === 102 || c === 70) return false
        break
      }
      case 4:
        if (s.startsWith('true', start) || s.startsWith('True', start) || s.startsWith('TRUE', start)) return true
        break
      case 5:
        if (s.startsWith('false', start) || s.startsWith('False', start) || s.startsWith('FALSE', start)) return false
        break
    }
    this.fail(start, 'invalid boolean')
    return undefined
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

/**
 * Whether the digits [from, to) (leading zeros allowed) are at most `limit`, a number without
 * leading zeros written out: the range check of an integer field, without a BigInt.
 */
function digitsAtMost(s: string, from: number, to: number, limit: string): boolean {
  while (from < to && s.charCodeAt(from) === 48) from++
  const digits = to - from
  if (digits !== limit.length) return digits < limit.length
  for (let k = 0; k < digits; k++) {
    const d = s.charCodeAt(from + k) - limit.charCodeAt(k)
    if (d !== 0) return d < 0
  }
  return true
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
// Checking bytes

/** What {@link checkAsciiLineProtocol} found: the counts {@link validateLineProtocol} would give. */
export interface AsciiCheck {
  points: number
  untimed: number
  missingTags: number
}

/**
 * The fast path of {@link validateLineProtocol} for a request body as it came: an ASCII body
 * whose entries are all good (nearly every body) is checked on its bytes, without decoding it
 * into a string. Undefined when that cannot answer — the body has a non-ASCII byte or a bad
 * entry: then decode it and call validateLineProtocol, which says exactly what is wrong where.
 *
 * The checks are validateLineProtocol's, made in the same order, on bytes: in ASCII a byte is a
 * character, so lengths in bytes and in characters agree. A test holds the two to the same verdict.
 */
export function checkAsciiLineProtocol(bytes: Uint8Array, opts: Pick<ValidateOptions, 'precision' | 'requiredTags'> = {}): AsciiCheck | undefined {
  const info = PRECISIONS[opts.precision ?? 'ns']
  if (info === undefined) throw new InputError(`invalid precision ${JSON.stringify(opts.precision)}`)
  if (!isAscii(bytes)) return undefined
  const checker = new AsciiChecker(bytes, info.limit, opts.requiredTags ?? [])
  return checker.run() ? {points: checker.valid, untimed: checker.untimed, missingTags: checker.missingTags} : undefined
}

/** 1 for the bytes that end or escape a name: \n space , = \\ */
const NAME_SPECIAL_BYTE = new Uint8Array(256)
for (const c of [10, 32, 44, 61, 92]) NAME_SPECIAL_BYTE[c] = 1

/**
 * {@link Parser} in validate mode, on ASCII bytes, stopping at the first bad entry (whose error
 * the string parser then reports). Method for method the same scan; where the parser reads past
 * the end of the text (NaN) this reads -1, which every test here treats the same way.
 */
class AsciiChecker {
  valid = 0
  untimed = 0
  missingTags = 0
  private readonly n: number
  private pos = 0
  private readonly required: Uint8Array[]
  private found = 0
  private readonly tagKeyStarts: number[] = []
  private readonly tagKeyEnds: number[] = []
  private tagKeySet?: Set<string>

  constructor(
    private readonly b: Uint8Array,
    private readonly limit: string,
    required: readonly string[],
  ) {
    this.n = b.length
    this.required = [...new Set(required)].map((k) => Buffer.from(escapeTag(k)))
  }

  /** True when every entry is good. */
  run(): boolean {
    const b = this.b
    const n = this.n
    let pos = 0
    while (pos < n) {
      let c = b[pos]!
      while (c === 32 || c === 9) {
        if (++pos >= n) return true
        c = b[pos]!
      }
      if (c === 10 || (c === 13 && (pos + 1 >= n || b[pos + 1] === 10))) {
        pos = c === 10 ? pos + 1 : pos + 2
        continue
      }
      if (c === 35) {
        const nl = b.indexOf(10, pos)
        if (nl < 0) break
        pos = nl + 1
        continue
      }
      const end = this.entry(pos)
      if (end < 0) return false
      pos = end + 1
    }
    return true
  }

  private code(i: number): number {
    return i < this.n ? this.b[i]! : -1
  }

  private scanName(i: number, equalsEnds: boolean): number {
    const b = this.b
    const n = this.n
    while (i < n) {
      const c = b[i]!
      if (NAME_SPECIAL_BYTE[c] === 0) {
        i++
        continue
      }
      if (c === 92) {
        const d = this.code(i + 1)
        i += d === 44 || d === 32 || d === 61 ? 2 : 1
        continue
      }
      if (c === 61 && !equalsEnds) {
        i++
        continue
      }
      break
    }
    return i
  }

  private atLineEnd(i: number): boolean {
    if (i >= this.n) return true
    const c = this.b[i]
    return c === 10 || (c === 13 && (i + 1 >= this.n || this.b[i + 1] === 10))
  }

  private atValueEnd(i: number): boolean {
    if (i >= this.n) return true
    const c = this.b[i]
    return c === 44 || c === 32 || this.atLineEnd(i)
  }

  private lineEnd(i: number): number {
    return i < this.n && this.b[i] === 13 ? i + 1 : i
  }

  /** Parser.parseEntry, verdict only: the index of the entry's `\n` (or n), or -1. */
  private entry(start: number): number {
    const b = this.b
    const n = this.n
    let i = start
    let c = b[i]!
    if (c === 44) return -1

    i = this.scanName(i, false)
    c = this.code(i)
    if (c !== 44 && c !== 32) return -1

    let tagIndex = 0
    this.found = 0
    while (c === 44) {
      const keyStart = ++i
      i = this.scanName(i, true)
      c = this.code(i)
      if (i === keyStart || c !== 61) return -1
      const keyEnd = i
      const valueStart = ++i
      i = this.scanName(i, true)
      c = this.code(i)
      if (i === valueStart || c === 61) return -1
      if (this.seenTagKey(keyStart, keyEnd, tagIndex)) return -1
      if (this.required.length > 0) this.lookForRequired(keyStart, keyEnd)
      tagIndex++
      if (c !== 44 && c !== 32) return -1
    }
    const keyLength = i - start
    if (keyLength > MAX_KEY_BYTES) return -1

    while (c === 32) c = this.code(++i)
    if (this.atLineEnd(i)) return -1
    for (;;) {
      const keyStart = i
      i = this.scanName(i, true)
      c = this.code(i)
      if (i === keyStart || c !== 61) return -1
      if (keyLength + 4 + (i - keyStart) > MAX_KEY_BYTES) return -1
      i++
      if (this.atLineEnd(i)) return -1
      c = b[i]!
      let ok: boolean
      if (c === 34) ok = this.string(i)
      else if ((c >= 48 && c <= 57) || c === 45 || c === 46) ok = this.number(i)
      else if (c === 116 || c === 102 || c === 84 || c === 70) ok = this.boolean(i)
      else return -1
      if (!ok) return -1
      i = this.pos
      if (i >= n) return this.finish(i, false)
      c = b[i]!
      if (c === 44) {
        i++
        continue
      }
      if (c === 32) break
      if (this.atLineEnd(i)) return this.finish(c === 10 ? i : i + 1, false)
      return -1
    }

    while (c === 32) c = this.code(++i)
    if (this.atLineEnd(i)) return this.finish(this.lineEnd(i), false)
    if (c === 45) i++
    const digitsStart = i
    while (i < n) {
      c = b[i]!
      if (c < 48 || c > 57) break
      i++
    }
    if (i === digitsStart) return -1
    if (!(i >= n || c === 32 || this.atLineEnd(i))) return -1
    if (!bytesAtMost(b, digitsStart, i, this.limit)) return -1
    while (c === 32) c = this.code(++i)
    if (!this.atLineEnd(i)) return -1
    return this.finish(this.lineEnd(i), true)
  }

  private finish(end: number, timed: boolean): number {
    this.valid++
    if (!timed) this.untimed++
    if (this.found < this.required.length) this.missingTags++
    return end
  }

  private seenTagKey(from: number, to: number, count: number): boolean {
    const b = this.b
    const starts = this.tagKeyStarts
    const ends = this.tagKeyEnds
    if (count >= MANY_TAGS) {
      if (count === MANY_TAGS) {
        this.tagKeySet = new Set()
        for (let k = 0; k < count; k++) this.tagKeySet.add(latin1(b, starts[k]!, ends[k]!))
      }
      const key = latin1(b, from, to)
      if (this.tagKeySet!.has(key)) return true
      this.tagKeySet!.add(key)
      return false
    }
    const length = to - from
    for (let k = 0; k < count; k++) {
      const a = starts[k]!
      if (ends[k]! - a !== length) continue
      let j = 0
      while (j < length && b[a + j] === b[from + j]) j++
      if (j === length) return true
    }
    starts[count] = from
    ends[count] = to
    return false
  }

  private lookForRequired(from: number, to: number): void {
    const b = this.b
    for (const key of this.required) {
      if (key.length !== to - from) continue
      let j = 0
      while (j < key.length && key[j] === b[from + j]) j++
      if (j === key.length) {
        this.found++
        return
      }
    }
  }

  /** Parser.parseString: balanced, and at most 64KiB once unescaped (ASCII: a byte a character). */
  private string(quote: number): boolean {
    const b = this.b
    const n = this.n
    let i = quote + 1
    let escapes = 0
    while (i < n) {
      const c = b[i]
      if (c === 34) break
      if (c === 92) {
        const d = this.code(i + 1)
        if (d === 34 || d === 92) {
          escapes++
          i += 2
          continue
        }
      }
      i++
    }
    if (i >= n) return false
    if (i - quote - 1 - escapes > MAX_STRING_FIELD_BYTES) return false
    this.pos = i + 1
    return true
  }

  /** Parser.parseNumber's grammar and range checks. */
  private number(start: number): boolean {
    let i = start
    const negative = this.b[i] === 45
    if (negative) i++
    const intStart = i
    let c = this.code(i)
    while (c >= 48 && c <= 57) c = this.code(++i)
    const intDigits = i - intStart
    let fracDigits = 0
    let dot = false
    if (c === 46) {
      dot = true
      const fracStart = ++i
      c = this.code(i)
      while (c >= 48 && c <= 57) c = this.code(++i)
      fracDigits = i - fracStart
    }
    if (intDigits + fracDigits === 0) return false
    let exponent = false
    if (c === 101 || c === 69) {
      exponent = true
      c = this.code(++i)
      if (c === 43 || c === 45) c = this.code(++i)
      const expStart = i
      while (c >= 48 && c <= 57) c = this.code(++i)
      if (i === expStart) return false
    }
    if (c === 105 || c === 117) {
      const unsigned = c === 117
      if (dot || exponent || (unsigned && negative)) return false
      if (!this.atValueEnd(i + 1)) return false
      this.pos = i + 1
      return intDigits <= 15 || bytesAtMost(this.b, intStart, i, unsigned ? UINT64_MAX_DIGITS : negative ? INT64_MIN_DIGITS : INT64_MAX_DIGITS)
    }
    if (!this.atValueEnd(i)) return false
    this.pos = i
    return (!exponent && intDigits <= 308) || Number.isFinite(Number(latin1(this.b, start, i)))
  }

  /** Parser.parseBoolean. */
  private boolean(start: number): boolean {
    const b = this.b
    const n = this.n
    let i = start
    while (i < n) {
      const c = b[i]
      if (c === 44 || c === 32 || c === 10) break
      i++
    }
    if (i > start + 1 && b[i - 1] === 13 && (i >= n || b[i] === 10)) i--
    this.pos = i
    switch (i - start) {
      case 1: {
        const c = b[start]
        return c === 116 || c === 84 || c === 102 || c === 70
      }
      case 4:
        return bytesAre(b, start, 'true') || bytesAre(b, start, 'True') || bytesAre(b, start, 'TRUE')
      case 5:
        return bytesAre(b, start, 'false') || bytesAre(b, start, 'False') || bytesAre(b, start, 'FALSE')
      default:
        return false
    }
  }
}

function bytesAre(b: Uint8Array, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word.charCodeAt(k)) return false
  return true
}

/** {@link digitsAtMost} on bytes. */
function bytesAtMost(b: Uint8Array, from: number, to: number, limit: string): boolean {
  while (from < to && b[from] === 48) from++
  const digits = to - from
  if (digits !== limit.length) return digits < limit.length
  for (let k = 0; k < digits; k++) {
    const d = b[from + k]! - limit.charCodeAt(k)
    if (d !== 0) return d < 0
  }
  return true
}

function latin1(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1')
}

// ---------------------------------------------------------------------------------------------
// Serialization

/**
 * One point as one line of line protocol (no trailing newline): tags sorted by key (InfluxDB's
 * advice), empty tag values left out (InfluxDB drops them), fields in insertion order, the
 * timestamp in `precision` (floored).
 *
 * A newline in a name is written `\n` (Telegraf's spelling; see the header). Throws an
 * {@link InputError} for a point that line protocol cannot carry: no fields, an empty or
 * `#`-leading measurement, an empty key, a name ending with a backslash, a NaN/infinite float, an
 * integer out of 64-bit range, a string over 64KiB, a timestamp outside InfluxDB's range.
 */
export function serializePoint(p: Point, precision: Precision = 'ms'): string {
  return serializerFor(precision).line(p)
}

/** Points as line protocol, one per line, each line ending with `\n` (empty string for none). */
export function serializePoints(points: readonly Point[], precision: Precision = 'ms'): string {
  if (points.length === 0) return ''
  const serializer = new PointSerializer(precision)
  // One join copies everything once into a flat string (`out +=` per line measured slower).
  const lines: string[] = new Array(points.length + 1)
  for (let k = 0; k < points.length; k++) lines[k] = serializer.line(points[k])
  lines[points.length] = ''
  return lines.join('\n')
}

const sharedSerializers: Partial<Record<Precision, PointSerializer>> = {}

function serializerFor(precision: Precision): PointSerializer {
  return (sharedSerializers[precision] ??= new PointSerializer(precision))
}

/**
 * {@link serializePoint} for a run of points, remembering what consecutive points share: the
 * measurement, and the tag and field keys (checked, escaped and the tags' order sorted once while
 * the keys stay the same — points from one source nearly always have the same keys). Tag values
 * are checked and escaped in one pass. Writes exactly what serializePoint writes and refuses
 * exactly the points it refuses, with the same message.
 */
export class PointSerializer {
  /** UTF-8 bytes of the last line {@link line} returned */
  bytes = 0
  private measurement: unknown = undefined
  private measurementText = ''
  private measurementAscii = true
  /** the tag keys as Object.keys gave them, the positions in sorted order, `,key=` once checked */
  private tagKeys: string[] = []
  private tagOrder: number[] = []
  private tagHeads: Array<string | undefined> = []
  private tagHeadsAscii = true
  /** the field keys as Object.keys gave them, `key=` once checked */
  private fieldKeys: string[] = []
  private fieldHeads: Array<string | undefined> = []
  private fieldHeadsAscii = true

  constructor(readonly precision: Precision = 'ms') {}

  /** One point as one line (no newline); throws an InputError as {@link serializePoint} does. */
  line(p: Point): string {
    const m = p.measurement
    if (m !== this.measurement || typeof m !== 'string') {
      checkName(p, m, 'measurement')
      const first = m.charCodeAt(0)
      if (first === 35 || first === 9) {
        throw unserializable(p, `the measurement starts with ${first === 35 ? '"#" (a comment)' : 'a tab'}`)
      }
      this.measurementText = escapeMeasurement(m)
      this.measurementAscii = isAsciiText(m)
      this.measurement = m
    }
    let line = this.measurementText
    let ascii = this.measurementAscii

    const tags = p.tags
    const tagKeys = Object.keys(tags)
    if (!sameStrings(tagKeys, this.tagKeys)) this.newTagKeys(tagKeys)
    const order = this.tagOrder
    for (let j = 0; j < order.length; j++) {
      const k = order[j]!
      const key = tagKeys[k]!
      const v = tags[key]
      if (v === '' || v === undefined) continue
      let head = this.tagHeads[k]
      if (head === undefined) {
        checkName(p, key, 'tag key')
        head = this.tagHeads[k] = ',' + escapeTag(key) + '='
        if (!isAsciiText(key)) this.tagHeadsAscii = false
      }
      const text = typeof v === 'string' ? plainTagValue(v) : undefined
      if (text === undefined) {
        checkName(p, v, `value of tag ${JSON.stringify(key)}`)
        line += head + escapeTag(v)
        if (!isAsciiText(v)) ascii = false
      } else {
        line += head + v
        if (text === NOT_ASCII) ascii = false
      }
    }
    if (!this.tagHeadsAscii) ascii = false

    const fields = p.fields
    const fieldKeys = Object.keys(fields)
    if (!sameStrings(fieldKeys, this.fieldKeys)) {
      this.fieldKeys = fieldKeys
      this.fieldHeads = []
      this.fieldHeadsAscii = true
    }
    if (fieldKeys.length === 0) throw unserializable(p, 'it has no fields (point without fields is unsupported)')
    for (let k = 0; k < fieldKeys.length; k++) {
      const key = fieldKeys[k]!
      let head = this.fieldHeads[k]
      if (head === undefined) {
        checkName(p, key, 'field key')
        head = this.fieldHeads[k] = (k === 0 ? ' ' : ',') + escapeTag(key) + '='
        if (!isAsciiText(key)) this.fieldHeadsAscii = false
      }
      const v = fields[key]!
      if (typeof v === 'string') ascii = false // counted below
      line += head + formatFieldValue(p, key, v)
    }
    if (!this.fieldHeadsAscii) ascii = false
    line += ' ' + formatTimestamp(p, this.precision)
    this.bytes = ascii ? line.length : Buffer.byteLength(line)
    return line
  }

  private newTagKeys(keys: string[]): void {
    this.tagKeys = keys
    const order = keys.map((_, k) => k)
    // the order Array.prototype.sort gives the keys themselves (UTF-16 code units); keys are distinct
    if (order.length > 1) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1))
    this.tagOrder = order
    this.tagHeads = []
    this.tagHeadsAscii = true
  }
}

/** Marks a tag value that needs nothing but is not ASCII. */
const NOT_ASCII = '\u0080'

/**
 * A tag value that can be written as it is: `v` when ASCII, {@link NOT_ASCII} when it has other
 * characters, undefined when it needs escaping or is unwritable (the careful way then says which).
 */
function plainTagValue(v: string): string | undefined {
  const n = v.length
  let bits = 0
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i)
    if (c === 44 || c === 61 || c === 32 || c === 10) return undefined
    bits |= c
  }
  if (n === 0 || v.charCodeAt(n - 1) === 92) return undefined
  return bits < 128 ? v : NOT_ASCII
}

function isAsciiText(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false
  return true
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false
  return true
}

function unserializable(p: Point, why: string): InputError {
  const name = typeof p.measurement === 'string' ? JSON.stringify(p.measurement.slice(0, 100)) : String(p.measurement)
  return new InputError(`cannot write point ${name} as line protocol: ${why}`)
}

function checkName(p: Point, s: string, what: string): void {
  if (typeof s !== 'string') throw unserializable(p, `the ${what} is not a string`)
  if (s === '') throw unserializable(p, `the ${what} is empty`)
  if (s.charCodeAt(s.length - 1) === 92) throw unserializable(p, `the ${what} ends with a backslash, which line protocol cannot express`)
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
