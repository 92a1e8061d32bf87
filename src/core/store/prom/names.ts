/**
 * mon's names (measurement.field{tag="…"}) on a server that speaks the Prometheus query API.
 *
 * VictoriaMetrics stores InfluxDB line protocol `m,tag=v f=1` as the metric `m_f{tag="v"}` — every
 * field, `value` included (`x value=1` is `x_value`, found by experiment against 1.79). Prometheus
 * has no measurements and fields: a dotless mon name `up` (measurement up, field value) is
 * Prometheus' `up`, and `m.f` is `m_f`. Going back from a metric name to measurement and field is
 * ambiguous wherever names hold `_` (`cpu_usage_idle` could be cpu.usage_idle or cpu_usage.idle);
 * any split joins back to the same metric name, so the choice only shows in the catalog
 * (docs/victoriametrics.md).
 */
import type {Matcher} from '../../model/matcher.js'

export type PromFlavor = 'victoriametrics' | 'prometheus'

/** The metric name a mon measurement and field are stored under. */
export function metricName(flavor: PromFlavor, measurement: string, field: string): string {
  if (flavor === 'prometheus' && field === 'value') return measurement
  return `${measurement}_${field}`
}

/**
 * A metric name as mon's measurement and field: on Prometheus the whole name with field `value`;
 * on VictoriaMetrics `<m>_value` is m's field value, other names split at their first `_`, a name
 * without `_` (written by something else than line protocol) is a measurement with field value.
 */
export function splitMetricName(flavor: PromFlavor, name: string): {measurement: string; field: string} {
  if (flavor === 'prometheus') return {measurement: name, field: 'value'}
  if (name.endsWith('_value') && name.length > 6) return {measurement: name.slice(0, -6), field: 'value'}
  const i = name.indexOf('_')
  if (i <= 0 || i === name.length - 1) return {measurement: name, field: 'value'}
  return {measurement: name.slice(0, i), field: name.slice(i + 1)}
}

/** A PromQL string literal (Go's escapes: JSON's are a subset). */
export function promString(s: string): string {
  return JSON.stringify(s)
}

/** RE2 with every metacharacter escaped: `s` matched literally. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')
}

/** `{__name__="name",tag="v",…}`: the metric name as a matcher (names with dots are fine then). */
export function seriesSelector(name: string, matchers: readonly Matcher[]): string {
  const parts = [`__name__=${promString(name)}`]
  for (const m of matchers) parts.push(`${m.name}${m.op}${promString(m.value)}`)
  return `{${parts.join(',')}}`
}

/** Seconds with the milliseconds as decimals, exactly (the API's time parameters). */
export function apiTime(ms: number): string {
  const sign = ms < 0 ? '-' : ''
  const a = Math.abs(ms)
  return `${sign}${Math.floor(a / 1000)}.${String(a % 1000).padStart(3, '0')}`
}

/** A sample value as the query API writes it (a string; NaN, +Inf, -Inf spelt out). */
export function parseSampleValue(v: string | number): number {
  if (typeof v === 'number') return v
  return v === '+Inf' || v === 'Inf' ? Number.POSITIVE_INFINITY : v === '-Inf' ? Number.NEGATIVE_INFINITY : Number(v)
}
