/**
 * Talking to the real Prometheus of {@link startPrometheus} (servers.ts): the fixture as OpenMetrics
 * text for its backfill, its HTTP query API, and how its answers are compared with mon's. Shared by
 * the PromQL differential test and the query-range benchmark.
 */
import type {Value} from '../../src/core/query/eval/engine.js'
import {formatLabels, type Labels, type RawSeries} from '../../src/core/query/eval/series.js'

/** A deterministic pseudo-random sequence (no luck involved: the same fixture every run). */
export function lcg(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

/** The PromQL differential fixture's first sample time (ms; a whole second) and its units. */
export const FIXTURE_T0 = 1_700_000_000_000
export const SEC = 1000
export const MIN = 60 * SEC

/**
 * The PromQL differential fixture, from T0 to T0 + 60 min, one sample every 15 s per series: for
 * jobs api and web × instances a, b, c a counter `http_requests_total` (instance b resets at
 * sample 150) and a gauge `cpu_busy`, instance c silent from 22.5 to 27.5 min (a gap), and a
 * classic histogram `latency_seconds_bucket{job="api", le=…}`. Every sample time carries up to 2 s
 * of jitter and never falls on a whole second, so a window whose edges are whole seconds (every
 * evaluation time, range, offset and step the tests use) never has a sample on its edge: Prometheus
 * 2.42's [t − d, t] and mon's (t − d, t] then select the same samples.
 */
export function promqlFixture(): RawSeries[] {
  const T0 = FIXTURE_T0
  const random = lcg(42)
  const series: RawSeries[] = []
  const times = Array.from({length: 241}, (_, i) => {
    const jitter = Math.floor(random() * 2000)
    return T0 + i * 15 * SEC + (jitter % 1000 === 0 ? jitter + 1 : jitter)
  })
  for (const job of ['api', 'web']) {
    for (const instance of ['a', 'b', 'c']) {
      let counter = 0
      const requests = times.map((t, i) => {
        counter = i === 150 && instance === 'b' ? 3 : counter + Math.floor(random() * 50) // a counter reset
        return {t, v: counter}
      })
      const cpu = times.map((t) => ({t, v: Math.round(random() * 1000) / 10}))
      // instance c goes silent from 22.5 to 27.5 min: windows starting in the gap extrapolate by half an interval
      const gap = (_: unknown, i: number) => instance !== 'c' || i < 90 || i >= 110
      series.push({labels: {__name__: 'http_requests_total', job, instance}, samples: requests.filter(gap)})
      series.push({labels: {__name__: 'cpu_busy', job, instance}, samples: cpu.filter(gap)})
    }
  }

  let cumulative = [0, 0, 0, 0]
  const buckets = ['0.1', '0.5', '1', '+Inf']
  const histogram = times.map(() => {
    const increments = [random() * 10, random() * 10, random() * 5, random() * 2].map(Math.floor)
    let running = 0
    cumulative = cumulative.map((c, i) => c + (running += increments[i]))
    return [...cumulative]
  })
  for (const [i, le] of buckets.entries()) {
    series.push({labels: {__name__: 'latency_seconds_bucket', le, job: 'api'}, samples: times.map((t, k) => ({t, v: histogram[k][i]}))})
  }

  return series
}

/** Series as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics` (times in seconds, `# EOF` last). */
export function openMetrics(series: RawSeries[]): string {
  const lines: string[] = []
  for (const s of series) {
    const {__name__: name, ...labels} = s.labels
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')
    for (const sample of s.samples) lines.push(`${name}{${text}} ${sample.v} ${(sample.t / 1000).toFixed(3)}`)
  }

  return `${lines.join('\n')}\n# EOF\n`
}

/** A sample value as Prometheus' API writes it (a string; infinities spelt +Inf/-Inf). */
export function parsePromValue(text: string): number {
  return text === '+Inf' ? Number.POSITIVE_INFINITY : text === '-Inf' ? Number.NEGATIVE_INFINITY : Number(text)
}

export interface PromData {
  resultType: string
  result: Array<{metric: Labels; value?: [number, string]; values?: Array<[number, string]>}>
}

/** GET an /api/v1 query endpoint; throws with Prometheus' error unless it answered `success`. */
export async function promApi(url: string, path: string, params: Record<string, string>): Promise<PromData> {
  const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`)
  const body = (await response.json()) as {status: string; error?: string; data: PromData}
  if (body.status !== 'success') throw new Error(`Prometheus ${path} ${params.query}: ${body.error ?? `HTTP ${response.status}`}`)
  return body.data
}

/** GET /api/v1/query at `time` (ms): a vector's elements, or a scalar as one series without labels, as {@link SeriesValues}. */
export async function promQueryInstant(url: string, query: string, time: number): Promise<SeriesValues[]> {
  const data = await promApi(url, '/api/v1/query', {query, time: (time / 1000).toFixed(3)})
  if (data.resultType === 'scalar') return [{labels: {}, values: [[time, parsePromValue((data.result as unknown as [number, string])[1])]]}]
  if (data.resultType !== 'vector') throw new Error(`Prometheus /api/v1/query ${query}: a ${data.resultType}, not a vector or scalar`)
  return data.result.map((r) => ({labels: r.metric, values: [[Math.round(r.value![0] * 1000), parsePromValue(r.value![1])]]}))
}

/** mon's instant value in the same shape: a vector's elements at the evaluation time, a scalar as one series without labels. */
export function instantSeries(value: Value): SeriesValues[] {
  if (value.type === 'scalar') return [{labels: {}, values: [[value.t, value.v]]}]
  if (value.type !== 'vector') throw new Error(`unexpected ${value.type}`)
  return value.elements.map((e) => ({labels: e.labels, values: [[e.t, e.v]]}))
}

/** One series of a range result, times in ms. */
export interface SeriesValues {
  labels: Labels
  values: Array<[number, number]>
}

/** GET /api/v1/query_range (start, end and step in ms), the matrix as {@link SeriesValues}. */
export async function promQueryRange(url: string, query: string, start: number, end: number, step: number): Promise<SeriesValues[]> {
  const data = await promApi(url, '/api/v1/query_range', {query, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000)})
  return data.result.map((r) => ({labels: r.metric, values: r.values!.map(([t, v]) => [Math.round(t * 1000), parsePromValue(v)] as [number, number])}))
}

/** How far apart two values are, relative to the larger (at least 1, so values near zero compare absolutely); 0 for equal NaNs or infinities. */
export function relativeDifference(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Number.POSITIVE_INFINITY
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b ? 0 : Number.POSITIVE_INFINITY
  return Math.abs(a - b) / Math.max(1, Math.abs(a), Math.abs(b))
}

/** The sums run in a different order (Prometheus adds with Kahan compensation): 1e-9 relative. */
export const SAME_NUMBER_TOLERANCE = 1e-9

export function sameNumber(a: number, b: number): boolean {
  return relativeDifference(a, b) <= SAME_NUMBER_TOLERANCE
}

/**
 * Compares mon's series with Prometheus': the same label sets, the same timestamps, each value
 * within {@link SAME_NUMBER_TOLERANCE}. Throws on the first difference; returns the counts and the
 * largest relative difference seen.
 */
export function compareSeries(ours: SeriesValues[], theirs: SeriesValues[], what: string): {series: number; values: number; maxRelativeDifference: number} {
  const byKey = (xs: SeriesValues[]) => new Map(xs.map((x) => [formatLabels(x.labels), x.values]))
  const mine = byKey(ours)
  const prometheus = byKey(theirs)
  const missing = [...prometheus.keys()].filter((k) => !mine.has(k))
  const extra = [...mine.keys()].filter((k) => !prometheus.has(k))
  if (missing.length > 0 || extra.length > 0 || mine.size !== ours.length) {
    throw new Error(`${what}: series differ: mon has ${ours.length}, Prometheus ${theirs.length}; missing from mon ${missing.slice(0, 3).join(' ') || 'none'}, only in mon ${extra.slice(0, 3).join(' ') || 'none'}`)
  }

  let values = 0
  let maxRelativeDifference = 0
  for (const [key, expected] of prometheus) {
    const own = mine.get(key)!
    if (own.length !== expected.length || own.some(([t], i) => t !== expected[i][0])) {
      let i = 0
      while (own[i]?.[0] === expected[i]?.[0]) i++
      throw new Error(`${what} ${key}: timestamps differ: mon ${own.length} values, Prometheus ${expected.length}; first difference at index ${i}: mon ${own[i]?.[0]}, Prometheus ${expected[i]?.[0]}`)
    }

    for (const [i, [t, v]] of expected.entries()) {
      const d = relativeDifference(own[i][1], v)
      if (d > SAME_NUMBER_TOLERANCE) throw new Error(`${what} ${key} at ${t}: mon ${own[i][1]}, Prometheus ${v} (relative difference ${d})`)
      maxRelativeDifference = Math.max(maxRelativeDifference, d)
      values++
    }
  }

  return {series: prometheus.size, values, maxRelativeDifference}
}
