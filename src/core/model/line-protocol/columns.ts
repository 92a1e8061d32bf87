/**
 * The store's fast path into line protocol (`parseLineColumns`): spooled bytes straight into one
 * run of (timestamp, value) per series field, without a Point per line. Lines of one series
 * share one entry, found by the bytes of their series part (measurement and tags as written), so
 * the store looks a series id up once per distinct series of a batch, not once per line.
 *
 * It takes only the common shape, where it is sure to read what parseLineProtocol reads: ASCII,
 * no escapes or quotes, float and integer fields (integers of up to 15 digits), a timestamp on
 * every line, single spaces, `\n` line ends. Anything else — a string, unsigned or boolean field,
 * an escape, a comment, a bad line, a duplicate tag or field key, an exponent, a field with two
 * types — makes it answer undefined, and the caller parses the
 * body the exact way (which also says what is wrong where). A test holds the two to the same runs.
 */
import type {Tags} from '../point.js'
import {MAX_KEY_BYTES, NAME_SPECIAL, POW10, precisionTable, type Precision} from './common.js'

/** One series of a batch: its fields and, per field, the timestamps (ms) and values in line order. */
export interface ColumnSeries {
  /** the series part as written (measurement and tags, bytes as latin1) */
  readonly key: string
  readonly measurement: string
  readonly tags: Tags
  readonly fields: string[]
  /** per field: `float`, or `integer` for `…i` values (one type per field of a batch) */
  readonly types: Array<'float' | 'integer'>
  readonly runs: Array<{ts: number[]; values: number[]}>
  /** the earliest timestamp of any of its lines */
  minTs: number
  /** line number (in the batch) that last set each field: a repeated key in a line is not taken */
  readonly stamp: number[]
  /** another series whose series part hashed the same */
  next?: ColumnSeries
}

export interface LineColumns {
  /** in order of first appearance */
  readonly series: ColumnSeries[]
  /** entries (points) read */
  readonly lines: number
}

/** 1 for the bytes a name of the fast path may hold: printable ASCII but the specials (, = \) and `"` */
const NAME = new Uint8Array(256)
for (let c = 0x21; c <= 0x7e; c++) NAME[c] = NAME_SPECIAL[c] === 0 && c !== 34 ? 1 : 0

/** Longest series part or field key the fast path takes (the exact path checks the real limit). */
const MAX_NAME = Math.min(4096, MAX_KEY_BYTES >> 2)

/**
 * Every entry of `payloads` (each whole lines ending in `\n`) as runs per series field, or
 * undefined when any line is not of the common shape (then use parseLineProtocol).
 */
export function parseLineColumns(payloads: readonly Uint8Array[], precision: Precision): LineColumns | undefined {
  const info = precisionTable(precision)
  /** by the hash of the series part; colliding ones chained through `next` */
  const bySeries = new Map<number, ColumnSeries>()
  const series: ColumnSeries[] = []
  let lines = 0
  // a line's fields until its timestamp is read (reused: no arrays per line)
  const fieldRuns: number[] = []
  const fieldValues: number[] = []
  for (const b of payloads) {
    const n = b.length
    if (n > 0 && b[n - 1] !== 10) return undefined
    const latin1 = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    let pos = 0
    while (pos < n) {
      let c = b[pos]!
      if (c === 10) {
        pos++
        continue
      }
      if (c === 35) return undefined // a comment
      // series part: measurement[,key=value…] up to the first space
      const start = pos
      let tagsAt = -1
      let hash = 0x811c9dc5 // FNV-1a of the series part: found again without making a string of it
      while (NAME[c] === 1 || c === 44 || c === 61) {
        if (c === 44 && tagsAt < 0) tagsAt = pos
        hash = Math.imul(hash ^ c, 16_777_619)
        c = b[++pos]!
      }
      if (c !== 32 || pos === start || pos - start > MAX_NAME || tagsAt === start) return undefined
      const first = bySeries.get(hash)
      let s = first
      while (s !== undefined && !sameBytes(s.key, b, start, pos)) s = s.next
      if (s === undefined) {
        const made = newSeries(latin1.toString('latin1', start, pos), tagsAt < 0 ? -1 : tagsAt - start)
        if (!made) return undefined
        s = made
        s.next = first
        bySeries.set(hash, s)
        series.push(s)
      }
      pos++
      // fields: key=float[,key=float…] up to one space
      lines++
      let f = 0
      for (;;) {
        const keyStart = pos
        c = b[pos]!
        while (NAME[c] === 1) c = b[++pos]!
        if (c !== 61 || pos === keyStart || pos - keyStart > MAX_NAME) return undefined
        const index = fieldIndex(s, b, keyStart, pos, latin1)
        if (s.stamp[index] === lines) return undefined // repeated key: the exact path keeps the last
        s.stamp[index] = lines
        // value: -?digits[.digits] (at least one digit), then `,` or a space
        c = b[++pos]!
        const valueStart = pos
        const negative = c === 45
        if (negative) c = b[++pos]!
        let mantissa = 0
        let digits = 0
        while (c >= 48 && c <= 57) {
          mantissa = mantissa * 10 + (c - 48)
          digits++
          c = b[++pos]!
        }
        let frac = 0
        let dot = false
        if (c === 46) {
          dot = true
          c = b[++pos]!
          while (c >= 48 && c <= 57) {
            mantissa = mantissa * 10 + (c - 48)
            frac++
            c = b[++pos]!
          }
        }
        // an integer (`12i`) of up to 15 digits is exact as a double; longer ones the exact path checks
        const integer = c === 105 && !dot && digits > 0 && digits <= 15
        if (integer) c = b[++pos]!
        if (digits + frac === 0 || (c !== 44 && c !== 32)) return undefined
        const type = integer ? 'integer' : 'float'
        const known = s.types[index]
        if (known !== type) {
          if (known !== undefined) return undefined // one field, two types in a batch: the exact path says which
          s.types[index] = type
        }
        let v: number
        if (integer) {
          v = negative ? 0 - mantissa : mantissa // as Number(BigInt): -0i is 0
        } else if (digits + frac <= 15) {
          // mantissa and 10^k are exact doubles: the quotient is the correctly rounded value (parse.ts)
          v = frac === 0 ? mantissa : mantissa / POW10[frac]!
          if (negative) v = -v
        } else {
          v = Number(latin1.toString('latin1', valueStart, pos))
          if (!Number.isFinite(v)) return undefined
        }
        fieldRuns[f] = index
        fieldValues[f] = v
        f++
        pos++
        if (c === 32) break
      }
      // timestamp: -?digits then `\n`
      c = b[pos]!
      const negative = c === 45
      if (negative) c = b[++pos]!
      while (c === 48 && b[pos + 1]! >= 48 && b[pos + 1]! <= 57) c = b[++pos]! // leading zeros
      const from = pos
      while (c >= 48 && c <= 57) c = b[++pos]!
      const to = pos
      if (c !== 10 || to === from) return undefined
      const ts = timestampOf(b, from, to, negative, info.limit, info.limitMs, info.subMsDigits, info.msPerUnit)
      if (ts === undefined) return undefined
      pos++
      if (ts < s.minTs) s.minTs = ts
      for (let k = 0; k < f; k++) {
        const run = s.runs[fieldRuns[k]!]!
        run.ts.push(ts)
        run.values.push(fieldValues[k]!)
      }
    }
  }
  return {series, lines}
}

/** A series entry for the series part `key`; undefined when its tags are not plain (a duplicate key, `=` in a value). */
function newSeries(key: string, tagsAt: number): ColumnSeries | undefined {
  const tags: Tags = {}
  const measurement = tagsAt < 0 ? key : key.slice(0, tagsAt)
  if (measurement.includes('=')) return undefined // legal, but let the exact path name it
  if (tagsAt >= 0) {
    for (const pair of key.slice(tagsAt + 1).split(',')) {
      const eq = pair.indexOf('=')
      if (eq <= 0 || eq === pair.length - 1 || pair.indexOf('=', eq + 1) >= 0) return undefined
      const k = pair.slice(0, eq)
      if (Object.hasOwn(tags, k) || k === '__proto__') return undefined
      tags[k] = pair.slice(eq + 1)
    }
  }
  return {key, measurement, tags, fields: [], types: [], runs: [], minTs: Number.POSITIVE_INFINITY, stamp: [], next: undefined}
}

/** Whether the bytes [from, to) of `b` spell `key` (latin1). */
function sameBytes(key: string, b: Uint8Array, from: number, to: number): boolean {
  if (key.length !== to - from) return false
  for (let k = 0; k < key.length; k++) if (key.charCodeAt(k) !== b[from + k]) return false
  return true
}

/** The index of the field named by bytes [from, to) in `s`, added when new; compares bytes, makes no string on a hit. */
function fieldIndex(s: ColumnSeries, b: Uint8Array, from: number, to: number, latin1: Buffer): number {
  const fields = s.fields
  const len = to - from
  outer: for (let i = 0; i < fields.length; i++) {
    const name = fields[i]!
    if (name.length !== len) continue
    for (let k = 0; k < len; k++) if (name.charCodeAt(k) !== b[from + k]) continue outer
    return i
  }
  fields.push(latin1.toString('latin1', from, to))
  s.runs.push({ts: [], values: []})
  return fields.length - 1
}

/**
 * Digits [from, to) (no leading zeros but a lone 0) in the given precision → ms, floored toward
 * negative infinity; undefined beyond InfluxDB's range. parse.ts' `timestamp` on bytes.
 */
function timestampOf(b: Uint8Array, from: number, to: number, negative: boolean, limit: string, limitMs: number, subMsDigits: number, msPerUnit: number): number | undefined {
  const digits = to - from
  if (digits > limit.length) return undefined
  const msEnd = to - subMsDigits
  let ms = 0
  for (let k = from; k < msEnd; k++) ms = ms * 10 + (b[k]! - 48)
  if (digits === limit.length && ms >= limitMs) {
    if (ms > limitMs) return undefined
    for (let k = msEnd, j = limit.length - subMsDigits; k < to; k++, j++) {
      const d = b[k]! - limit.charCodeAt(j)
      if (d < 0) break
      if (d > 0) return undefined
    }
  }
  ms *= msPerUnit
  if (!negative) return ms
  for (let k = Math.max(from, msEnd); k < to; k++) if (b[k] !== 48) return -ms - 1
  return 0 - ms
}
