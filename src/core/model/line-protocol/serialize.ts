/** Points → line protocol (`serializePoint(s)`, `PointSerializer`). */
import {InputError} from '../../errors.js'
import {type FieldValue, type Point, UInt, escapeMeasurement, escapeTag} from '../point.js'
import {type Precision, MAX_STRING_FIELD_BYTES, TIME_RANGE_MESSAGE, INT64_MIN, INT64_MAX, UINT64_MAX, MAX_TS_MS, precisionTable} from './common.js'
import {escapeString} from './escape.js'

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
      const info = precisionTable(precision)
      return String(Math.floor(ts / info.msPerUnit))
    }
  }
}
