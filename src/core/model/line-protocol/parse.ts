/**
 * Line protocol text → points (`parseLineProtocol`) or a verdict without building anything
 * (`validateLineProtocol`). The rules and the deviations from InfluxDB are listed in index.ts.
 */
import {type FieldValue, type Point, type Tags, UInt, escapeTag} from '../point.js'
import {type LineError, type ParseOptions, type ParseResult, type ValidateOptions, type ValidateResult, MAX_STRING_FIELD_BYTES, MAX_KEY_BYTES, TIME_RANGE_MESSAGE, INT64_MIN, INT64_MAX, UINT64_MAX, INT64_MAX_DIGITS, INT64_MIN_DIGITS, UINT64_MAX_DIGITS, MANY_TAGS, NOTHING, NAME_SPECIAL, POW10, type PrecisionInfo, precisionTable} from './common.js'
import {unescapeName, unescapeString} from './escape.js'

/**
 * Parses line protocol. Never throws for bad input: every line is tried, good points are returned
 * in input order, and each bad line adds one {@link LineError}.
 */
export function parseLineProtocol(text: string, opts: ParseOptions = {}): ParseResult {
  const precision = opts.precision ?? 'ns'
  const info = precisionTable(precision)
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
  const info = precisionTable(precision)
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
