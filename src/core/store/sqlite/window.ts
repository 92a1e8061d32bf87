/** The embedded store's one-window aggregation: an instant query's pushed-down `avg_over_time(x[24h])`. */
import type Database from 'better-sqlite3'
import {Accumulators} from '../../model/aggregate.js'
import type {Tags} from '../../model/point.js'
import type {Frame, QueryPlan} from '../types.js'
import type {BucketSink} from './buckets.js'
import type {ChunkRow} from './chunks.js'
import {keptStatement} from './statements.js'
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

/** What a series field holds in a range: its raw chunks (as ChunkTable.overlapping has them) and head rows (as the head read has them). */
export interface SeriesRows {
  chunks: ChunkRow[]
  head: Array<{ts: number; value: number | string}>
}

export const NO_ROWS: SeriesRows = {chunks: [], head: []}

const COLUMNS = 'rowid, t_start, t_end, n, sum, min, max, first, last'
/** the chunks that start in [start, end), for every series at once */
const CHUNKS_FROM = `SELECT series_id, ${COLUMNS} FROM chunks WHERE series_id IN (SELECT value FROM json_each(?)) AND field_id = ? AND t_start >= ? AND t_start < ? ORDER BY series_id, t_start`
/** each series' last chunk starting before `start`, where it reaches into the range */
const CHUNK_BEFORE = `SELECT c.series_id, ${COLUMNS.replace(/(\w+)/g, 'c.$1')} FROM json_each(?) j JOIN chunks c ON c.rowid = (SELECT rowid FROM chunks WHERE series_id = j.value AND field_id = ? AND t_start < ? ORDER BY t_start DESC LIMIT 1) WHERE c.t_end >= ?`
const HEAD = 'SELECT series_id, ts, value FROM head WHERE series_id IN (SELECT value FROM json_each(?)) AND field_id = ? AND ts >= ? AND ts < ? ORDER BY series_id, ts'

type ChunkTuple = [number, number, number, number, number, number | null, number | null, number | null, number | null, number | null]

/**
 * The raw chunks and head rows of every series in [start, end) of one field, in three statements
 * for all series instead of three per series, read as arrays (better-sqlite3 builds a row object
 * key by key): the same rows, in the same order, as ChunkTable.overlapping and the head read give
 * series by series. Run inside the plan's read transaction (one snapshot).
 */
export function windowRows(db: Database.Database, fieldId: number, seriesIds: readonly number[], start: number, end: number): Map<number, SeriesRows> {
  const ids = JSON.stringify(seriesIds)
  const out = new Map<number, SeriesRows>()
  const rowsOf = (sid: number) => {
    let r = out.get(sid)
    if (!r) out.set(sid, (r = {chunks: [], head: []}))
    return r
  }

  const chunk = (t: ChunkTuple): ChunkRow => ({rowid: t[1], t_start: t[2], t_end: t[3], n: t[4], sum: t[5], min: t[6], max: t[7], first: t[8], last: t[9], items: t[4]})
  // the chunk reaching in from before comes first, as overlapping() puts it
  for (const t of keptStatement<unknown[], ChunkTuple>(db, CHUNK_BEFORE).raw(true).all(ids, fieldId, start, start)) rowsOf(t[0]).chunks.push(chunk(t))
  for (const t of keptStatement<unknown[], ChunkTuple>(db, CHUNKS_FROM).raw(true).all(ids, fieldId, start, end)) rowsOf(t[0]).chunks.push(chunk(t))
  for (const [sid, ts, value] of keptStatement<unknown[], [number, number, number | string]>(db, HEAD).raw(true).all(ids, fieldId, start, end)) rowsOf(sid).head.push({ts, value})
  return out
}
