import {errorMessage} from '../errors.js'
import {matchesAll} from '../model/matcher.js'
import type {Point} from '../model/point.js'
import {splitMetricName, type ParsedQuery} from '../query/ast.js'
import {fromRawFrames} from '../query/cache.js'
import type {Sample} from '../query/executor.js'
import {sortFrames} from '../store/frames.js'
import type {Frame, QueryOptions, QueryPlan, Store, WriteOutcome} from '../store/types.js'

/**
 * Recording rules (`record:` in a rule group, as in Prometheus): the expression's result at each
 * evaluation is written back to the store as its own series, which later rules of the same group
 * (in the same evaluation), other groups, `mon query` and dashboards read like any other metric.
 *
 * The name is a mon metric name: `measurement.field` (split at the first dot), or a name without
 * a dot (Prometheus style, `job:http_requests:rate5m`), stored as that measurement with field
 * `value`. Each result sample becomes one point at the evaluation time: tags = the sample's labels
 * (without `__name__`) plus the rule's `labels:` (static strings, not templates; an empty value
 * removes the label), value a float. See docs/alerting.md, "Recording rules".
 */

export interface RecordingRule {
  type: 'record'
  /** unique among loaded rules: `group/name`, `#2` … for a name repeated in a group */
  id: string
  group: string
  /** the name as written after `record:` */
  name: string
  measurement: string
  field: string
  expr: string
  query: ParsedQuery
  /** the rule's labels over the group's, as written */
  labels: Record<string, string>
  position: {file: string; line: number; col: number}
}

/** Prometheus' metric name characters, with dots between non-empty parts (`a.b`, `a.b.c`, `a:b`). */
export const RECORD_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*(?:\.[A-Za-z0-9_:]+)*$/

/** Measurements the engine writes itself: a recording rule must not write there. */
const RESERVED_MEASUREMENTS = new Set(['alerts', 'mon_internal'])

/** Keys of an alerting rule that mean nothing on a recording rule. */
export const ALERT_ONLY_KEYS = ['for', 'keep_firing_for', 'annotations', 'no_data', 'on_error'] as const

/** Where a recorded series is stored: split at the first dot; no dot: field `value`. */
export function recordTarget(name: string): {measurement: string; field: string} {
  return splitMetricName(name)
}

/** Why a `record:` name cannot be used, with a hint and the offset of the offending character; undefined when valid. */
export function recordNameProblem(name: string): {message: string; hint?: string; offset: number} | undefined {
  if (name === '') return {message: 'record: needs a metric name', hint: 'e.g. record: job.requests_rate, or job:http_requests:rate5m', offset: 0}
  if (!RECORD_NAME.test(name)) {
    const bad = firstBadChar(name)
    const c = name[bad]
    const what = c === '.' ? 'a dot must sit between two non-empty parts' : /[0-9]/.test(c) && bad === 0 ? 'a metric name does not start with a digit' : `'${c}' is not allowed in a metric name`
    return {message: `invalid record name ${JSON.stringify(name)}: ${what}`, hint: 'letters, digits, _ and : (as in Prometheus), plus dots: measurement.field, e.g. job.requests_rate', offset: bad}
  }

  const {measurement} = recordTarget(name)
  if (RESERVED_MEASUREMENTS.has(measurement)) return {message: `measurement '${measurement}' is written by the alert engine itself; a recording rule cannot write there`, hint: 'choose another name, e.g. job.requests_rate', offset: 0}
  return undefined
}

function firstBadChar(name: string): number {
  for (let i = 0; i < name.length; i++) {
    const c = name[i]
    if (c === '.') {
      if (i === 0 || name[i - 1] === '.' || i === name.length - 1) return i
      continue
    }

    if (!/[A-Za-z0-9_:]/.test(c) || (i === 0 && /[0-9]/.test(c))) return i
  }

  return 0
}

/** The outcome of turning one evaluation's samples into points. */
export type RecordedPoints = {ok: true; points: Point[]; nonFinite: number} | {ok: false; error: string}

/**
 * The points a recording rule writes for the samples of one evaluation at `at`. Two samples with
 * the same label set (after the rule's labels) are an error, as in Prometheus, and nothing is
 * written. NaN and ±Inf cannot be stored: such samples are left out and counted in `nonFinite`.
 */
export function recordedPoints(rule: RecordingRule, samples: Sample[], at: number): RecordedPoints {
  const points: Point[] = []
  const seen = new Set<string>()
  let nonFinite = 0
  for (const s of samples) {
    const tags: Record<string, string> = {}
    for (const k in s.labels) if (k !== '__name__' && s.labels[k] !== '') tags[k] = s.labels[k]
    for (const k in rule.labels) {
      if (rule.labels[k] === '') delete tags[k]
      else tags[k] = rule.labels[k]
    }

    const key = JSON.stringify(Object.keys(tags).sort().map((k) => [k, tags[k]]))
    if (seen.has(key)) return {ok: false, error: `vector contains metrics with the same labelset after applying rule labels: ${formatTags(tags)}`}
    seen.add(key)
    if (!Number.isFinite(s.value)) {
      nonFinite++
      continue
    }

    points.push({measurement: rule.measurement, tags, fields: {[rule.field]: s.value}, ts: at})
  }

  return {ok: true, points, nonFinite}
}

/** `measurement\0field` of a plan, as {@link recordedSeriesKeys} lists them. */
export function seriesKeyOf(plan: {measurement: string; field: string}): string {
  return `${plan.measurement}\u0000${plan.field}`
}

/** What the recording rules of these groups write, as `measurement\0field`. */
export function recordedSeriesKeys(groups: ReadonlyArray<{rules: ReadonlyArray<{type: string}>}>): Set<string> {
  const out = new Set<string>()
  for (const g of groups) for (const r of g.rules) if (r.type === 'record') out.add(seriesKeyOf(r as RecordingRule))
  return out
}

/** Writes a rule's points; a refusal (whole or partial) is the rule's error, with the store's reason. */
export async function writeRecorded(store: Store, rule: RecordingRule, points: Point[]): Promise<string | undefined> {
  if (points.length === 0) return undefined
  try {
    await store.write(points)
    return undefined
  } catch (error) {
    const refused = (error as {rejectedPoints?: number}).rejectedPoints
    const part = typeof refused === 'number' && refused < points.length ? `${refused} of ${points.length} points of ${rule.name} were refused (the others are stored)` : `cannot write ${points.length} point(s) of ${rule.name}`
    return `${part}: ${errorMessage(error)}`
  }
}

function formatTags(tags: Record<string, string>): string {
  return `{${Object.keys(tags)
    .sort()
    .map((k) => `${k}=${JSON.stringify(tags[k])}`)
    .join(', ')}}`
}

/**
 * A store that keeps what is written to it in memory and serves it with the wrapped store's data,
 * never writing through: `mon rules eval` evaluates recording rules (later rules read their
 * output) without touching the store. Plans over a measurement and field written here read the
 * wrapped store's raw points over the plan's window, merge the written points in (same series and
 * time: the written one wins) and aggregate with the embedded store's semantics (query/cache.ts).
 */
export class RecordingOverlay implements Store {
  readonly kind: string
  /** `measurement\0field` → series key → series */
  private readonly series = new Map<string, Map<string, {tags: Record<string, string>; rows: Map<number, number>}>>()

  constructor(readonly inner: Store) {
    this.kind = inner.kind
  }

  async write(points: Point[]): Promise<WriteOutcome | void> {
    for (const p of points) {
      for (const [field, value] of Object.entries(p.fields)) {
        if (typeof value !== 'number') continue
        const key = `${p.measurement}\u0000${field}`
        let bySeries = this.series.get(key)
        if (!bySeries) {
          bySeries = new Map()
          this.series.set(key, bySeries)
        }

        const sk = JSON.stringify(Object.keys(p.tags).sort().map((k) => [k, p.tags[k]]))
        let s = bySeries.get(sk)
        if (!s) {
          s = {tags: {...p.tags}, rows: new Map()}
          bySeries.set(sk, s)
        }

        s.rows.set(p.ts, value)
      }
    }
  }

  async query(plan: QueryPlan, opts?: QueryOptions): Promise<Frame[]> {
    const mine = this.series.get(`${plan.measurement}\u0000${plan.field}`)
    if (!mine) return this.inner.query(plan, opts)
    const raw = await this.inner.query({measurement: plan.measurement, field: plan.field, matchers: plan.matchers, start: plan.start, end: plan.end}, opts)
    const merged = new Map<string, {tags: Record<string, string>; rows: Map<number, Frame['rows'][number][1]>}>()
    for (const f of raw) {
      const sk = JSON.stringify(Object.keys(f.tags).sort().map((k) => [k, f.tags[k]]))
      merged.set(sk, {tags: f.tags, rows: new Map(f.rows.map((r) => [r[0] as number, r[1]]))})
    }

    for (const [sk, s] of mine) {
      if (!matchesAll(plan.matchers, s.tags)) continue
      let m = merged.get(sk)
      for (const [ts, v] of s.rows) {
        if (ts < plan.start || ts >= plan.end) continue
        if (!m) {
          m = {tags: s.tags, rows: new Map()}
          merged.set(sk, m)
        }

        m.rows.set(ts, v)
      }
    }

    const frames: Frame[] = [...merged.values()].map((s) => ({
      name: plan.measurement,
      tags: s.tags,
      columns: ['time', plan.field],
      rows: [...s.rows].sort((a, b) => a[0] - b[0]).map(([ts, v]) => [ts, v]),
    }))
    return fromRawFrames(plan, sortFrames(frames)) ?? this.inner.query(plan, opts)
  }

  /** The wrapped store belongs to the caller: it is not closed here. */
  async close(): Promise<void> {
    this.series.clear()
  }
}
