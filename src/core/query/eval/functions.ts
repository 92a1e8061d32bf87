import type {Sample} from './series.js'

/**
 * Prometheus' range-vector functions (promql/functions.go, 2.42) over the samples one series has in
 * a window. Each returns undefined when Prometheus returns no sample for that series.
 */

/** The window the samples were selected from, needed by the extrapolating functions. */
export interface Window {
  /** ms: rangeStart = evaluation time - range - offset */
  start: number
  /** ms: rangeEnd = evaluation time - offset */
  end: number
}

/**
 * rate/increase/delta: Prometheus' `extrapolatedRate`. The difference between the first and last
 * sample (counter resets added back for counters) is extrapolated toward the window's edges: all
 * the way to an edge closer than 1.1 × the average sample interval, else by half an interval; a
 * counter is never extrapolated below zero.
 */
export function extrapolatedRate(samples: Sample[], window: Window, isCounter: boolean, isRate: boolean): number | undefined {
  if (samples.length < 2) return undefined
  const first = samples[0]
  const last = samples.at(-1)!
  let result = last.v - first.v
  if (isCounter) {
    let previous = 0
    for (const s of samples) {
      if (s.v < previous) result += previous
      previous = s.v
    }
  }

  let durationToStart = (first.t - window.start) / 1000
  const durationToEnd = (window.end - last.t) / 1000
  const sampledInterval = (last.t - first.t) / 1000
  const averageInterval = sampledInterval / (samples.length - 1)
  if (isCounter && result > 0 && first.v >= 0) {
    // the counter started at zero at most this long before the first sample
    const durationToZero = sampledInterval * (first.v / result)
    if (durationToZero < durationToStart) durationToStart = durationToZero
  }

  const threshold = averageInterval * 1.1
  let extrapolateTo = sampledInterval
  extrapolateTo += durationToStart < threshold ? durationToStart : averageInterval / 2
  extrapolateTo += durationToEnd < threshold ? durationToEnd : averageInterval / 2
  result *= extrapolateTo / sampledInterval
  if (isRate) result /= (window.end - window.start) / 1000
  return result
}

/** irate/idelta: the last two samples only. */
export function instantValue(samples: Sample[], isRate: boolean): number | undefined {
  if (samples.length < 2) return undefined
  const last = samples.at(-1)!
  const previous = samples.at(-2)!
  // a counter that went down was reset: its whole last value is the increase
  const result = isRate && last.v < previous.v ? last.v : last.v - previous.v
  const interval = last.t - previous.t
  if (interval === 0) return undefined
  return isRate ? result / (interval / 1000) : result
}

/** Least squares over (seconds since interceptTime, value), as Prometheus' linearRegression. */
export function linearRegression(samples: Sample[], interceptTime: number): {slope: number; intercept: number} {
  const initial = samples[0].v
  let constant = true
  let n = 0
  let sumX = 0
  let sumY = 0
  let sumXY = 0
  let sumX2 = 0
  for (const [i, s] of samples.entries()) {
    if (constant && i > 0 && s.v !== initial) constant = false
    n++
    const x = (s.t - interceptTime) / 1000
    sumX += x
    sumY += s.v
    sumXY += x * s.v
    sumX2 += x * x
  }

  // a constant series has slope 0 exactly, whatever the rounding of the sums
  if (constant) return Number.isFinite(initial) ? {slope: 0, intercept: initial} : {slope: Number.NaN, intercept: Number.NaN}
  const covXY = sumXY - (sumX * sumY) / n
  const varX = sumX2 - (sumX * sumX) / n
  const slope = covXY / varX
  return {slope, intercept: sumY / n - (slope * sumX) / n}
}

export function deriv(samples: Sample[]): number | undefined {
  if (samples.length < 2) return undefined
  // the intercept at the first sample's time keeps the sums small (Prometheus does the same)
  return linearRegression(samples, samples[0].t).slope
}

/** predict_linear(v[d], seconds): the regression line at evaluation time + seconds. */
export function predictLinear(samples: Sample[], evaluationTime: number, seconds: number): number | undefined {
  if (samples.length < 2) return undefined
  const {slope, intercept} = linearRegression(samples, evaluationTime)
  return slope * seconds + intercept
}

/**
 * holt_winters(v[d], sf, tf): double exponential smoothing (Prometheus' funcHoltWinters); the
 * smoothed value after the last sample. Both factors must be in (0, 1).
 */
export function holtWinters(samples: Sample[], smoothing: number, trend: number): number | undefined {
  if (samples.length < 2) return undefined
  let previous = 0
  let smoothed = samples[0].v
  let slope = samples[1].v - samples[0].v
  for (let i = 1; i < samples.length; i++) {
    // the first step keeps the initial slope; later ones blend in the last smoothed change
    if (i > 1) slope = trend * (smoothed - previous) + (1 - trend) * slope
    const next = smoothing * samples[i].v + (1 - smoothing) * (smoothed + slope)
    previous = smoothed
    smoothed = next
  }

  return smoothed
}

/** changes(): how often the value changed (NaN to NaN is no change). */
export function changes(samples: Sample[]): number | undefined {
  if (samples.length === 0) return undefined
  let count = 0
  for (let i = 1; i < samples.length; i++) {
    const previous = samples[i - 1].v
    const current = samples[i].v
    if (current !== previous && !(Number.isNaN(current) && Number.isNaN(previous))) count++
  }

  return count
}

/** resets(): how often a counter went down. */
export function resets(samples: Sample[]): number | undefined {
  if (samples.length === 0) return undefined
  let count = 0
  for (let i = 1; i < samples.length; i++) if (samples[i].v < samples[i - 1].v) count++
  return count
}

/** Prometheus' quantile: linear interpolation between the closest ranks; φ outside [0, 1] is ±Inf. */
export function quantile(phi: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(phi)) return Number.NaN
  if (phi < 0) return Number.NEGATIVE_INFINITY
  if (phi > 1) return Number.POSITIVE_INFINITY
  // a typed array sorts numbers natively (several times faster, rules run this per group); with a NaN
  // present keep the comparator sort, whose placement of NaN the Prometheus tests pin down
  const sorted = values.some(Number.isNaN) ? [...values].sort((a, b) => a - b) : Float64Array.from(values).sort()
  const rank = phi * (sorted.length - 1)
  const lower = Math.max(0, Math.floor(rank))
  const upper = Math.min(sorted.length - 1, lower + 1)
  const weight = rank - Math.floor(rank)
  return sorted[lower] * (1 - weight) + sorted[upper] * weight
}

/** Population variance with Welford's update (stdvar; stddev is its root). */
export function variance(values: number[]): number {
  let count = 0
  let mean = 0
  let squares = 0
  for (const v of values) {
    count++
    const delta = v - mean
    mean += delta / count
    squares += delta * (v - mean)
  }

  return squares / count
}

export function mean(values: number[]): number {
  // the incremental mean Prometheus uses, which stays finite where a plain sum overflows
  // (an index loop: entries() made an iterator and an [i, v] pair per value, per step of a range query)
  let m = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (!Number.isFinite(m) && Number.isFinite(v)) continue
    m += v / (i + 1) - m / (i + 1)
  }

  return m
}

/** The `_over_time` functions that only look at the values in the window. */
export const overTimeFunctions: Record<string, (values: number[]) => number> = {
  avg_over_time: (values) => mean(values),
  min_over_time: (values) => values.reduce((m, v) => (m > v || Number.isNaN(m) ? v : m)),
  max_over_time: (values) => values.reduce((m, v) => (m < v || Number.isNaN(m) ? v : m)),
  sum_over_time: (values) => values.reduce((s, v) => s + v, 0),
  count_over_time: (values) => values.length,
  last_over_time: (values) => values.at(-1)!,
  stddev_over_time: (values) => Math.sqrt(variance(values)),
  stdvar_over_time: (values) => variance(values),
  present_over_time: () => 1,
}

/** One `le` bucket of a classic histogram. */
export interface Bucket {
  upperBound: number
  count: number
}

/**
 * histogram_quantile over cumulative `le` buckets (Prometheus' bucketQuantile): the rank's bucket
 * is found and the value interpolated linearly inside it; the +Inf bucket is required, and a rank
 * in it returns the largest finite bound.
 */
export function bucketQuantile(phi: number, input: Bucket[]): number {
  if (Number.isNaN(phi)) return Number.NaN
  if (phi < 0) return Number.NEGATIVE_INFINITY
  if (phi > 1) return Number.POSITIVE_INFINITY
  const sorted = [...input].sort((a, b) => a.upperBound - b.upperBound)
  if (sorted.length === 0 || sorted.at(-1)!.upperBound !== Number.POSITIVE_INFINITY) return Number.NaN
  // buckets with the same bound (differing only in other labels) are added together
  const buckets: Bucket[] = []
  for (const b of sorted) {
    const previous = buckets.at(-1)
    if (previous && previous.upperBound === b.upperBound) previous.count += b.count
    else buckets.push({...b})
  }

  // scrapes are not atomic: a count smaller than the bucket below is raised to it
  for (let i = 1; i < buckets.length; i++) if (buckets[i].count < buckets[i - 1].count) buckets[i].count = buckets[i - 1].count
  if (buckets.length < 2) return Number.NaN
  const observations = buckets.at(-1)!.count
  if (observations === 0) return Number.NaN
  let rank = phi * observations
  let b = 0
  while (b < buckets.length - 1 && buckets[b].count < rank) b++
  if (b === buckets.length - 1) return buckets.at(-2)!.upperBound
  if (b === 0 && buckets[0].upperBound <= 0) return buckets[0].upperBound
  let bucketStart = 0
  const bucketEnd = buckets[b].upperBound
  let count = buckets[b].count
  if (b > 0) {
    bucketStart = buckets[b - 1].upperBound
    count -= buckets[b - 1].count
    rank -= buckets[b - 1].count
  }

  return bucketStart + (bucketEnd - bucketStart) * (rank / count)
}

/** The median: the middle value, or the mean of the two middle values of an even count. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  return sortedMedian([...values].sort((a, b) => a - b))
}

function sortedMedian(sorted: number[]): number {
  const mid = sorted.length >>> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** MAD × this estimates the standard deviation of normally distributed values. */
export const MAD_TO_SIGMA = 1.4826
/** The band is never narrower than this share of the baseline's magnitude (see {@link seasonalBand}). */
export const BAND_RELATIVE_FLOOR = 0.01
/** …nor than this, so a baseline of exactly 0 with a flat history still divides by a non-zero number. */
export const BAND_ABSOLUTE_FLOOR = 1e-9

/**
 * How far each value lies from the median of the others (leave-one-out): the error one period
 * makes when it is predicted from the rest, as the current value is predicted from all of them.
 */
export function leaveOneOutDeviations(values: number[]): number[] {
  if (values.length < 2) return []
  const sorted = [...values].sort((a, b) => a - b)
  const rest = sorted.length - 1
  // the median of `sorted` without index a, read off `sorted` itself: below a the indices are the same, from a on shifted by one
  const without = (a: number, q: number) => (q < a ? sorted[q] : sorted[q + 1])
  return sorted.map((v, a) => {
    const mid = rest >>> 1
    const others = rest % 2 === 1 ? without(a, mid) : (without(a, mid - 1) + without(a, mid)) / 2
    return Math.abs(v - others)
  })
}

/**
 * anomaly()'s robust seasonal baseline and band.
 *
 * `history[j]` holds the finite values the previous periods had j minutes after the same time
 * (`history[0]`: the same time exactly; anomaly() passes j = 0 … 30). The baseline is the median
 * of the same-time values: one outlier period (last week's outage) does not move it. The band is
 * 1.4826 × the median of the absolute leave-one-out deviations (a MAD, scaled to estimate a
 * standard deviation) pooled over all the rows: how far one period typically lies from the median
 * of the others. Each minute is compared only with itself in other periods, so the shape within
 * the half hour (a 10:00 rush) does not widen the band. Pooling matters: the MAD of the 4
 * same-time values alone is itself so noisy that on the test fixture's Poisson-like counts one
 * ordinary minute in six scored beyond ±3 (1762 of 10050; a normal distribution: 27); pooled
 * over 31 minutes, about as many as a normal distribution. Leave-one-out measures the error of a
 * prediction (as the current value is one) instead of the smaller spread around a median fitted
 * to the very values it is measured on.
 *
 * The band is floored at 1 % of |baseline| (and at 1e-9): a history with no variation would
 * otherwise make any change, however small, infinitely anomalous. With the floor a constant
 * history counts a change of 1 % of the usual level as one band, so `anomaly(x, 1w) < -4` on a
 * perfectly regular series fires 4 % below the usual level; history with real variation has a band
 * above the floor and is not affected.
 */
export function seasonalBand(history: number[][]): {baseline: number; band: number} {
  const sameTime = history[0] ?? []
  const baseline = median(sameTime)
  const deviations = history.flatMap(leaveOneOutDeviations)
  const spread = deviations.length > 0 ? MAD_TO_SIGMA * median(deviations) : 0
  return {baseline, band: Math.max(spread, BAND_RELATIVE_FLOOR * Math.abs(baseline), BAND_ABSOLUTE_FLOOR)}
}

/** How many bands `current` lies above (positive) or below (negative) the history's baseline. */
export function seasonalScore(current: number, history: number[][]): number {
  const {baseline, band} = seasonalBand(history)
  return (current - baseline) / band
}
