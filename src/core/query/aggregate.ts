import type {AggFn} from '../store/types.js'

/**
 * Aggregations with InfluxQL's semantics, so the embedded store and InfluxDB give the same numbers:
 * percentile is nearest-rank (`floor(n*p/100 + 0.5) - 1`), median averages the two middle values,
 * stddev is the sample standard deviation (null below two values), first/last go by time.
 *
 * An accumulator takes single points or, for the functions that allow it, a whole pre-aggregated
 * block (count/sum/min/max/first/last), which is how the embedded store answers long ranges fast.
 */
export class Accumulator {
  count = 0
  sum = 0
  min = Number.POSITIVE_INFINITY
  max = Number.NEGATIVE_INFINITY
  firstTs = Number.POSITIVE_INFINITY
  first = Number.NaN
  lastTs = Number.NEGATIVE_INFINITY
  last = Number.NaN
  values: number[] | undefined

  constructor(readonly fn: AggFn, readonly param?: number) {
    if (needsValues(fn)) this.values = []
  }

  add(ts: number, v: number): void {
    this.count++
    this.sum += v
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
    if (ts < this.firstTs) {
      this.firstTs = ts
      this.first = v
    }

    if (ts >= this.lastTs) {
      this.lastTs = ts
      this.last = v
    }

    this.values?.push(v)
  }

  /** A block summary; only valid when {@link summarizable} is true for the function. */
  addSummary(n: number, sum: number, min: number, max: number, firstTs: number, first: number, lastTs: number, last: number): void {
    this.count += n
    this.sum += sum
    if (min < this.min) this.min = min
    if (max > this.max) this.max = max
    if (firstTs < this.firstTs) {
      this.firstTs = firstTs
      this.first = first
    }

    if (lastTs >= this.lastTs) {
      this.lastTs = lastTs
      this.last = last
    }
  }

  result(): number | null {
    if (this.count === 0) return this.fn === 'count' ? null : null
    switch (this.fn) {
      case 'mean':
        return this.sum / this.count
      case 'sum':
        return this.sum
      case 'count':
        return this.count
      case 'min':
        return this.min
      case 'max':
        return this.max
      case 'spread':
        return this.max - this.min
      case 'first':
        return this.first
      case 'last':
        return this.last
      case 'percentile':
        return percentile(this.values!, this.param ?? 50)
      case 'median':
        return median(this.values!)
      case 'stddev':
        return stddev(this.values!)
    }
  }
}

export function needsValues(fn: AggFn): boolean {
  return fn === 'percentile' || fn === 'median' || fn === 'stddev'
}

/** True when a pre-aggregated block can stand in for its points. */
export function summarizable(fn: AggFn): boolean {
  return !needsValues(fn)
}

export function percentile(values: number[], p: number): number | null {
  const n = values.length
  const i = Math.floor((n * p) / 100 + 0.5) - 1
  if (i < 0 || i >= n) return null
  const sorted = Float64Array.from(values).sort()
  return sorted[i]
}

export function median(values: number[]): number | null {
  const n = values.length
  if (n === 0) return null
  const sorted = Float64Array.from(values).sort()
  if (n % 2 === 1) return sorted[(n - 1) / 2]
  return sorted[n / 2 - 1] + (sorted[n / 2] - sorted[n / 2 - 1]) / 2
}

export function stddev(values: number[]): number | null {
  const n = values.length
  if (n < 2) return null
  let mean = 0
  for (const v of values) mean += v
  mean /= n
  let ss = 0
  for (const v of values) ss += (v - mean) * (v - mean)
  return Math.sqrt(ss / (n - 1))
}

/** Per-second derivative between consecutive points; `nonNegative` drops negative results (counter resets). */
export function derivative(ts: ArrayLike<number>, values: ArrayLike<number>, nonNegative: boolean): {ts: number[]; values: number[]} {
  const outTs: number[] = []
  const outValues: number[] = []
  for (let i = 1; i < ts.length; i++) {
    const dt = (ts[i] - ts[i - 1]) / 1000
    if (dt <= 0) continue
    const d = (values[i] - values[i - 1]) / dt
    if (nonNegative && d < 0) continue
    outTs.push(ts[i])
    outValues.push(d)
  }

  return {ts: outTs, values: outValues}
}

export function bucketStart(ts: number, every: number): number {
  return Math.floor(ts / every) * every
}
