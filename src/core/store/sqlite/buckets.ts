/** The query side's accumulation: which rollup columns a function reads, buckets per group, run helpers. */
import {Accumulators, bucketStart} from '../../model/aggregate.js'
import type {BucketColumn} from '../codec.js'
import {planBucketStart, type QueryPlan} from '../types.js'
import type {Run} from './merge.js'

export const LAST_ONLY: ReadonlySet<BucketColumn> = new Set(['last'])
/** The rollup columns each function reads. */
export const COLUMNS_FOR: Record<string, ReadonlySet<BucketColumn>> = {
  mean: new Set(['n', 'sum']),
  sum: new Set(['n', 'sum']),
  count: new Set(['n']),
  min: new Set(['n', 'min']),
  max: new Set(['n', 'max']),
  spread: new Set(['n', 'min', 'max']),
  first: new Set(['n', 'first']),
  last: new Set(['n', 'last']),
}

/** Where a series' points or block summaries go: the bucket is found from the time `t`. */
export interface BucketSink {
  add(t: number, v: number): void
  /** Points ts[from, to), sorted by time: as add() for each, in order. */
  addRun(ts: ArrayLike<number>, values: ArrayLike<number>, from: number, to: number): void
  addSummary(t: number, n: number, sum: number, min: number, max: number, firstTs: number, first: number, lastTs: number, last: number): void
}

/** Most bucket slots a group allocates before it sees a point. */
const MAX_RESERVED = 65_536

/** The accumulators of one group: a slot per `every` bucket from the range start (one without `every`). */
export class Buckets implements BucketSink {
  private readonly acc: Accumulators
  private readonly base: number
  private readonly every: number

  constructor(
    private readonly q: QueryPlan,
    agg: NonNullable<QueryPlan['aggregate']>,
  ) {
    this.acc = new Accumulators(agg.fn, agg.param)
    this.every = q.every ?? 0
    this.base = this.every ? planBucketStart(q.start, this.every, q.offset) : q.start
    const slots = this.every ? Math.floor((q.end - 1 - this.base) / this.every) + 1 : 1
    // every bucket up front when there are not too many (a sparse series over a long range grows as it goes)
    if (slots <= MAX_RESERVED) this.acc.reserve(slots)
  }

  private slot(t: number): number {
    return this.every ? Math.floor((t - this.base) / this.every) : 0
  }

  add(t: number, v: number): void {
    this.acc.add(this.slot(t), t, v)
  }

  addRun(ts: ArrayLike<number>, values: ArrayLike<number>, from: number, to: number): void {
    const every = this.every
    if (!every) {
      this.acc.addRun(0, ts, values, from, to)
      return
    }

    // bucket by bucket: the points of one bucket are consecutive
    for (let i = from; i < to; ) {
      const slot = Math.floor((ts[i] - this.base) / every)
      const next = this.base + (slot + 1) * every
      let j = i + 1
      while (j < to && ts[j] < next) j++
      this.acc.addRun(slot, ts, values, i, j)
      i = j
    }
  }

  addSummary(t: number, n: number, sum: number, min: number, max: number, firstTs: number, first: number, lastTs: number, last: number): void {
    this.acc.addSummary(this.slot(t), n, sum, min, max, firstTs, first, lastTs, last)
  }

  /**
   * The bucket times and values of every bucket with a value, in time order, as two columns (a
   * call per bucket boxed each time and value, and the pushes grew two arrays: ~1 MB a request for
   * 1-min means over a day of 10 series).
   */
  columns(): {ts: Float64Array; values: Float64Array} {
    return this.acc.columns(this.every ? this.base : this.q.start, this.every)
  }
}

/** Whether `t` lies in one of the sorted [from, to) ranges. */
export function inRanges(ranges: ReadonlyArray<readonly [number, number]>, t: number): boolean {
  for (const [from, to] of ranges) {
    if (t < from) return false
    if (t < to) return true
  }
  return false
}

/** Runs over disjoint time ranges, in any order, as one run in time order. */
export function sortedRun(runs: Array<Run<number>>): Run<number> {
  const order: Array<[number, number]> = []
  for (const r of runs) for (let i = 0; i < r.ts.length; i++) order.push([r.ts[i], r.values[i]])
  order.sort((a, b) => a[0] - b[0])
  return {ts: order.map((p) => p[0]), values: order.map((p) => p[1])}
}

/** The first index of the sorted `ts` with ts[i] >= t (ts.length when none). */
export function lowerBound(ts: ArrayLike<number>, t: number): number {
  let lo = 0
  let hi = ts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ts[mid] < t) lo = mid + 1
    else hi = mid
  }

  return lo
}

/** Is any timestamp of the sorted array inside [lo, hi]? */
export function anyInRange(sorted: number[], lo: number, hi: number): boolean {
  const a = lowerBound(sorted, lo)
  return a < sorted.length && sorted[a] <= hi
}
