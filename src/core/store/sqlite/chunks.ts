import type Database from 'better-sqlite3'
import {decodeChunk, DecodeScratch, decodeRollup, decodeRollupColumns, encodeChunk, encodeRollup, type Bucket, type BucketColumn, type BucketColumns} from '../codec.js'
import {mergeRuns, type Run} from './merge.js'

/** The per-chunk summary every chunk row carries (null for string chunks). */
export interface Summary {
  n: number
  sum: number | null
  min: number | null
  max: number | null
  first: number | null
  last: number | null
}

export interface ChunkRow extends Summary {
  rowid: number
  t_start: number
  t_end: number
  /** points (raw) or buckets (rollup) in the chunk */
  items: number
}

/** How one kind of chunk is packed: raw points (number or string values) or rollup buckets. */
export interface ChunkCodec<V> {
  encode(ts: number[], values: V[], compress: boolean): Buffer
  decode(blob: Uint8Array): Run<V>
  /** The same, as views of `scratch`'s buffers where the codec can (valid until the next decode into it): for a reader that copies what it keeps. */
  decodeView?(blob: Uint8Array, scratch: DecodeScratch): {ts: ArrayLike<number>; values: ArrayLike<V>}
  summarize(values: V[]): Summary
}

export const rawCodec: ChunkCodec<number | string> = {
  encode: (ts, values, compress) => encodeChunk(ts, values as number[] | string[], {compress}),
  decode(blob) {
    const d = decodeChunk(blob)
    return {ts: Array.from(d.ts), values: Array.isArray(d.values) ? d.values : Array.from(d.values)}
  },
  decodeView: (blob, scratch) => decodeChunk(blob, scratch),
  summarize(values) {
    if (typeof values[0] === 'string') return {n: values.length, sum: null, min: null, max: null, first: null, last: null}
    let sum = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (const v of values as number[]) {
      sum += v
      if (v < min) min = v
      if (v > max) max = v
    }

    return {n: values.length, sum, min, max, first: values[0] as number, last: values[values.length - 1] as number}
  },
}

export const rollupCodec: ChunkCodec<Bucket> = {
  encode: (ts, values, compress) => encodeRollup(ts, values, {compress}),
  decode: (blob) => decodeRollup(blob),
  summarize(values) {
    let n = 0
    let sum = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (const b of values) {
      n += b.n
      sum += b.sum
      if (b.min < min) min = b.min
      if (b.max > max) max = b.max
    }

    return {n, sum, min, max, first: values[0].first, last: values[values.length - 1].last}
  },
}

/**
 * A table of non-overlapping, time-sorted chunks per series field (and, for rollups, per tier):
 * the shared mechanics of raw chunks and rollup chunks — find what a range overlaps, merge a run
 * into it (the run wins on equal timestamps), split into evenly sized chunks, merge small
 * neighbours, and cut everything before a time.
 */
export class ChunkTable<V> {
  private readonly q: ReturnType<ChunkTable<V>['prepare']>
  private readonly items: string
  private readonly scratch = new DecodeScratch()

  constructor(
    private readonly db: Database.Database,
    private readonly table: string,
    private readonly codec: ChunkCodec<V>,
    private readonly chunkMax: number,
    /** rollup tier (bucket width); undefined for the raw table */
    private readonly tier?: number,
  ) {
    // raw chunks count points in `n`; rollup chunks count buckets in `items` (their `n` is points)
    this.items = tier === undefined ? 'n' : 'items'

    this.q = this.prepare()
  }

  private prepare() {
    const {db, table} = this
    const scope = this.tier === undefined ? '' : `tier = ${this.tier} AND `
    const cols = `rowid, t_start, t_end, n, sum, min, max, first, last, ${this.items} AS items`
    return {
      from: db.prepare<[number, number, number, number], ChunkRow>(
        `SELECT ${cols} FROM ${table} WHERE ${scope}series_id = ? AND field_id = ? AND t_start >= ? AND t_start < ? ORDER BY t_start`,
      ),
      before: db.prepare<[number, number, number], ChunkRow>(
        `SELECT ${cols} FROM ${table} WHERE ${scope}series_id = ? AND field_id = ? AND t_start < ? ORDER BY t_start DESC LIMIT 1`,
      ),
      all: db.prepare<[number, number], ChunkRow>(`SELECT ${cols} FROM ${table} WHERE ${scope}series_id = ? AND field_id = ? ORDER BY t_start`),
      data: db.prepare<[number], {data: Buffer}>(`SELECT data FROM ${table} WHERE rowid = ?`),
      dataOf: db.prepare<[string], unknown>(`SELECT rowid, data FROM ${table} WHERE rowid IN (SELECT value FROM json_each(?))`),
      insert: db.prepare(
        this.tier === undefined
          ? `INSERT INTO ${table} (series_id, field_id, t_start, t_end, n, sum, min, max, first, last, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
          : `INSERT INTO ${table} (tier, series_id, field_id, t_start, t_end, n, sum, min, max, first, last, data, items) VALUES (${this.tier}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      delete: db.prepare(`DELETE FROM ${table} WHERE rowid = ?`),
      count: db.prepare<[], {n: number}>(`SELECT count(*) AS n FROM ${table}${this.tier === undefined ? '' : ` WHERE tier = ${this.tier}`}`),
      smallGroups: db.prepare<[number], {series_id: number; field_id: number}>(
        `SELECT series_id, field_id FROM ${table} WHERE ${scope}${this.items} < ? GROUP BY series_id, field_id HAVING count(*) >= 2`,
      ),
      coldGroups: db.prepare<[number, number], {series_id: number; field_id: number}>(
        `SELECT series_id, field_id FROM ${table} WHERE ${scope}${this.items} < ? AND t_end < ? GROUP BY series_id, field_id HAVING count(*) >= 2`,
      ),
      coldOf: db.prepare<[number, number, number], ChunkRow>(
        `SELECT ${cols} FROM ${table} WHERE ${scope}series_id = ? AND field_id = ? AND t_end < ? ORDER BY t_start`,
      ),
      endingBefore: db.prepare<[number], ChunkRow & {series_id: number; field_id: number}>(
        `SELECT ${cols}, series_id, field_id FROM ${table} WHERE ${scope}t_start < ?`,
      ),
      pairsInRange: db.prepare<[number, number], {series_id: number; field_id: number}>(
        `SELECT DISTINCT series_id, field_id FROM ${table} WHERE ${scope}t_end >= ? AND t_start < ?`,
      ),
    }
  }

  /** Chunks with any point in [start, end), in time order (they never overlap each other). */
  overlapping(sid: number, fid: number, start: number, end: number): ChunkRow[] {
    const rows = this.q.from.all(sid, fid, start, end)
    const before = this.q.before.get(sid, fid, start)
    if (before && before.t_end >= start) rows.unshift(before)
    return rows
  }

  read(row: ChunkRow): Run<V> {
    return this.codec.decode(this.blob(row))
  }

  /** A chunk's stored blob, for a reader that decodes it its own way. */
  blob(row: ChunkRow): Buffer {
    return this.q.data.get(row.rowid)!.data
  }

  /** The stored blobs of these chunks (by rowid) in one statement: a statement per chunk cost more than its blob's copy. */
  blobs(rowids: readonly number[]): Map<number, Buffer> {
    const out = new Map<number, Buffer>()
    if (rowids.length === 0) return out
    for (const [rowid, data] of this.q.dataOf.raw(true).all(JSON.stringify(rowids)) as Array<[number, Buffer]>) out.set(rowid, data)
    return out
  }

  /** Every (series, field) with a chunk touching [start, end). */
  pairsInRange(start: number, end: number): Array<{series_id: number; field_id: number}> {
    return this.q.pairsInRange.all(start, end)
  }

  /** Calls `each` for every element in [start, end) of one series field, with its chunk's raw blob decoded by `decode`. */
  forEachInRange<C extends {ts: ArrayLike<number>}>(sid: number, fid: number, start: number, end: number, decode: (blob: Uint8Array) => C, each: (c: C, i: number) => void): void {
    for (const row of this.overlapping(sid, fid, start, end)) {
      const c = decode(this.q.data.get(row.rowid)!.data)
      const inside = row.t_start >= start && row.t_end < end
      for (let i = 0; i < c.ts.length; i++) if (inside || (c.ts[i] >= start && c.ts[i] < end)) each(c, i)
    }
  }

  /** Rollup buckets in [start, end), column by column (no object per bucket), decoding only `need`. */
  scanColumns(sid: number, fid: number, start: number, end: number, need: ReadonlySet<BucketColumn>, each: (c: BucketColumns, i: number) => void): void {
    this.forEachInRange(sid, fid, start, end, (blob) => decodeRollupColumns(blob, need), each)
  }

  /** Everything in [start, end) of one series field, in time order. */
  readRange(sid: number, fid: number, start: number, end: number): Run<V> {
    const out: Run<V> = {ts: [], values: []}
    for (const c of this.overlapping(sid, fid, start, end)) {
      // copied out at once: decoded into the table's reusable buffers where the codec can
      const run = this.codec.decodeView ? this.codec.decodeView(this.blob(c), this.scratch) : this.read(c)
      const inside = c.t_start >= start && c.t_end < end
      for (let i = 0; i < run.ts.length; i++) {
        if (inside || (run.ts[i] >= start && run.ts[i] < end)) {
          out.ts.push(run.ts[i])
          out.values.push(run.values[i])
        }
      }
    }

    return out
  }

  /**
   * Merges a sorted run into the table: chunks it overlaps are decoded, merged (the run wins on
   * equal timestamps, `between` — e.g. head rows — sits between old chunks and the run) and rewritten.
   */
  write(sid: number, fid: number, run: Run<V>, between?: Run<V>): void {
    const minTs = Math.min(run.ts[0], between?.ts[0] ?? Number.POSITIVE_INFINITY)
    const maxTs = Math.max(run.ts[run.ts.length - 1], between?.ts[between.ts.length - 1] ?? Number.NEGATIVE_INFINITY)
    const overlapping = this.overlapping(sid, fid, minTs, maxTs + 1)
    if (overlapping.length === 0 && !between) {
      this.insert(sid, fid, run)
      return
    }

    let merged: Run<V> = {ts: [], values: []}
    for (const c of overlapping) {
      merged = mergeRuns(merged, this.read(c))
      this.q.delete.run(c.rowid)
    }

    if (between) merged = mergeRuns(merged, between)
    this.insert(sid, fid, mergeRuns(merged, run))
  }

  /** Inserts a run that overlaps nothing, split evenly (chunks of at most `max`) so that no chunk is tiny. */
  insert(sid: number, fid: number, run: Run<V>, max = this.chunkMax): void {
    const n = run.ts.length
    if (n === 0) return
    const pieces = Math.ceil(n / max)
    const size = Math.ceil(n / pieces)
    for (let from = 0; from < n; from += size) {
      const ts = run.ts.slice(from, from + size)
      const values = run.values.slice(from, from + size)
      // small chunks are written plain and compressed when compaction merges them
      const blob = this.codec.encode(ts, values, ts.length >= this.chunkMax / 4)
      const s = this.codec.summarize(values)
      const row = [sid, fid, ts[0], ts[ts.length - 1], s.n, s.sum, s.min, s.max, s.first, s.last, blob]
      if (this.tier !== undefined) row.push(ts.length)
      this.q.insert.run(...row)
    }
  }

  /** How many chunks the table (this tier of it) holds. */
  count(): number {
    return this.q.count.get()!.n
  }

  /** Merges runs of adjacent small chunks into full ones. Returns [chunks before, after]. */
  mergeSmall(): [number, number] {
    return this.mergeRunsOf(this.q.smallGroups.all(Math.floor(this.chunkMax / 2)), (g) => this.q.all.all(g.series_id, g.field_id), this.chunkMax)
  }

  /**
   * Cold data (every point before `cutoff`, which time-ordered writes no longer touch) in bigger
   * chunks of up to `coldMax` points: fewer rows, summaries and page ends per point, and the
   * thorough value coding sees longer runs. At most about `budget` points are rewritten (the rest
   * waits for the next compaction), so one pass never holds the write lock long. Returns [chunks
   * before, after] of the groups merged.
   */
  mergeCold(cutoff: number, coldMax: number, budget = Number.POSITIVE_INFINITY): [number, number] {
    return this.mergeRunsOf(this.q.coldGroups.all(Math.floor(coldMax / 2), cutoff), (g) => this.q.coldOf.all(g.series_id, g.field_id, cutoff), coldMax, budget)
  }

  /** Merges runs of adjacent chunks of each group up to `max` items; stops once it has rewritten `budget` points. */
  private mergeRunsOf(
    groups: Array<{series_id: number; field_id: number}>,
    chunksOf: (g: {series_id: number; field_id: number}) => ChunkRow[],
    max: number,
    budget = Number.POSITIVE_INFINITY,
  ): [number, number] {
    let before = 0
    let after = 0
    let rewritten = 0
    for (const g of groups) {
      if (rewritten >= budget) break
      const chunks = chunksOf(g)
      before += chunks.length
      let pending: ChunkRow[] = []
      let pendingN = 0
      const flush = (): void => {
        if (pending.length > 1) {
          let merged: Run<V> = {ts: [], values: []}
          for (const c of pending) {
            merged = mergeRuns(merged, this.read(c))
            this.q.delete.run(c.rowid)
          }

          this.insert(g.series_id, g.field_id, merged, max)
          after += Math.ceil(merged.ts.length / max)
          rewritten += merged.ts.length
        } else {
          after += pending.length
        }

        pending = []
        pendingN = 0
      }

      let i = 0
      for (; i < chunks.length && rewritten < budget; i++) {
        const c = chunks[i]
        if (pendingN + c.items > max) flush()
        pending.push(c)
        pendingN += c.items
      }

      flush()
      after += chunks.length - i // left for the next pass
    }

    return [before, after]
  }

  /** Removes everything before `cutoff`; a chunk straddling it is rewritten with what remains. */
  deleteBefore(cutoff: number): number {
    let removed = 0
    for (const c of this.q.endingBefore.all(cutoff)) {
      if (c.t_end < cutoff) {
        this.q.delete.run(c.rowid)
        removed += c.n
        continue
      }

      const run = this.read(c)
      const keep: Run<V> = {ts: [], values: []}
      for (let i = 0; i < run.ts.length; i++) {
        if (run.ts[i] >= cutoff) {
          keep.ts.push(run.ts[i])
          keep.values.push(run.values[i])
        }
      }

      removed += run.ts.length - keep.ts.length
      this.q.delete.run(c.rowid)
      this.insert(c.series_id, c.field_id, keep)
    }

    return removed
  }
}
