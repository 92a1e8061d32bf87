/**
 * QueryPlan → InfluxQL, and InfluxDB's answer → Frames with the embedded store's semantics.
 *
 * The embedded store (sqlite/query.ts) and model/aggregate.ts define what a plan means; this file
 * makes InfluxDB give the same frames:
 * - half-open ranges `time >= start AND time < end` (ms literals; the query asks for epoch=ms);
 * - buckets `GROUP BY time(<every>ms)` aligned to the epoch, `fill(none)`;
 * - without `every` an aggregation is one row per group at the range start (InfluxDB returns the
 *   selected point's time for selectors such as max(), so every time is replaced by `start`);
 * - matchers on tags (`::tag`), regexes fully anchored as `/^(?:…)$/`, a missing tag is '' (as in
 *   InfluxDB, so no translation is needed);
 * - rate = NON_NEGATIVE_DERIVATIVE(…, 1s), derivative = DERIVATIVE(…, 1s), over raw points or over
 *   LAST() per bucket; aggregated transforms run the transform in a subquery per series
 *   (`GROUP BY *`) and aggregate outside by the `by` tags. Over buckets, InfluxDB moves the
 *   range start back one bucket so that the first bucket gets a derivative too (not inside a
 *   subquery bounded by the outer range); the embedded store does not look before the range, so
 *   that row is dropped (see {@link firstDerivativeTime});
 * - frames: raw/transform frames carry the full series tags (InfluxDB's '' for absent keys
 *   dropped), aggregations exactly the `by` tags ('' when absent); sorted by tags; null results
 *   (stddev of one value, percentile out of range) dropped.
 */
import type {Matcher} from '../../model/matcher.js'
import type {Frame, QueryPlan, TransformFn} from '../types.js'
import {sortFrames} from '../frames.js'

/** One series of an InfluxDB /query answer. */
export interface InfluxSeries {
  name?: string
  tags?: Record<string, string>
  columns: string[]
  values?: unknown[][]
  partial?: boolean
}

/** One statement's result of an InfluxDB /query answer. */
export interface InfluxStatementResult {
  statement_id?: number
  series?: InfluxSeries[]
  error?: string
  messages?: Array<{level: string; text: string}>
  partial?: boolean
}

// ---------------------------------------------------------------------------------------------
// Literals

/** A double-quoted identifier: `"host"`, with `\` `"` and newlines escaped as InfluxQL reads them. */
export function quoteIdent(name: string): string {
  return '"' + escapeQuoted(name, '"') + '"'
}

/** A single-quoted string literal. */
export function quoteString(value: string): string {
  return "'" + escapeQuoted(value, "'") + "'"
}

function escapeQuoted(s: string, quote: string): string {
  let out = ''
  for (const ch of s) {
    if (ch === '\\' || ch === quote) out += '\\' + ch
    else if (ch === '\n') out += '\\n'
    else out += ch
  }

  return out
}

/**
 * A fully anchored regex literal `/^(?:pattern)$/`. InfluxQL ends a regex at an unescaped `/` and
 * reads `\/` as `/`; every other backslash pair is passed to the regex engine as written, so only
 * bare slashes need a backslash.
 */
export function regexLiteral(pattern: string): string {
  let out = ''
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]
    if (ch === '\\' && i + 1 < pattern.length) {
      out += ch + pattern[++i]
    } else if (ch === '/') {
      out += '\\/'
    } else {
      out += ch
    }
  }

  return `/^(?:${out})$/`
}

/** Epoch milliseconds as an InfluxQL time literal. */
export function timeLiteral(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`time ${ms} is not an integer number of milliseconds`)
  return `${ms}ms`
}

export function matcherCondition(m: Matcher): string {
  const tag = `${quoteIdent(m.name)}::tag`
  switch (m.op) {
    case '=':
    case '!=':
      return `${tag} ${m.op} ${quoteString(m.value)}`
    case '=~':
    case '!~':
      return `${tag} ${m.op} ${regexLiteral(m.value)}`
  }
}

// ---------------------------------------------------------------------------------------------
// Plans

export interface CompileOptions {
  /** 1.x retention policy to read from (`"rp"."measurement"`); the database goes in the request */
  retentionPolicy?: string
}

/** Name of the subquery column holding the transformed values. */
const INNER = '__mon_value'

const TRANSFORM_FN: Record<TransformFn, string> = {rate: 'non_negative_derivative', derivative: 'derivative'}

/** The one InfluxQL statement that answers a plan. */
export function compilePlan(q: QueryPlan, opts: CompileOptions = {}): string {
  const from = opts.retentionPolicy ? `${quoteIdent(opts.retentionPolicy)}.${quoteIdent(q.measurement)}` : quoteIdent(q.measurement)
  const range = `time >= ${timeLiteral(q.start)} AND time < ${timeLiteral(q.end)}`
  const where = [range, ...q.matchers.map(matcherCondition)].join(' AND ')
  const field = `${quoteIdent(q.field)}::field`
  const every = q.every === undefined ? undefined : `time(${durationLiteral(q.every)}${q.offset ? `, ${durationLiteral(q.offset)}` : ''})`

  if (!q.aggregate && !q.transform) {
    const limit = q.limit === undefined ? '' : ` ORDER BY time DESC LIMIT ${integer(q.limit, 'limit')}`
    return `SELECT ${field} FROM ${from} WHERE ${where} GROUP BY *${limit}`
  }

  let source = from
  let value = field
  let outerWhere = where
  if (q.transform) {
    const fn = TRANSFORM_FN[q.transform]
    const transformed = every
      ? `SELECT ${fn}(last(${field}), 1s)${q.aggregate ? ` AS ${quoteIdent(INNER)}` : ''} FROM ${from} WHERE ${where} GROUP BY ${every}, * fill(none)`
      : `SELECT ${fn}(${field}, 1s)${q.aggregate ? ` AS ${quoteIdent(INNER)}` : ''} FROM ${from} WHERE ${where} GROUP BY *`
    if (!q.aggregate) return transformed
    source = `(${transformed})`
    value = quoteIdent(INNER)
    // the outer range also bounds the subquery, which then does not look back a bucket
    outerWhere = range
  }

  const agg = q.aggregate!
  const call = agg.fn === 'percentile' ? `percentile(${value}, ${number(agg.param ?? 50, 'percentile')})` : `${agg.fn}(${value})`
  const groupBy = [...(every ? [every] : []), ...agg.by.map(quoteIdent)]
  return `SELECT ${call} FROM ${source} WHERE ${outerWhere}${groupBy.length > 0 ? ` GROUP BY ${groupBy.join(', ')}` : ''}${every ? ' fill(none)' : ''}`
}

/**
 * The first bucket that has a derivative in the embedded store: the one after the bucket holding
 * `start` (a derivative needs the bucket before it, and the store reads nothing before `start`).
 */
export function firstDerivativeTime(start: number, every: number): number {
  return Math.floor(start / every) * every + every
}

export function durationLiteral(ms: number): string {
  return `${integer(ms, 'duration')}ms`
}

function integer(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} ${n} is not a non-negative integer`)
  return n
}

function number(n: number, what: string): string {
  if (!Number.isFinite(n)) throw new RangeError(`${what} ${n} is not a finite number`)
  return String(n)
}

/**
 * InfluxDB's series for a plan → frames as the embedded store gives them (see the file comment).
 * `series` is the `series` array of the plan's statement result.
 */
export function framesFromSeries(q: QueryPlan, series: readonly InfluxSeries[]): Frame[] {
  const frames: Frame[] = []
  const agg = q.aggregate
  const valueColumn = agg ? agg.fn : (q.transform ?? q.field)
  for (const s of series) {
    const values = s.values ?? []
    const rows: Frame['rows'] = []
    if (agg) {
      const tags: Record<string, string> = {}
      for (const k of agg.by) tags[k] = s.tags?.[k] ?? ''
      for (const v of values) {
        const value = aggregateValue(v[1], agg.fn)
        if (value === undefined) continue
        rows.push([q.every === undefined ? q.start : toMs(v[0]), value])
      }

      if (rows.length > 0) frames.push({name: q.measurement, tags, columns: ['time', valueColumn], rows})
      continue
    }

    const from = q.transform && q.every !== undefined ? firstDerivativeTime(q.start, q.every) : Number.NEGATIVE_INFINITY
    for (const v of values) {
      if (v[1] === null || v[1] === undefined) continue
      const t = toMs(v[0])
      if (t < from) continue
      rows.push([t, v[1] as number | string | boolean])
    }

    // ORDER BY time DESC (for LIMIT) returned the newest first
    if (q.limit !== undefined && !q.transform) rows.reverse()
    if (rows.length > 0) frames.push({name: q.measurement, tags: presentTags(s.tags), columns: ['time', valueColumn], rows})
  }

  return sortFrames(frames)
}

/** An aggregated value as the embedded store reports it; undefined drops the row. */
function aggregateValue(v: unknown, fn: string): number | null | undefined {
  if (v === null || v === undefined) return undefined
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0
  // first/last/min/max of a string field: the embedded store has only the count for strings
  return fn === 'count' ? Number(v) : null
}

/** GROUP BY * reports every tag key of the measurement, '' where a series lacks it. */
export function presentTags(tags: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!tags) return out
  for (const k of Object.keys(tags).sort()) if (tags[k] !== '') out[k] = tags[k]
  return out
}

function toMs(t: unknown): number {
  if (typeof t === 'number') return t
  if (typeof t === 'string') {
    const ms = Date.parse(t)
    if (!Number.isNaN(ms)) return ms
  }

  throw new Error(`unexpected time value ${JSON.stringify(t)} in an InfluxDB answer (expected epoch milliseconds)`)
}

// ---------------------------------------------------------------------------------------------
// Discovery statements

export const SHOW_MEASUREMENTS = 'SHOW MEASUREMENTS'

export function showFieldKeys(measurement: string, opts: CompileOptions = {}): string {
  return `SHOW FIELD KEYS FROM ${from(measurement, opts)}`
}

export function showTagKeys(measurement: string, opts: CompileOptions = {}): string {
  return `SHOW TAG KEYS FROM ${from(measurement, opts)}`
}

export function showTagValues(measurement: string, key: string, opts: CompileOptions = {}): string {
  return `SHOW TAG VALUES FROM ${from(measurement, opts)} WITH KEY = ${quoteIdent(key)}`
}

/** The oldest and the newest point of each measurement: two statements each, for one request. */
export function timeBoundsStatements(measurements: readonly string[], opts: CompileOptions = {}): string {
  return measurements.flatMap((m) => [`SELECT * FROM ${from(m, opts)} ORDER BY time ASC LIMIT 1`, `SELECT * FROM ${from(m, opts)} ORDER BY time DESC LIMIT 1`]).join('; ')
}

/** Values of every field of every measurement (reads every point). */
export function countAllStatement(opts: CompileOptions = {}): string {
  return `SELECT count(*) FROM ${opts.retentionPolicy ? `${quoteIdent(opts.retentionPolicy)}.` : ''}/.*/`
}

function from(measurement: string, opts: CompileOptions): string {
  return opts.retentionPolicy ? `${quoteIdent(opts.retentionPolicy)}.${quoteIdent(measurement)}` : quoteIdent(measurement)
}

/** The first column of every row of every series (SHOW MEASUREMENTS, SHOW TAG KEYS). */
export function firstColumn(series: readonly InfluxSeries[] | undefined): string[] {
  const out: string[] = []
  for (const s of series ?? []) for (const v of s.values ?? []) out.push(String(v[0]))
  return out
}

// ---------------------------------------------------------------------------------------------
// Answers

/**
 * Parses a /query answer: one JSON object, or (with `chunked=true`) one per line, where a series
 * marked `partial` continues in the next chunk. Chunks are merged back into whole series.
 */
export function parseQueryAnswer(text: string, parse: (line: string) => unknown = JSON.parse): {results: InfluxStatementResult[]; error?: string} {
  const results: InfluxStatementResult[] = []
  let error: string | undefined
  const byId = new Map<number, InfluxStatementResult>()
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const chunk = parse(line) as {results?: InfluxStatementResult[]; error?: string}
    if (chunk.error !== undefined) error = chunk.error
    for (const r of chunk.results ?? []) {
      const id = r.statement_id ?? results.length
      let into = byId.get(id)
      if (!into) {
        into = {statement_id: id}
        byId.set(id, into)
        results.push(into)
      }

      if (r.error !== undefined) into.error = r.error
      if (r.messages) into.messages = [...(into.messages ?? []), ...r.messages]
      for (const s of r.series ?? []) appendSeries(into, s)
    }
  }

  return {results, error}
}

function appendSeries(into: InfluxStatementResult, s: InfluxSeries): void {
  const list = (into.series ??= [])
  const last = list.at(-1)
  // a partial series continues in the next chunk with the same name and tags
  if (last?.partial && last.name === s.name && sameTags(last.tags, s.tags)) {
    last.values = [...(last.values ?? []), ...(s.values ?? [])]
    last.partial = s.partial
    return
  }

  list.push({...s, values: s.values ? [...s.values] : undefined})
}

function sameTags(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {})
  const kb = Object.keys(b ?? {})
  return ka.length === kb.length && ka.every((k) => a![k] === b?.[k])
}
