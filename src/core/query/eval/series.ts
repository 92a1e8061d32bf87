import {type Matcher, matchesAll} from '../../model/matcher.js'

/** A label set; the metric name is the `__name__` label, as in Prometheus. */
export type Labels = Record<string, string>

export const METRIC_NAME = '__name__'

export interface Sample {
  /** milliseconds since the epoch */
  t: number
  v: number
}

/** One series of raw samples, sorted by time. */
export interface RawSeries {
  labels: Labels
  samples: Sample[]
}

/** Where the evaluator reads raw samples: every series the matchers select, samples in [mint, maxt]. */
export interface SeriesSource {
  select(matchers: Matcher[], mint: number, maxt: number): RawSeries[]
}

/**
 * mon's measurement + field + tags as a Prometheus series: the metric name is `measurement.field`
 * and the tags are its labels.
 */
export function monSeries(measurement: string, field: string, tags: Record<string, string>, samples: Sample[]): RawSeries {
  return {labels: {...tags, [METRIC_NAME]: `${measurement}.${field}`}, samples}
}

/** Series held in memory (tests, and raw points fetched by one backend query). */
export class MemorySeriesSource implements SeriesSource {
  private readonly series: RawSeries[]

  constructor(series: RawSeries[]) {
    // the evaluator relies on time order; callers hand in whatever order they fetched (a store's
    // reads come sorted: those are held as they are, not copied — neither side modifies them)
    this.series = series.map((s) => (isSorted(s.samples) ? s : {labels: s.labels, samples: [...s.samples].sort((a, b) => a.t - b.t)}))
  }

  select(matchers: Matcher[], mint: number, maxt: number): RawSeries[] {
    // a range query asks with the same matchers at every step: match the labels once
    let matched = this.matched.get(matchers)
    if (!matched) this.matched.set(matchers, (matched = this.series.filter((s) => matchesAll(matchers, s.labels))))
    return matched.map((s) => ({labels: s.labels, samples: samplesBetween(s.samples, mint, maxt)}))
  }

  private readonly matched = new WeakMap<Matcher[], RawSeries[]>()
}

/**
 * The samples of a time-sorted array with mint <= t <= maxt (binary searches). The array itself
 * when every sample is inside — a rule's read covers exactly its window — so the result is shared
 * and must not be modified (the evaluator never does).
 */
export function samplesBetween(samples: Sample[], mint: number, maxt: number): Sample[] {
  const lo = firstAfter(samples, mint, false, 0)
  const end = samples.length > 0 && samples[samples.length - 1].t <= maxt ? samples.length : firstAfter(samples, maxt, true, lo)
  return lo === 0 && end === samples.length ? samples : samples.slice(lo, end)
}

/** The index of the first sample from `from` on with t >= bound (t > bound when strict); samples.length if none. */
function firstAfter(samples: Sample[], bound: number, strict: boolean, from: number): number {
  let lo = from
  let hi = samples.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const t = samples[mid].t
    if (t < bound || (strict && t === bound)) lo = mid + 1
    else hi = mid
  }

  return lo
}

/** Sample arrays already found in time order (the executor hands the same ones to every rule reading them). */
const sorted = new WeakSet<Sample[]>()

function isSorted(samples: Sample[]): boolean {
  if (sorted.has(samples)) return true
  for (let i = 1; i < samples.length; i++) if (samples[i].t < samples[i - 1].t) return false
  sorted.add(samples)
  return true
}

/**
 * A stable key for a label set (order-independent): each name and value prefixed with its length,
 * so no two label sets share a key whatever characters they hold. Called per element on hot paths
 * (grouping, matching): no JSON, no sort of one name.
 */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels)
  if (names.length > 1) names.sort()
  let key = ''
  for (const name of names) {
    const value = labels[name]
    key += `${name.length}:${name}${value.length}:${value}`
  }

  return key
}

export function withoutName(labels: Labels): Labels {
  const {[METRIC_NAME]: _dropped, ...rest} = labels
  return rest
}

/** How Prometheus prints a label set: `name{a="1", b="2"}`. */
export function formatLabels(labels: Labels): string {
  const name = labels[METRIC_NAME] ?? ''
  const pairs = Object.keys(labels)
    .filter((k) => k !== METRIC_NAME)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
  return `${name}{${pairs.join(', ')}}`
}
