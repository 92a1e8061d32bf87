/**
 * The accumulation of an aggregate query's groups from what the store read for them (chunk rows,
 * their blobs, head rows): no SQLite here, so a worker thread can do it as well as the thread that
 * read the rows (query.ts reads them in its transaction; json-thread.ts' thread takes a share of
 * the groups). Each group is accumulated series after series, chunk after chunk, in the order the
 * single-threaded read took: the same additions in the same order, so the same bits.
 */
import {decodeChunk, type DecodeScratch} from '../codec.js'
import {planBucketStart, type QueryPlan} from '../types.js'
import {anyInRange, Buckets, lowerBound, type BucketSink} from './buckets.js'
import type {Summary} from './chunks.js'

/** One chunk of a series: its row's summary, and its blob unless the summary stands for it. */
export interface ChunkInput extends Summary {
  t_start: number
  t_end: number
  blob?: Uint8Array
}

/** What the store read of one series field for an aggregate: its chunks in time order, and its head rows in [start, end). */
export interface SeriesInput {
  chunks: ChunkInput[]
  headTs: number[]
  headValues: Array<number | string>
}

/** The parts of a QueryPlan the accumulation reads (what a worker thread is sent). */
export type AccumulatePlan = Pick<QueryPlan, 'start' | 'end' | 'every' | 'offset'> & {aggregate: NonNullable<QueryPlan['aggregate']>}

/** Whether a chunk's summary stands for its points: a whole chunk inside the range and inside one bucket, with no head row overriding a point of it. */
export function summaryStandsFor(q: AccumulatePlan, useSummaries: boolean, c: {t_start: number; t_end: number}, headTs: number[]): boolean {
  if (!useSummaries || c.t_start < q.start || c.t_end >= q.end) return false
  if (q.every && planBucketStart(c.t_start, q.every, q.offset) !== planBucketStart(c.t_end, q.every, q.offset)) return false
  return !anyInRange(headTs, c.t_start, c.t_end)
}

/** Feeds one series into `sink`: summaries where they stand for a chunk, else the decoded points in [start, end); then the head rows. */
export function feedSeries(q: AccumulatePlan, s: SeriesInput, sink: BucketSink, scratch: DecodeScratch, check?: () => void): void {
  for (const c of s.chunks) {
    check?.()
    if (!c.blob) {
      sink.addSummary(c.t_start, c.n, c.sum!, c.min!, c.max!, c.t_start, c.first!, c.t_end, c.last!)
      continue
    }

    const inside = c.t_start >= q.start && c.t_end < q.end
    const overridden = anyInRange(s.headTs, c.t_start, c.t_end)
    // decoded into the reusable buffers, read before the next chunk is
    const {ts, values} = decodeChunk(c.blob, scratch)
    if (!overridden && typeof values[0] !== 'string') {
      // the points in [start, end) at once (a chunk's times are sorted)
      const from = inside ? 0 : lowerBound(ts, q.start)
      const to = inside ? ts.length : lowerBound(ts, q.end)
      sink.addRun(ts, values as Float64Array, from, to)
      continue
    }

    const headSet = overridden ? new Set(s.headTs) : undefined
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]
      if (t < q.start || t >= q.end || headSet?.has(t)) continue
      const v = values[i]
      sink.add(t, typeof v === 'number' ? v : 0)
    }
  }

  for (let i = 0; i < s.headTs.length; i++) {
    const v = s.headValues[i]
    sink.add(s.headTs[i]!, typeof v === 'number' ? v : 0)
  }
}

/** One group's bucket columns from its series, in order. */
export function accumulateGroup(q: AccumulatePlan, series: readonly SeriesInput[], scratch: DecodeScratch, check?: () => void): {ts: Float64Array; values: Float64Array} {
  const buckets = new Buckets(q as QueryPlan, q.aggregate)
  for (const s of series) feedSeries(q, s, buckets, scratch, check)
  return buckets.columns()
}

/** How many bucket slots a group of this plan has at most (what a thread's answer needs room for). */
export function bucketSlots(q: AccumulatePlan): number {
  if (!q.every) return 1
  const base = planBucketStart(q.start, q.every, q.offset)
  return Math.floor((q.end - 1 - base) / q.every) + 1
}

/**
 * Groups accumulated by another thread while this one accumulates others (json-thread.ts); the
 * store's aggregate reads hand their groups to it when one is set ({@link useGroupHelper}).
 */
export interface GroupHelper {
  /**
   * Accumulates `groups` together with the other thread: each thread takes the next group not
   * taken yet, `mine(i)` doing group i on this one. Returns the other thread's columns by group,
   * or undefined when it cannot take part now (not running): the caller then accumulates every
   * group itself, and accumulates any group missing from the answer (the other thread failed on
   * it, or is gone), meeting its error where it would alone.
   */
  accumulate(q: AccumulatePlan, groups: ReadonlyArray<readonly SeriesInput[]>, mine: (i: number) => void): Map<number, {ts: Float64Array; values: Float64Array}> | undefined
  /** fewest decoded points worth sharing */
  readonly minPoints: number
}

let helper: GroupHelper | undefined

/** The process' helper for aggregate reads (the daemon's JSON thread while it runs), or none. */
export function useGroupHelper(h: GroupHelper | undefined): void {
  helper = h
}

export function groupHelper(): GroupHelper | undefined {
  return helper
}

/*
 * Groups packed into shared memory for another thread: structured cloning (postMessage) of the
 * chunks' blobs cost ~0.2 ms a request (it copies each typed array through a growing buffer), a
 * copy into memory both threads see ~10 µs. Numbers first (Float64), then the blobs' bytes:
 *   groups; per group: series; per series: chunks, head rows; per chunk: t_start, t_end, n, sum,
 *   min, max, first, last, blob offset, blob length (−1: none); per head row: ts, value.
 * Numeric fields only (null is NaN): a string field's groups are not handed over.
 */
const CHUNK_FIELDS = 10

/** The groups as shared memory (grown from `into` when it is too small). */
export function packGroups(groups: ReadonlyArray<readonly SeriesInput[]>, into?: SharedArrayBuffer): SharedArrayBuffer {
  let numbers = 1
  let bytes = 0
  for (const g of groups) {
    numbers++
    for (const s of g) {
      numbers += 2 + s.chunks.length * CHUNK_FIELDS + s.headTs.length * 2
      for (const c of s.chunks) if (c.blob) bytes += c.blob.length
    }
  }
  const size = numbers * 8 + bytes
  const buf = into && into.byteLength >= size ? into : new SharedArrayBuffer(Math.max(1 << 16, Math.ceil(size * 1.25)))
  const f = new Float64Array(buf, 0, numbers)
  const b = new Uint8Array(buf)
  let at = 0
  let blobAt = numbers * 8
  f[at++] = groups.length
  for (const g of groups) {
    f[at++] = g.length
    for (const s of g) {
      f[at++] = s.chunks.length
      f[at++] = s.headTs.length
      for (const c of s.chunks) {
        f[at++] = c.t_start
        f[at++] = c.t_end
        f[at++] = c.n
        f[at++] = c.sum ?? Number.NaN
        f[at++] = c.min ?? Number.NaN
        f[at++] = c.max ?? Number.NaN
        f[at++] = c.first ?? Number.NaN
        f[at++] = c.last ?? Number.NaN
        if (c.blob) {
          b.set(c.blob, blobAt)
          f[at++] = blobAt
          f[at++] = c.blob.length
          blobAt += c.blob.length
        } else {
          f[at++] = 0
          f[at++] = -1
        }
      }
      for (let i = 0; i < s.headTs.length; i++) {
        f[at++] = s.headTs[i]!
        f[at++] = s.headValues[i] as number
      }
    }
  }
  return buf
}

/** What {@link packGroups} packed (the blobs are views of `buf`). */
export function unpackGroups(buf: SharedArrayBuffer): SeriesInput[][] {
  const f = new Float64Array(buf, 0, Math.floor(buf.byteLength / 8))
  let at = 0
  const groups: SeriesInput[][] = []
  for (let g = f[at++]!; g > 0; g--) {
    const series: SeriesInput[] = []
    for (let n = f[at++]!; n > 0; n--) {
      const chunks: ChunkInput[] = []
      const nChunks = f[at++]!
      const nHead = f[at++]!
      for (let i = 0; i < nChunks; i++) {
        const c: ChunkInput = {t_start: f[at]!, t_end: f[at + 1]!, n: f[at + 2]!, sum: f[at + 3]!, min: f[at + 4]!, max: f[at + 5]!, first: f[at + 6]!, last: f[at + 7]!}
        if (f[at + 9]! >= 0) c.blob = new Uint8Array(buf, f[at + 8]!, f[at + 9]!)
        at += CHUNK_FIELDS
        chunks.push(c)
      }
      const headTs: number[] = []
      const headValues: number[] = []
      for (let i = 0; i < nHead; i++) {
        headTs.push(f[at++]!)
        headValues.push(f[at++]!)
      }
      series.push({chunks, headTs, headValues})
    }
    groups.push(series)
  }
  return groups
}
