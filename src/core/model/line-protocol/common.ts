/**
 * What the line-protocol parser, the byte checker and the serializer share: option and result
 * types, limits, the precision table and the character classes (one table for strings and bytes).
 */
import {InputError} from '../../errors.js'
import {type Point} from '../point.js'

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

export const TIME_RANGE_MESSAGE = 'time outside range -9223372036854775806 - 9223372036854775806'
export const INT64_MIN = -(2n ** 63n)
export const INT64_MAX = 2n ** 63n - 1n
export const UINT64_MAX = 2n ** 64n - 1n
export const INT64_MAX_DIGITS = String(INT64_MAX)
export const INT64_MIN_DIGITS = String(-INT64_MIN)
export const UINT64_MAX_DIGITS = String(UINT64_MAX)
/** Beyond this many tags in an entry, validation finds duplicates with a Set. */
export const MANY_TAGS = 32
/** Stands in for the tags and fields objects in validate mode (never written to). */
export const NOTHING: Record<string, never> = Object.freeze(Object.create(null) as Record<string, never>)
/** 1 for the characters that end or escape a name: \n space , = \\ */
export const NAME_SPECIAL = new Uint8Array(65_536)
for (const c of [10, 32, 44, 61, 92]) NAME_SPECIAL[c] = 1

/** 10^k for k = 0..22: every one is an exact double, so m / 10^k is correctly rounded. */
export const POW10 = Array.from({length: 23}, (_, k) => 10 ** k)

export interface PrecisionInfo {
  /** ms per unit for s/m/h; 1 for ms, us and ns */
  msPerUnit: number
  /** decimal digits below a millisecond: 6 for ns, 3 for us, 0 otherwise */
  subMsDigits: number
  /** largest |timestamp| in this unit whose nanoseconds fit InfluxDB's range, as digits */
  limit: string
  /** the millisecond part of `limit` (its digits without the sub-millisecond ones) */
  limitMs: number
}

export const PRECISIONS: Record<Precision, PrecisionInfo> = {
  ns: precisionInfo(1, 6, '9223372036854775806'),
  us: precisionInfo(1, 3, '9223372036854775'),
  ms: precisionInfo(1, 0, '9223372036854'),
  s: precisionInfo(1000, 0, '9223372036'),
  m: precisionInfo(60_000, 0, '153722867'),
  h: precisionInfo(3_600_000, 0, '2562047'),
}

export function precisionInfo(msPerUnit: number, subMsDigits: number, limit: string): PrecisionInfo {
  return {msPerUnit, subMsDigits, limit, limitMs: Number(limit.slice(0, limit.length - subMsDigits))}
}

/** Largest |ts| in ms that serializes to an in-range nanosecond timestamp. */
export const MAX_TS_MS = 9_223_372_036_854

export const PRECISION_ALIASES: Record<string, Precision> = {
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

/** The table row of a precision (a caller past {@link parsePrecision} always finds one). */
export function precisionTable(precision: Precision): PrecisionInfo {
  const info = PRECISIONS[precision]
  if (info === undefined) throw new InputError(`invalid precision ${JSON.stringify(precision)}`)
  return info
}
