/** The embedded store's one-window aggregation: an instant query's pushed-down `avg_over_time(x[24h])`. */
import {Accumulators} from '../../model/aggregate.js'
import type {Tags} from '../../model/point.js'
import type {Frame, QueryPlan} from '../types.js'
import type {BucketSink} from './buckets.js'
import {sortFrames} from '../frames.js'

/**
 * A plan's aggregation without `every` (one window over [start, end)), group by group: the same
 * accumulation as a group's Buckets with its one slot — the same additions in the same order, so
 * bit for bit the same values — but every group a slot of one shared {@link Accumulators}, and each
 * answer a one-row frame. A Buckets per group made ten typed arrays per group and a frame of
 * columns per group: for `avg by (host) (avg_over_time(cpu.usage_user[24h]))` over 10 hosts a
 * third of the store's read was allocating them and collecting them again.
 *
 * `feed` hands a series' points or chunk summaries to a sink (the read path's feedRaw).
 */
export function windowFrames(
  q: QueryPlan,
  agg: NonNullable<QueryPlan['aggregate']>,
  series: ReadonlyArray<{id: number; tags: Tags}>,
  feed: (sid: number, sink: BucketSink) => void,
  opts: {noValue: boolean; checkDeadline: () => void},
): Frame[] {
  const acc = new Accumulators(agg.fn, agg.param)
  const groups = new Map<string, SlotSink>()
  for (const s of series) {
    opts.checkDeadline()
    const groupTags: Tags = {}
    for (const k of agg.by) groupTags[k] = s.tags[k] ?? ''
    const groupKey = agg.by.map((k) => groupTags[k]).join('\u0000')
    let group = groups.get(groupKey)
    if (!group) {
      group = new SlotSink(acc, groups.size, groupTags)
      groups.set(groupKey, group)
    }

    feed(s.id, group)
  }

  const frames: Frame[] = []
  for (const g of groups.values()) {
    const v = acc.result(g.slot)
    if (v !== null) frames.push({name: q.measurement, tags: g.tags, columns: ['time', agg.fn], rows: [[q.start, opts.noValue ? null : v]]})
  }

  return sortFrames(frames)
}

/** One group's slot of the shared accumulators, as a bucket sink. */
class SlotSink implements BucketSink {
  constructor(
    private readonly acc: Accumulators,
    readonly slot: number,
    readonly tags: Tags,
  ) {}

  add(t: number, v: number): void {
    this.acc.add(this.slot, t, v)
  }

  addRun(ts: ArrayLike<number>, values: ArrayLike<number>, from: number, to: number): void {
    this.acc.addRun(this.slot, ts, values, from, to)
  }

  addSummary(t: number, n: number, sum: number, min: number, max: number, firstTs: number, first: number, lastTs: number, last: number): void {
    this.acc.addSummary(this.slot, n, sum, min, max, firstTs, first, lastTs, last)
  }
}
