/**
 * The data model is InfluxDB's: measurement + tag set + field set + timestamp.
 *
 * Timestamps are **integer milliseconds since the Unix epoch** (a JS number), as in Prometheus and
 * VictoriaMetrics: exact up to the year 285 616, cheap to compute with, and enough for monitoring.
 * Line protocol with a finer precision is truncated to the millisecond on input (docs/data-model.md).
 *
 * Field values keep InfluxDB's four types: a JS `number` is a float, a `bigint` is a signed
 * integer (`1i`), a {@link UInt} is an unsigned integer (`1u`), plus boolean and string.
 */
export type Tags = Record<string, string>

export class UInt {
  constructor(readonly value: bigint) {
    if (value < 0n) throw new RangeError('unsigned integer must not be negative')
  }

  toString(): string {
    return this.value.toString()
  }
}

export type FieldValue = number | bigint | boolean | string | UInt
export type FieldType = 'float' | 'integer' | 'unsigned' | 'boolean' | 'string'

export interface Point {
  measurement: string
  tags: Tags
  fields: Record<string, FieldValue>
  /** integer milliseconds since the epoch */
  ts: number
}

export function fieldType(value: FieldValue): FieldType {
  switch (typeof value) {
    case 'number':
      return 'float'
    case 'bigint':
      return 'integer'
    case 'boolean':
      return 'boolean'
    case 'string':
      return 'string'
    default:
      return 'unsigned'
  }
}

/** The numeric value used by aggregations; booleans count as 0/1, strings have none. */
export function numericValue(value: FieldValue): number | undefined {
  switch (typeof value) {
    case 'number':
      return value
    case 'bigint':
      return Number(value)
    case 'boolean':
      return value ? 1 : 0
    case 'string':
      return undefined
    default:
      return Number(value.value)
  }
}

/** Converts a stored number back to the field's declared type. */
export function fromNumber(value: number, type: FieldType): FieldValue {
  switch (type) {
    case 'integer':
      return BigInt(Math.trunc(value))
    case 'unsigned':
      return new UInt(BigInt(Math.trunc(value)))
    case 'boolean':
      return value !== 0
    default:
      return value
  }
}

/** JSON-safe rendering of a field value (bigints as numbers when exact, else strings). */
export function fieldToJson(value: FieldValue): number | boolean | string {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (value instanceof UInt) return Number.isSafeInteger(Number(value.value)) ? Number(value.value) : value.value.toString()
  return value
}

/**
 * Canonical series key: the measurement and the tags sorted by key, empty tag values dropped.
 *
 * This is an identifier, not line protocol: backslashes are doubled and newlines written as `\n`
 * so that every (measurement, tags) pair has exactly one key and no two pairs share one. Line
 * protocol cannot promise that (a trailing backslash or a newline has no spelling in it), so the
 * key uses its own escaping; for names without `\` or a newline it is the line-protocol prefix.
 */
export function seriesKey(measurement: string, tags: Tags): string {
  let key = keyEscapeMeasurement(measurement)
  const names = Object.keys(tags).sort()
  for (const name of names) {
    const v = tags[name]
    if (v === '' || v === undefined) continue // InfluxDB drops empty tag values
    key += ',' + keyEscapeTag(name) + '=' + keyEscapeTag(v)
  }
  return key
}

/**
 * Field values of `points` that share series, field and timestamp with a later one: a store
 * keeps one value there (the later), so these are merged away — e.g. points 1 µs apart once
 * their timestamps are whole milliseconds.
 */
export function countMergedValues(points: readonly Point[]): number {
  // nearly always each series' timestamps only rise (a file, a batch): then nothing merges, which
  // one number per series proves without a key per value
  const last = new Map<string, number>()
  let rising = true
  for (const p of points) {
    const series = seriesKey(p.measurement, p.tags)
    const before = last.get(series)
    if (before !== undefined && !(p.ts > before)) {
      rising = false
      break
    }
    last.set(series, p.ts)
  }
  if (rising) return 0
  const seen = new Set<string>()
  let merged = 0
  for (const p of points) {
    const series = seriesKey(p.measurement, p.tags)
    for (const field in p.fields) {
      const key = `${series}\u0000${field}\u0000${p.ts}`
      if (seen.has(key)) merged++
      else seen.add(key)
    }
  }
  return merged
}

const KEY_MEASUREMENT_SPECIAL = /[, \\\n]/
const KEY_TAG_SPECIAL = /[,= \\\n]/

function keyEscapeMeasurement(s: string): string {
  return KEY_MEASUREMENT_SPECIAL.test(s) ? s.replace(/\\/g, '\\\\').replace(/([, ])/g, '\\$1').replace(/\n/g, '\\n') : s
}

function keyEscapeTag(s: string): string {
  return KEY_TAG_SPECIAL.test(s) ? s.replace(/\\/g, '\\\\').replace(/([,= ])/g, '\\$1').replace(/\n/g, '\\n') : s
}

/**
 * Escapes a measurement name for line protocol as InfluxDB does: `\,` and `\ `. Backslashes are
 * not escaped (InfluxDB 1.x/2.x and Telegraf read `\\` as two backslashes). The one exception: an
 * `=` right after a backslash is written `\=` (`a\=b` becomes `a\\=b`), because InfluxDB reads
 * `\=` in a measurement name as `=`. A newline, which would end the line, is written `\n` as
 * Telegraf's serializer does; InfluxDB and mon's parser read that back as a backslash and an `n`.
 * A name ending with a backslash has no line-protocol spelling: `serializePoint` refuses those.
 */
export function escapeMeasurement(s: string): string {
  const n = s.length
  let i = 0
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 44 || c === 32 || c === 10 || (c === 61 && i > 0 && s.charCodeAt(i - 1) === 92)) break
  }
  if (i === n) return s
  let out = s.slice(0, i)
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 10) {
      out += '\\n'
      continue
    }
    if (c === 44 || c === 32 || (c === 61 && i > 0 && s.charCodeAt(i - 1) === 92)) out += '\\'
    out += s[i]
  }
  return out
}

/**
 * Escapes a tag key, tag value or field key for line protocol: `\,`, `\=` and `\ ` (as InfluxDB),
 * and a newline as `\n` (as Telegraf; read back as a backslash and an `n`, see escapeMeasurement).
 */
export function escapeTag(s: string): string {
  const n = s.length
  let i = 0
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 44 || c === 61 || c === 32 || c === 10) break
  }
  if (i === n) return s
  let out = s.slice(0, i)
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 10) {
      out += '\\n'
      continue
    }
    if (c === 44 || c === 61 || c === 32) out += '\\'
    out += s[i]
  }
  return out
}
