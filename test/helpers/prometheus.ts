/**
 * Talking to the real Prometheus of {@link startPrometheus} (servers.ts): the fixture as OpenMetrics
 * text for its backfill, its HTTP query API, and how its answers are compared with mon's. Shared by
 * the PromQL differential test and the query-range benchmark.
 */
import {formatLabels, type Labels, type RawSeries} from '../../src/core/query/eval/series.js'

/** A deterministic pseudo-random sequence (no luck involved: the same fixture every run). */
export function lcg(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
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
