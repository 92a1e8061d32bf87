/**
 * Aggregations computed the obvious way, point by point: the reference the stores' summary-,
 * rollup- and chunk-based answers are checked against.
 */
import {median, percentile, stddev} from '../../src/core/model/aggregate.js'
import type {AggFn} from '../../src/core/store/types.js'

/** `values` in time order. */
export function referenceAggregate(fn: AggFn, values: number[], param?: number): number | null {
  const sum = () => values.reduce((a, b) => a + b, 0)
  switch (fn) {
    case 'mean':
      return sum() / values.length
    case 'sum':
      return sum()
    case 'count':
      return values.length
    case 'min':
      return Math.min(...values)
    case 'max':
      return Math.max(...values)
    case 'spread':
      return Math.max(...values) - Math.min(...values)
    case 'first':
      return values[0]
    case 'last':
      return values[values.length - 1]
    case 'percentile':
      return percentile(values, param ?? 50)
    case 'median':
      return median(values)
    case 'stddev':
      return stddev(values)
  }
}

/** [time, value] points (time order) in [start, end), per `every` bucket (one bucket at `start` without it). */
export function referenceBuckets(fn: AggFn, points: Array<[number, number]>, start: number, end: number, every?: number, param?: number): Array<[number, number | null]> {
  const buckets = new Map<number, number[]>()
  for (const [t, v] of points) {
    if (t < start || t >= end) continue
    const b = every ? Math.floor(t / every) * every : start
    const vs = buckets.get(b)
    if (vs) vs.push(v)
    else buckets.set(b, [v])
  }

  return [...buckets.entries()].sort((x, y) => x[0] - y[0]).map(([b, vs]) => [b, referenceAggregate(fn, vs, param)])
}
