/** Aggregations every backend implements with the same semantics (InfluxQL's). */
export type AggFn = 'mean' | 'min' | 'max' | 'sum' | 'count' | 'first' | 'last' | 'percentile' | 'median' | 'stddev' | 'spread'

/**
 * Aggregations with InfluxQL's semantics, so the embedded store and InfluxDB give the same numbers:
 * percentile is nearest-rank (`floor(n*p/100 + 0.5) - 1`), median averages the two middle values,
 * stddev is the sample standard deviation (null below two values), first/last go by time.
 *
 * Accumulators for many buckets at once, column by column (typed arrays indexed by bucket slot: no
 * object per bucket, which matters for a year at one-hour resolution). A slot takes single points
 * or, for the functions that allow it, a whole pre-aggregated block (count/sum/min/max/first/last),
 * which is how the embedded store answers long ranges from chunk summaries and rollups.
 */
export class Accumulators {
  private count = new Float64Array(0)
  private sum = new Float64Array(0)
  private min = new Float64Array(0)
  private max = new Float64Array(0)
  private firstTs = new Float64Array(0)
  private first = new Float64Array(0)
  private lastTs = new Float64Array(0)
  private last = new Float64Array(0)
  private readonly values: number[][] | undefined
  /** the columns this function reads besides count and sum (a mean over a day of 1-min buckets keeps two arrays, not eight) */
  private readonly extremes: boolean
  private readonly ends: boolean
  /** slots in use: 1 + the highest slot added to */
  size = 0

  constructor(
    readonly fn: AggFn,
    readonly param?: number,
  ) {
    if (needsValues(fn)) this.values = []
    this.extremes = fn === 'min' || fn === 'max' || fn === 'spread'
    this.ends = fn === 'first' || fn === 'last'
  }

  /** Room for `slots` slots up front (a query knows how many buckets it has): no regrowing on the way. */
  reserve(slots: number): void {
    if (slots > this.count.length) this.resize(slots)
  }

  private grow(slot: number): void {
    if (slot < this.count.length) {
      if (slot >= this.size) this.size = slot + 1
      return
    }

    this.resize(Math.max(16, slot + 1, this.count.length * 2))
    this.size = slot + 1
  }

  private resize(cap: number): void {
    const resize = (a: Float64Array, fill: number) => {
      const b = new Float64Array(cap)
      b.set(a)
      if (fill !== 0) b.fill(fill, a.length)
      return b
    }

    this.count = resize(this.count, 0)
    this.sum = resize(this.sum, 0)
    if (this.extremes) {
      this.min = resize(this.min, Number.POSITIVE_INFINITY)
      this.max = resize(this.max, Number.NEGATIVE_INFINITY)
    }

    if (this.ends) {
      this.firstTs = resize(this.firstTs, Number.POSITIVE_INFINITY)
      this.first = resize(this.first, Number.NaN)
      this.lastTs = resize(this.lastTs, Number.NEGATIVE_INFINITY)
      this.last = resize(this.last, Number.NaN)
    }
  }

  add(slot: number, ts: number, v: number): void {
    this.grow(slot)
    this.count[slot]++
    this.sum[slot] += v
    if (this.extremes) {
      if (v < this.min[slot]) this.min[slot] = v
      if (v > this.max[slot]) this.max[slot] = v
    }

    if (this.ends) {
      if (ts < this.firstTs[slot]) {
        this.firstTs[slot] = ts
        this.first[slot] = v
      }

      if (ts >= this.lastTs[slot]) {
        this.lastTs[slot] = ts
        this.last[slot] = v
      }
    }

    if (this.values) (this.values[slot] ??= []).push(v)
  }

  /**
   * Points ts[from, to) (sorted by time) into one slot: the same sums, in the same order, as
   * {@link add} point by point, without a call per point.
   */
  addRun(slot: number, ts: ArrayLike<number>, values: ArrayLike<number>, from: number, to: number): void {
    if (to <= from) return
    this.grow(slot)
    this.count[slot] += to - from
    let sum = this.sum[slot]
    for (let i = from; i < to; i++) sum += values[i]
    this.sum[slot] = sum
    if (this.extremes) {
      let min = this.min[slot]
      let max = this.max[slot]
      for (let i = from; i < to; i++) {
        const v = values[i]
        if (v < min) min = v
        if (v > max) max = v
      }

      this.min[slot] = min
      this.max[slot] = max
    }

    if (this.ends) {
      // in time order the earliest is the run's first point and the latest its last
      if (ts[from] < this.firstTs[slot]) {
        this.firstTs[slot] = ts[from]
        this.first[slot] = values[from]
      }

      if (ts[to - 1] >= this.lastTs[slot]) {
        this.lastTs[slot] = ts[to - 1]
        this.last[slot] = values[to - 1]
      }
    }

    if (this.values) {
      const out = (this.values[slot] ??= [])
      for (let i = from; i < to; i++) out.push(values[i])
    }
  }

  /** A block summary; only valid when {@link summarizable} is true for the function. */
  addSummary(slot: number, n: number, sum: number, min: number, max: number, firstTs: number, first: number, lastTs: number, last: number): void {
    this.grow(slot)
    this.count[slot] += n
    this.sum[slot] += sum
    if (this.extremes) {
      if (min < this.min[slot]) this.min[slot] = min
      if (max > this.max[slot]) this.max[slot] = max
    }

    if (this.ends) {
      if (firstTs < this.firstTs[slot]) {
        this.firstTs[slot] = firstTs
        this.first[slot] = first
      }

      if (lastTs >= this.lastTs[slot]) {
        this.lastTs[slot] = lastTs
        this.last[slot] = last
      }
    }
  }

  /**
   * Every slot with an aggregate, in slot order: its time (`t0 + slot × every`) and {@link result}
   * — for the functions kept in columns without a call per slot (a day of 1-min buckets is 1,440).
   */
  columns(t0: number, every: number): {ts: Float64Array; values: Float64Array} {
    const size = this.size
    let ts = new Float64Array(size)
    let values = new Float64Array(size)
    let n = 0
    const {fn, count, sum} = this
    if (fn === 'mean' || fn === 'sum' || fn === 'count') {
      for (let i = 0; i < size; i++) {
        const c = count[i]!
        if (c === 0) continue
        ts[n] = t0 + i * every
        values[n++] = fn === 'mean' ? sum[i]! / c : fn === 'sum' ? sum[i]! : c
      }
    } else {
      for (let i = 0; i < size; i++) {
        const v = this.result(i)
        if (v === null) continue
        ts[n] = t0 + i * every
        values[n++] = v
      }
    }

    // views of the columns, not copies (a range's last bucket is empty more often than not)
    if (n < size) {
      ts = ts.subarray(0, n)
      values = values.subarray(0, n)
    }

    return {ts, values}
  }

  /** The aggregate of a slot, or null when it saw nothing (or the function is undefined there). */
  result(slot: number): number | null {
    if (slot >= this.size || this.count[slot] === 0) return null
    switch (this.fn) {
      case 'mean':
        return this.sum[slot] / this.count[slot]
      case 'sum':
        return this.sum[slot]
      case 'count':
        return this.count[slot]
      case 'min':
        return this.min[slot]
      case 'max':
        return this.max[slot]
      case 'spread':
        return this.max[slot] - this.min[slot]
      case 'first':
        return this.first[slot]
      case 'last':
        return this.last[slot]
      case 'percentile':
        return percentile(this.values![slot], this.param ?? 50)
      case 'median':
        return median(this.values![slot])
      case 'stddev':
        return stddev(this.values![slot])
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

/** The last value of each `every` bucket, stamped with the bucket start (what rate() over buckets reads). */
export function lastPerBucket(ts: ArrayLike<number>, values: ArrayLike<number>, every: number): {ts: number[]; values: number[]} {
  const outTs: number[] = []
  const outValues: number[] = []
  for (let i = 0; i < ts.length; i++) {
    const b = bucketStart(ts[i], every)
    if (outTs.length > 0 && outTs[outTs.length - 1] === b) outValues[outValues.length - 1] = values[i]
    else {
      outTs.push(b)
      outValues.push(values[i])
    }
  }

  return {ts: outTs, values: outValues}
}
