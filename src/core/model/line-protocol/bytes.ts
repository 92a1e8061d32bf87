/**
 * The byte fast path of validateLineProtocol (`checkAsciiLineProtocol`): the same checks in the
 * same order on an ASCII body, without decoding it.
 */
import {isAscii} from 'node:buffer'
import {escapeTag} from '../point.js'
import {type ValidateOptions, MAX_STRING_FIELD_BYTES, MAX_KEY_BYTES, INT64_MAX_DIGITS, INT64_MIN_DIGITS, UINT64_MAX_DIGITS, MANY_TAGS, NAME_SPECIAL, precisionTable} from './common.js'

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
  const info = precisionTable(opts.precision ?? 'ns')
  if (!isAscii(bytes)) return undefined
  const checker = new AsciiChecker(bytes, info.limit, opts.requiredTags ?? [])
  return checker.run() ? {points: checker.valid, untimed: checker.untimed, missingTags: checker.missingTags} : undefined
}

/**
 * {@link checkAsciiLineProtocol} on a body in the parts it arrived in, without joining them: each
 * part is checked in place up to its last newline, and an entry a part's end cut is joined with its
 * rest (up to the next newline) and checked alone. Outside a quoted string value a newline always
 * ends an entry, and whether one is inside a string depends only on the bytes before it in its
 * entry: so where every cut is an entry's end, the counts are the whole body's; a cut inside a
 * string leaves that entry unterminated, so the answer is undefined (as for any bad entry) and the
 * caller joins the body and takes the exact way. A test holds this to the whole body's verdict.
 */
export function checkAsciiLineProtocolParts(parts: readonly Buffer[], opts: Pick<ValidateOptions, 'precision' | 'requiredTags'> = {}): AsciiCheck | undefined {
  const total: AsciiCheck = {points: 0, untimed: 0, missingTags: 0}
  const add = (bytes: Uint8Array): boolean => {
    if (bytes.length === 0) return true
    const check = checkAsciiLineProtocol(bytes, opts)
    if (!check) return false
    total.points += check.points
    total.untimed += check.untimed
    total.missingTags += check.missingTags
    return true
  }
  /** the start of an entry cut by the end of the parts before */
  let carry: Buffer[] = []
  for (const part of parts) {
    let from = 0
    if (carry.length > 0) {
      const nl = part.indexOf(10)
      if (nl < 0) {
        carry.push(part)
        continue
      }
      carry.push(part.subarray(0, nl + 1))
      if (!add(Buffer.concat(carry))) return undefined
      carry = []
      from = nl + 1
    }
    const last = part.lastIndexOf(10)
    if (last >= from) {
      if (!add(part.subarray(from, last + 1))) return undefined
      from = last + 1
    }
    if (from < part.length) carry.push(part.subarray(from))
  }
  if (carry.length > 0 && !add(carry.length === 1 ? carry[0]! : Buffer.concat(carry))) return undefined
  return total
}

/** {@link AsciiChecker.common}'s "not the common case": the exact way decides. */
const FALL_BACK = -2

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
  private readonly words: DataView

  constructor(
    private readonly b: Uint8Array,
    private readonly limit: string,
    required: readonly string[],
  ) {
    this.n = b.length
    this.words = new DataView(b.buffer, b.byteOffset, b.byteLength)
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
      let end = this.common(pos)
      if (end === FALL_BACK) end = this.entry(pos)
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
      if (NAME_SPECIAL[c] === 0) {
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

  /**
   * The common entry in one pass, no method per byte: plain names (no backslash), a timestamp,
   * fields that are short decimal numbers (others through {@link number}, {@link string},
   * {@link boolean}), `\n` endings. Anything else — and every bad entry — is {@link FALL_BACK}:
   * then {@link entry} checks the same entry from its start, so this only ever says yes where
   * entry() says yes, with the same counts (a test holds the two to one verdict).
   */
  private common(start: number): number {
    const b = this.b
    const n = this.n
    let i = start
    let c = b[i]!
    // the measurement: a name byte first (a comma, `=` or `\` there goes the exact way)
    while (NAME_SPECIAL[c] === 0) {
      if (++i >= n) return FALL_BACK
      c = b[i]!
    }
    if (i === start || (c !== 44 && c !== 32)) return FALL_BACK
    let tagIndex = 0
    this.found = 0
    while (c === 44) {
      const keyStart = ++i
      c = b[i]!
      while (NAME_SPECIAL[c] === 0) c = b[++i]!
      if (i === keyStart || c !== 61) return FALL_BACK
      const keyEnd = i
      const valueStart = ++i
      c = b[i]!
      while (NAME_SPECIAL[c] === 0) c = b[++i]!
      if (i === valueStart || (c !== 44 && c !== 32)) return FALL_BACK
      if (this.seenTagKey(keyStart, keyEnd, tagIndex)) return FALL_BACK
      if (this.required.length > 0) this.lookForRequired(keyStart, keyEnd)
      tagIndex++
    }
    const keyLength = i - start
    if (keyLength > MAX_KEY_BYTES - 5) return FALL_BACK
    // fields
    for (;;) {
      const keyStart = ++i
      c = b[i]!
      while (NAME_SPECIAL[c] === 0) c = b[++i]!
      if (i === keyStart || c !== 61) return FALL_BACK
      if (keyLength + 4 + (i - keyStart) > MAX_KEY_BYTES) return FALL_BACK
      const valueStart = ++i
      c = b[i]!
      if (c >= 48 && c <= 57) {
        // digits [. digits] [i], up to 15 integer digits: a number entry() accepts as it is
        do c = b[++i]!
        while (c >= 48 && c <= 57)
        const intDigits = i - valueStart
        if (c === 46) {
          do c = b[++i]!
          while (c >= 48 && c <= 57)
          if (intDigits > 15 || c === 101 || c === 69 || c === 105 || c === 117) return FALL_BACK
        } else if (c === 105) {
          if (intDigits > 15) return FALL_BACK
          c = b[++i]!
        } else if (intDigits > 15 || c === 101 || c === 69 || c === 117) return FALL_BACK
      } else {
        let ok: boolean
        if (c === 34) ok = this.string(valueStart)
        else if (c === 45 || c === 46) ok = this.number(valueStart)
        else if (c === 116 || c === 102 || c === 84 || c === 70) ok = this.boolean(valueStart)
        else return FALL_BACK
        if (!ok) return FALL_BACK
        i = this.pos
        c = b[i]!
      }
      if (c === 44) continue
      if (c !== 32) return FALL_BACK
      break
    }
    // the timestamp: digits (four at a time: ASCII, so no byte carries into the next), then the end of the line
    const digitsStart = ++i
    const words = this.words
    while (i + 4 <= n) {
      const w = words.getUint32(i, true)
      if (((w + 0x46464646) | (w - 0x30303030)) & 0x80808080) break
      i += 4
    }
    c = b[i]!
    while (c >= 48 && c <= 57) c = b[++i]!
    const digits = i - digitsStart
    if (digits === 0 || c !== 10) return FALL_BACK
    if (digits >= this.limit.length && !bytesAtMost(b, digitsStart, i, this.limit)) return FALL_BACK
    return this.finish(i, true)
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
    const required = this.required
    for (let k = 0; k < required.length; k++) {
      const key = required[k]!
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
