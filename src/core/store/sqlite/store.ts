import type Database from 'better-sqlite3'
import {systemClock, type Clock} from '../../clock.js'
import {InputError, PartialWriteError} from '../../errors.js'
import {compileLinearRegex, matchesAll, type Matcher} from '../../model/matcher.js'
import {fieldType, fromNumber, numericValue, seriesKey, type FieldType, type Point, type Tags} from '../../model/point.js'
import {bucketStart, derivative, lastPerBucket, summarizable} from '../../model/aggregate.js'
import {sortFrames} from '../frames.js'
import type {CompactStats, Compactable, FieldInfo, FullStore, Frame, Maintainable, MaintenanceReport, TierRouting, QueryOptions, QueryPlan, StoreInfo, WriteOutcome} from '../types.js'
import type {Bucket} from '../codec.js'
import {chooseTier, retentionPolicy, rollupTiers, type RetentionPolicy, type Tier, type TierChoice} from '../retention.js'
import {FieldIndex, SeriesIndex} from './ids.js'
import {ChunkTable, rawCodec, rollupCodec} from './chunks.js'
import {mergeRuns, normalizeRun, type Run} from './merge.js'
import {anyInRange, Buckets, COLUMNS_FOR, inRanges, LAST_ONLY, sortedRun, type BucketSink} from './buckets.js'
import {catalogFieldKeys, catalogInfo, catalogMeasurements, catalogTagKeys, catalogTagValues, minDefined} from './catalog.js'
import {openDatabase} from './database.js'
import {compileSeriesSql, sqlString} from './series-sql.js'

export interface SqliteStoreOptions {
  path: string
  readonly?: boolean
  clock?: Clock
  /** most points in one chunk */
  chunkMax?: number
  /** a series field with at least this many points in one write becomes a chunk directly */
  directMin?: number
  /** compact automatically when the last compaction is older than this (ms); 0 disables */
  autoCompactEvery?: number
  /** retention tiers (config `retention`); default raw 7d, 1m 30d, 1h 1y */
  retention?: Readonly<Record<string, string>>
  /** SQLite page cache in KiB (default 32000); the long-running daemon keeps it smaller */
  cacheKiB?: number
}

/** A rollup bucket is final this long after its end (late points are handled as dirty ranges). */
const ROLLUP_GRACE = 60_000

interface FieldRow {
  id: number
  measurement: string
  name: string
  type: FieldType
}

interface SeriesRow {
  id: number
  tags: string
}

/** A point of a write the store left out, by its position in the written array. */
export interface RejectedPoint {
  index: number
  reason: string
}

/** InfluxDB's words, so that both backends say the same. */
function typeConflict(name: string, measurement: string, type: FieldType, existing: FieldType): string {
  return `field type conflict: input field "${name}" on measurement "${measurement}" is type ${type}, already exists as type ${existing}`
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

interface Group {
  sid: number
  fid: number
  run: Run
}

/**
 * The zero-config embedded time-series store. One process writes while others read (WAL);
 * writers in several processes take turns (busy timeout). See schema.ts for the layout.
 */
export class SqliteStore implements FullStore, Maintainable, Compactable, TierRouting {
  readonly kind = 'sqlite'
  readonly path: string
  private readonly db: Database.Database
  private readonly clock: Clock
  private readonly chunkMax: number
  private readonly directMin: number
  private readonly autoCompactEvery: number
  private readonly seriesIds = new SeriesIndex<number>()
  private readonly fields = new FieldIndex<FieldRow>()
  private lastCompactCheck = 0
  /** the running query's deadline check (querySync) */
  private checkDeadline: () => void = noDeadline
  private readonly stmt: ReturnType<SqliteStore['prepareStatements']>
  private readonly raw: ChunkTable<number | string>
  private readonly rollups = new Map<number, ChunkTable<Bucket>>()
  readonly policy: RetentionPolicy

  constructor(opts: SqliteStoreOptions) {
    this.path = opts.path
    this.clock = opts.clock ?? systemClock
    this.chunkMax = opts.chunkMax ?? 1024
    this.directMin = opts.directMin ?? 8
    this.autoCompactEvery = opts.autoCompactEvery ?? 5 * 60_000
    this.db = openDatabase(opts.path, Boolean(opts.readonly))
    if (opts.cacheKiB !== undefined) this.db.pragma(`cache_size = -${Math.max(64, Math.floor(opts.cacheKiB))}`)
    this.db.function('regexp', {deterministic: true}, (re: unknown, s: unknown) => (compileLinearRegex(String(re)).test(String(s ?? '')) ? 1 : 0))
    this.stmt = this.prepareStatements()
    this.raw = new ChunkTable(this.db, 'chunks', rawCodec, this.chunkMax)
    this.policy = retentionPolicy(opts.retention)
    for (const t of rollupTiers(this.policy)) this.rollups.set(t.resolution, new ChunkTable(this.db, 'rollups', rollupCodec, this.chunkMax, t.resolution))
  }

  private prepareStatements() {
    const db = this.db
    return {
      seriesId: db.prepare<[string], {id: number}>('SELECT id FROM series WHERE key = ?'),
      insertSeries: db.prepare('INSERT OR IGNORE INTO series (key, measurement, tags) VALUES (?, ?, ?)'),
      field: db.prepare<[string, string], FieldRow>('SELECT id, measurement, name, type FROM fields WHERE measurement = ? AND name = ?'),
      insertField: db.prepare('INSERT OR IGNORE INTO fields (measurement, name, type) VALUES (?, ?, ?)'),
      headRange: db.prepare<[number, number, number, number], {ts: number; value: number | string}>(
        'SELECT ts, value FROM head WHERE series_id = ? AND field_id = ? AND ts >= ? AND ts < ? ORDER BY ts',
      ),
      deleteHeadRange: db.prepare('DELETE FROM head WHERE series_id = ? AND field_id = ? AND ts >= ? AND ts < ?'),
      upsertHead: db.prepare('INSERT OR REPLACE INTO head (series_id, field_id, ts, value) VALUES (?, ?, ?, ?)'),
      headGroups: db.prepare<[], {series_id: number; field_id: number; n: number; oldest: number}>(
        'SELECT series_id, field_id, count(*) AS n, min(ts) AS oldest FROM head GROUP BY series_id, field_id',
      ),
      headPairs: db.prepare<[number, number], {series_id: number; field_id: number}>(
        'SELECT DISTINCT series_id, field_id FROM head WHERE ts >= ? AND ts < ?',
      ),
      deleteHeadBefore: db.prepare('DELETE FROM head WHERE ts < ?'),
      addDirty: db.prepare('INSERT INTO rollup_dirty (tier, series_id, field_id, t_from, t_to) VALUES (?, ?, ?, ?, ?)'),
      dirty: db.prepare<[number], {rowid: number; series_id: number; field_id: number; t_from: number; t_to: number}>(
        'SELECT rowid, series_id, field_id, t_from, t_to FROM rollup_dirty WHERE tier = ?',
      ),
      clearDirty: db.prepare('DELETE FROM rollup_dirty WHERE rowid = ?'),
      dirtyOverlapping: db.prepare<[number, number, number, number, number], {t_from: number; t_to: number}>(
        'SELECT t_from, t_to FROM rollup_dirty WHERE tier = ? AND series_id = ? AND field_id = ? AND t_to > ? AND t_from < ? ORDER BY t_from',
      ),
      getMeta: db.prepare<[string], {value: string}>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    }
  }

  // ---------------------------------------------------------------- writes

  async write(points: Point[]): Promise<WriteOutcome> {
    const {beyondRetention, rejected, merged} = this.writeSync(points)
    if (beyondRetention === 0 && !rejected) return {merged: merged ?? 0}
    // the rest of the batch is written; say what was not, as InfluxDB's partial write does
    const refused = rejected ?? []
    const parts: string[] = []
    if (refused.length > 0) parts.push(`${plural(refused.length, 'point')} rejected: ${refused[0]!.reason}${refused.length > 1 ? ` (and ${refused.length - 1} more)` : ''}`)
    if (beyondRetention > 0) {
      const horizon = Number(this.stmt.getMeta.get('pruned_before:raw')?.value)
      parts.push(`${plural(beyondRetention, 'point')} older than ${new Date(horizon).toISOString()} dropped: raw data before then was already rolled up and pruned (retention.raw)`)
    }
    const hint =
      beyondRetention > 0 && refused.length === 0
        ? 'import old data into a store without that retention, or raise retention.raw before it is pruned'
        : 'the other points were written; InfluxDB keeps one type per field: write this field with the same type or use another field name'
    throw new PartialWriteError(`partial write: ${parts.join('; ')}`, refused.length + beyondRetention, [...refused.map((r) => r.index), ...(this.lastBeyondRetention ?? [])].sort((a, b) => a - b), {
      hint,
      details: refused.slice(0, 10).map((r) => `  rejected: point ${r.index + 1}: ${r.reason}`).join('\n') || undefined,
    })
  }

  /** positions of the points the last {@link writeSync} left out as beyond raw retention */
  private lastBeyondRetention?: number[]

  /**
   * Writes a batch in one transaction. A point the store cannot hold (a field type conflict with
   * the stored field or an earlier point of the batch, NaN, no fields…) is left out and listed in
   * `rejected`, as InfluxDB's partial write does; every other point is written. As InfluxDB does
   * with points beyond a retention policy, points older than what raw retention has already
   * dropped are not stored; they are counted in `beyondRetention`. `merged`: values that shared
   * series, field and millisecond with a later value of the same batch (the later one is kept).
   */
  writeSync(points: Point[]): {written: number; beyondRetention: number; rejected?: RejectedPoint[]; merged?: number} {
    const result: {written: number; beyondRetention: number; rejected?: RejectedPoint[]; merged?: number} = {written: 0, beyondRetention: 0}
    this.lastBeyondRetention = undefined
    if (points.length === 0) return result
    const added = {ids: false}
    try {
      this.db.transaction(() => {
        const horizon = Number(this.stmt.getMeta.get('pruned_before:raw')?.value ?? Number.NEGATIVE_INFINITY)
        const {groups, rejected, beyondRetention} = this.groupPoints(points, horizon, added)
        if (rejected.length > 0) result.rejected = rejected
        if (beyondRetention.length > 0) this.lastBeyondRetention = beyondRetention
        result.beyondRetention = beyondRetention.length
        const lowest = this.lowestWatermark()
        let merged = 0
        for (const g of groups.values()) {
          const run = normalizeRun(g.run)
          merged += g.run.ts.length - run.ts.length
          result.written += run.ts.length
          if (run.ts.length >= this.directMin) this.writeRun(g.sid, g.fid, run)
          else for (let i = 0; i < run.ts.length; i++) this.stmt.upsertHead.run(g.sid, g.fid, run.ts[i], run.values[i])
          if (lowest !== undefined && run.ts[0] < lowest) this.markDirty(g.sid, g.fid, run.ts[0], run.ts[run.ts.length - 1])
        }
        if (merged > 0) result.merged = merged
      })()
    } catch (error) {
      // ids cached inside the rolled-back transaction do not exist; the caches refill from the tables
      if (added.ids) {
        this.seriesIds.clear()
        this.fields.clear()
      }

      throw error
    }

    this.maybeCompact()
    return result
  }

  /**
   * Points → one run per series field. A point is checked whole before any of it is taken (as
   * InfluxDB rejects a line, not a field): a bad one goes to `rejected` with the reason, one
   * older than `horizon` to `beyondRetention`, and neither creates a series or a field.
   */
  private groupPoints(points: Point[], horizon: number, added: {ids: boolean}): {groups: Map<number, Group>; rejected: RejectedPoint[]; beyondRetention: number[]} {
    const groups = new Map<number, Group>()
    const rejected: RejectedPoint[] = []
    const beyondRetention: number[] = []
    for (let index = 0; index < points.length; index++) {
      const p = points[index]!
      const reason = this.pointProblem(p)
      if (reason) {
        rejected.push({index, reason})
        continue
      }
      if (p.ts < horizon) {
        beyondRetention.push(index)
        continue
      }
      const sid = this.seriesIdFor(p.measurement, p.tags, added)
      for (const name in p.fields) {
        const value = p.fields[name]
        const type = fieldType(value)
        const field = this.fieldFor(p.measurement, name, type, added)
        const v = type === 'string' ? (value as string) : numericValue(value)!
        const key = sid * 2_097_152 + field.id
        let g = groups.get(key)
        if (!g) {
          g = {sid, fid: field.id, run: {ts: [], values: []}}
          groups.set(key, g)
        }

        g.run.ts.push(p.ts)
        g.run.values.push(v)
      }
    }

    return {groups, rejected, beyondRetention}
  }

  /** Why the store cannot hold this point (undefined when it can). Looks fields up; creates nothing. */
  private pointProblem(p: Point): string | undefined {
    if (!p.measurement) return 'point without a measurement name'
    if (!Number.isSafeInteger(p.ts)) return `invalid timestamp ${p.ts} in ${p.measurement}: expected integer milliseconds`
    let nFields = 0
    for (const name in p.fields) {
      const value = p.fields[name]
      const type = fieldType(value)
      const v = type === 'string' ? value : numericValue(value)
      if (typeof v === 'number' && !Number.isFinite(v)) return `invalid field value ${v} for ${p.measurement}.${name}: NaN and Infinity cannot be stored`
      const existing = this.existingField(p.measurement, name)
      if (existing && existing.type !== type) return typeConflict(name, p.measurement, type, existing.type)
      nFields++
    }

    return nFields === 0 ? `point of ${p.measurement} has no fields` : undefined
  }

  private existingField(measurement: string, name: string): FieldRow | undefined {
    let field = this.fields.get(measurement, name)
    if (field) return field
    field = this.stmt.field.get(measurement, name)
    if (field) this.fields.set(measurement, name, field)
    return field
  }

  private seriesIdFor(measurement: string, tags: Tags, added: {ids: boolean}): number {
    let id = this.seriesIds.get(measurement, tags)
    if (id !== undefined) return id
    const key = seriesKey(measurement, tags)
    const row = this.stmt.seriesId.get(key)
    if (row) {
      id = row.id
    } else {
      const clean: Tags = {}
      for (const k of Object.keys(tags).sort()) if (tags[k] !== '') clean[k] = tags[k]
      id = Number(this.stmt.insertSeries.run(key, measurement, JSON.stringify(clean)).lastInsertRowid)
      added.ids = true
    }

    this.seriesIds.set(measurement, tags, id)
    return id
  }

  private fieldFor(measurement: string, name: string, type: FieldType, added: {ids: boolean}): FieldRow {
    let field = this.fields.get(measurement, name)
    if (!field) {
      field = this.stmt.field.get(measurement, name)
      if (!field) {
        this.stmt.insertField.run(measurement, name, type)
        field = this.stmt.field.get(measurement, name)!
        added.ids = true
      }

      this.fields.set(measurement, name, field)
    }

    if (field.type !== type) {
      throw new InputError(typeConflict(name, measurement, type, field.type), {hint: 'InfluxDB keeps one type per field; write this field with the same type or use another field name'})
    }

    return field
  }

  /** Writes a sorted run as chunk(s), merging with whatever it overlaps (the run wins on equal timestamps). */
  private writeRun(sid: number, fid: number, run: Run): void {
    const minTs = run.ts[0]
    const maxTs = run.ts[run.ts.length - 1]
    const head = this.stmt.headRange.all(sid, fid, minTs, maxTs + 1)
    if (head.length > 0) this.stmt.deleteHeadRange.run(sid, fid, minTs, maxTs + 1)
    this.raw.write(sid, fid, run, head.length > 0 ? {ts: head.map((r) => r.ts), values: head.map((r) => r.value)} : undefined)
  }

  /** Data written below a rollup tier's watermark: remember the range so the rollup is recomputed. */
  private markDirty(sid: number, fid: number, minTs: number, maxTs: number): void {
    for (const tier of rollupTiers(this.policy)) {
      const wm = this.watermark(tier)
      if (wm === undefined || minTs >= wm) continue
      const from = Math.floor(minTs / tier.resolution) * tier.resolution
      this.stmt.addDirty.run(tier.resolution, sid, fid, from, Math.min(wm, Math.floor(maxTs / tier.resolution) * tier.resolution + tier.resolution))
    }
  }

  private watermark(tier: Tier): number | undefined {
    const v = this.stmt.getMeta.get(`rollup_wm:${tier.name}`)?.value
    return v === undefined ? undefined : Number(v)
  }

  // ---------------------------------------------------------------- compaction

  private maybeCompact(): void {
    if (this.autoCompactEvery <= 0) return
    const now = this.clock.now()
    if (now - this.lastCompactCheck < 10_000) return
    this.lastCompactCheck = now
    const last = Number(this.stmt.getMeta.get('last_compaction')?.value ?? 0)
    if (now - last >= this.autoCompactEvery) this.compact()
  }

  /**
   * Folds head rows into chunks (for series fields with enough rows, or old ones; all with
   * `full`) and merges runs of small adjacent chunks. Returns what it did.
   */
  compact(opts: {full?: boolean} = {}): CompactStats {
    const now = this.clock.now()
    const minRows = Math.max(2, Math.floor(this.chunkMax / 8))
    const stats = {headRows: 0, chunksBefore: 0, chunksAfter: 0}
    const tables = [this.raw, ...this.rollups.values()]
    // every chunk of every tier, before folding and after merging: what the user sees change
    const countChunks = () => tables.reduce((sum, table) => sum + table.count(), 0)
    this.db.transaction(() => {
      stats.chunksBefore = countChunks()
      for (const g of this.stmt.headGroups.all()) {
        if (!opts.full && g.n < minRows && g.oldest > now - 3_600_000) continue
        const rows = this.stmt.headRange.all(g.series_id, g.field_id, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
        this.stmt.deleteHeadRange.run(g.series_id, g.field_id, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
        this.raw.write(g.series_id, g.field_id, {ts: rows.map((r) => r.ts), values: rows.map((r) => r.value)})
        stats.headRows += rows.length
      }

      for (const table of tables) table.mergeSmall()
      stats.chunksAfter = countChunks()

      this.stmt.setMeta.run('last_compaction', String(now))
    })()
    this.db.pragma('incremental_vacuum')
    if (opts.full) this.db.pragma('wal_checkpoint(TRUNCATE)')
    return stats
  }

  // ---------------------------------------------------------------- retention

  private lowestWatermark(): number | undefined {
    let lowest: number | undefined
    for (const t of rollupTiers(this.policy)) {
      const wm = this.watermark(t)
      if (wm !== undefined && (lowest === undefined || wm < lowest)) lowest = wm
    }

    return lowest
  }

  /**
   * Brings every rollup tier up to date (buckets that ended more than a minute ago, plus dirty
   * ranges from late writes), then drops data older than each tier keeps — raw data only once it
   * is rolled up — and compacts. The daemon calls this periodically; `mon store retention apply`
   * once.
   */
  async maintain(now = this.clock.now()): Promise<MaintenanceReport> {
    return this.maintainSync(now)
  }

  maintainSync(now = this.clock.now()): MaintenanceReport {
    const report: MaintenanceReport = {rolledUp: {}, pruned: {}}
    this.db.transaction(() => {
      for (const tier of rollupTiers(this.policy)) report.rolledUp[tier.name] = this.rollUp(tier, this.rollupSource(tier), now)
      this.policy.forEach((tier, i) => {
        // never drop what the next tier has not rolled up yet
        const next = this.policy[i + 1]
        let cutoff = now - tier.keep
        const nextWm = next ? this.watermark(next) : undefined
        if (next) cutoff = Math.min(cutoff, nextWm ?? Number.NEGATIVE_INFINITY)
        if (!Number.isFinite(cutoff)) {
          report.pruned[tier.name] = 0
          return
        }

        if (tier.resolution === 0) {
          const head = this.stmt.deleteHeadBefore.run(cutoff).changes
          report.pruned[tier.name] = this.raw.deleteBefore(cutoff) + head
        } else {
          report.pruned[tier.name] = this.rollups.get(tier.resolution)!.deleteBefore(cutoff)
        }

        // queries consult this to pick a tier that still holds their range
        const previous = Number(this.stmt.getMeta.get(`pruned_before:${tier.name}`)?.value ?? Number.NEGATIVE_INFINITY)
        if (cutoff > previous) this.stmt.setMeta.run(`pruned_before:${tier.name}`, String(cutoff))
      })
    })()
    this.compact()
    return report
  }

  /** The finer rollup tier that `tier` is rolled up from, or undefined when it is rolled up from raw points. */
  private rollupSource(tier: Tier): Tier | undefined {
    const tiers = rollupTiers(this.policy)
    const i = tiers.findIndex((t) => t.resolution === tier.resolution)
    return i > 0 && tier.resolution % tiers[i - 1].resolution === 0 ? tiers[i - 1] : undefined
  }

  /** Rolls [watermark, now − grace) of `source` (a finer tier, or raw) into `tier`; returns buckets written. */
  private rollUp(tier: Tier, source: Tier | undefined, now: number): number {
    const res = tier.resolution
    const target = Math.floor((now - ROLLUP_GRACE) / res) * res
    let wm = this.watermark(tier)
    if (wm === undefined) {
      const oldest = this.oldestTime(source)
      if (oldest === undefined) return 0
      wm = Math.floor(oldest / res) * res
    }

    let written = 0
    const table = this.rollups.get(res)!
    const ranges: Array<{sid: number; fid: number; from: number; to: number}> = []
    if (target > wm) {
      const pairs = new Map<string, {sid: number; fid: number}>()
      const found = source ? this.rollups.get(source.resolution)!.pairsInRange(wm, target) : [...this.raw.pairsInRange(wm, target), ...this.stmt.headPairs.all(wm, target)]
      for (const p of found) pairs.set(`${p.series_id}:${p.field_id}`, {sid: p.series_id, fid: p.field_id})
      for (const p of pairs.values()) ranges.push({...p, from: wm, to: target})
    }

    for (const d of this.stmt.dirty.all(res)) {
      ranges.push({sid: d.series_id, fid: d.field_id, from: d.t_from, to: d.t_to})
      this.stmt.clearDirty.run(d.rowid)
    }

    for (const r of ranges) {
      const buckets = source ? this.bucketsFromRollups(source, r.sid, r.fid, r.from, r.to, res) : this.bucketsFromRaw(r.sid, r.fid, r.from, r.to, res)
      if (buckets.ts.length === 0) continue
      table.write(r.sid, r.fid, buckets)
      written += buckets.ts.length
    }

    if (target > wm) this.stmt.setMeta.run(`rollup_wm:${tier.name}`, String(target))
    return written
  }

  private oldestTime(source: Tier | undefined): number | undefined {
    if (source) {
      const r = this.db.prepare('SELECT min(t_start) AS t FROM rollups WHERE tier = ?').get(source.resolution) as {t: number | null}
      return r.t ?? undefined
    }

    const c = this.db.prepare('SELECT min(t_start) AS t FROM chunks').get() as {t: number | null}
    const h = this.db.prepare('SELECT min(ts) AS t FROM head').get() as {t: number | null}
    return minDefined(c.t, h.t)
  }

  private bucketsFromRaw(sid: number, fid: number, from: number, to: number, res: number): Run<Bucket> {
    const run = this.readRun(sid, fid, from, to)
    const out: Run<Bucket> = {ts: [], values: []}
    for (let i = 0; i < run.ts.length; i++) {
      const v = run.values[i]
      if (typeof v !== 'number') continue // strings have no rollup
      const b = Math.floor(run.ts[i] / res) * res
      const last = out.values[out.values.length - 1]
      if (out.ts[out.ts.length - 1] === b) {
        last.n++
        last.sum += v
        if (v < last.min) last.min = v
        if (v > last.max) last.max = v
        last.last = v
      } else {
        out.ts.push(b)
        out.values.push({n: 1, sum: v, min: v, max: v, first: v, last: v})
      }
    }

    return out
  }

  private bucketsFromRollups(source: Tier, sid: number, fid: number, from: number, to: number, res: number): Run<Bucket> {
    const fine = this.rollups.get(source.resolution)!.readRange(sid, fid, from, to)
    const out: Run<Bucket> = {ts: [], values: []}
    for (let i = 0; i < fine.ts.length; i++) {
      const f = fine.values[i]
      const b = Math.floor(fine.ts[i] / res) * res
      const last = out.values[out.values.length - 1]
      if (out.ts[out.ts.length - 1] === b) {
        last.n += f.n
        last.sum += f.sum
        if (f.min < last.min) last.min = f.min
        if (f.max > last.max) last.max = f.max
        last.last = f.last
      } else {
        out.ts.push(b)
        out.values.push({...f})
      }
    }

    return out
  }

  // ---------------------------------------------------------------- queries

  async query(q: QueryPlan, opts?: QueryOptions): Promise<Frame[]> {
    return this.querySync(q, opts)
  }

  querySync(q: QueryPlan, opts?: QueryOptions): Frame[] {
    // the run is synchronous, so no other query interleaves while this deadline is installed
    const deadline = opts?.deadline
    this.checkDeadline = deadline ? () => deadline.check() : noDeadline
    try {
      return this.db.transaction(() => this.runPlan(q))()
    } finally {
      this.checkDeadline = noDeadline
    }
  }

  /** Which retention tier answers a plan (see retention.ts chooseTier). */
  tierFor(q: QueryPlan): TierChoice {
    const horizons = new Map<string, number>()
    for (const t of this.policy) {
      const v = this.stmt.getMeta.get(`pruned_before:${t.name}`)?.value
      if (v !== undefined) horizons.set(t.name, Number(v))
    }

    return chooseTier(this.policy, {start: q.start, end: q.end, every: q.every, fn: q.aggregate?.fn, transform: q.transform}, horizons)
  }

  private lookupField(measurement: string, name: string): FieldRow | undefined {
    return this.stmt.field.get(measurement, name)
  }

  private selectSeries(measurement: string, matchers: Matcher[]): Array<{id: number; tags: Tags}> {
    const {sql, params, jsMatchers} = compileSeriesSql(measurement, matchers)
    const rows = this.db.prepare<unknown[], SeriesRow>(sql).all(...params)
    const out: Array<{id: number; tags: Tags}> = []
    for (const r of rows) {
      this.checkDeadline()
      const tags = JSON.parse(r.tags) as Tags
      if (jsMatchers.length > 0 && !matchesAll(jsMatchers, tags)) continue
      out.push({id: r.id, tags})
    }

    return out
  }

  private runPlan(q: QueryPlan): Frame[] {
    const field = this.lookupField(q.measurement, q.field)
    if (!field) return []
    const series = this.selectSeries(q.measurement, q.matchers)
    if (series.length === 0) return []
    if (field.type === 'string' && (q.aggregate || q.transform) && q.aggregate?.fn !== 'count' && q.aggregate?.fn !== 'first' && q.aggregate?.fn !== 'last') {
      throw new InputError(`${q.aggregate?.fn ?? q.transform}() is not defined for string field ${q.measurement}.${q.field}`)
    }

    const choice = this.tierFor(q)
    if (choice.tier.resolution > 0) return this.rollupFrames({...q, start: choice.start, end: choice.end}, choice.tier, field, series)
    if (!q.aggregate) return q.transform ? this.transformFrames(q, field, series) : this.rawFrames(q, field, series)
    return this.aggregateFrames(q, q.aggregate, field, series)
  }

  /** All points of one series field in [start, end), head rows overriding chunk points. */
  private readRun(sid: number, fid: number, start: number, end: number): Run {
    const run = this.raw.readRange(sid, fid, start, end)
    const head = this.stmt.headRange.all(sid, fid, start, end)
    return head.length > 0 ? mergeRuns(run, {ts: head.map((r) => r.ts), values: head.map((r) => r.value)}) : run
  }

  private rawFrames(q: QueryPlan, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const frames: Frame[] = []
    for (const s of series) {
      this.checkDeadline()
      let run = this.readRun(s.id, field.id, q.start, q.end)
      if (run.ts.length === 0) continue
      if (q.limit !== undefined && run.ts.length > q.limit) run = {ts: run.ts.slice(-q.limit), values: run.values.slice(-q.limit)}
      frames.push({
        name: q.measurement,
        tags: s.tags,
        columns: ['time', q.field],
        rows: run.ts.map((t, i) => [t, typedValue(run.values[i], field.type)]),
      })
    }

    return sortFrames(frames)
  }

  private aggregateFrames(
    q: QueryPlan,
    agg: NonNullable<QueryPlan['aggregate']>,
    field: FieldRow,
    series: Array<{id: number; tags: Tags}>,
    feed: (sid: number, sink: BucketSink) => void = (sid, sink) => this.feedRaw(q, sid, field, sink),
  ): Frame[] {
    const groups = new Map<string, {tags: Tags; buckets: Buckets}>()
    for (const s of series) {
      this.checkDeadline()
      const groupTags: Tags = {}
      for (const k of agg.by) groupTags[k] = s.tags[k] ?? ''
      const groupKey = agg.by.map((k) => groupTags[k]).join('\u0000')
      let group = groups.get(groupKey)
      if (!group) {
        group = {tags: groupTags, buckets: new Buckets(q, agg)}
        groups.set(groupKey, group)
      }

      feed(s.id, group.buckets)
    }

    const frames: Frame[] = []
    for (const g of groups.values()) {
      const rows: Frame['rows'] = []
      for (const [t, v] of g.buckets.results()) {
        // string fields only count, and first/last of strings would need the text itself
        rows.push([t, field.type === 'string' && agg.fn !== 'count' ? null : v])
      }

      if (rows.length > 0) frames.push({name: q.measurement, tags: g.tags, columns: ['time', agg.fn], rows})
    }

    return sortFrames(frames)
  }

  private transformFrames(q: QueryPlan, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const frames: Frame[] = []
    for (const s of series) {
      this.checkDeadline()
      const d = this.derivedSeries(q, s.id, field.id)
      if (d.ts.length === 0) continue
      frames.push({name: q.measurement, tags: s.tags, columns: ['time', q.transform!], rows: d.ts.map((t, i) => [t, d.values[i]])})
    }

    return sortFrames(frames)
  }

  /** Feeds one series into accumulators, using chunk summaries where a whole chunk falls in one bucket. */
  private accumulateSeries(q: QueryPlan, sid: number, field: FieldRow, sink: BucketSink): void {
    const fn = q.aggregate!.fn
    const useSummaries = summarizable(fn) && field.type !== 'string'
    const head = this.stmt.headRange.all(sid, field.id, q.start, q.end)
    const headTs = head.map((r) => r.ts)
    for (const c of this.raw.overlapping(sid, field.id, q.start, q.end)) {
      this.checkDeadline()
      const inside = c.t_start >= q.start && c.t_end < q.end
      const oneBucket = !q.every || bucketStart(c.t_start, q.every) === bucketStart(c.t_end, q.every)
      const overridden = anyInRange(headTs, c.t_start, c.t_end)
      if (useSummaries && inside && oneBucket && !overridden) {
        sink.addSummary(c.t_start, c.n, c.sum!, c.min!, c.max!, c.t_start, c.first!, c.t_end, c.last!)
        continue
      }

      const decoded = this.raw.read(c)
      const headSet = overridden ? new Set(headTs) : undefined
      for (let i = 0; i < decoded.ts.length; i++) {
        const t = decoded.ts[i]
        if (t < q.start || t >= q.end || headSet?.has(t)) continue
        const v = decoded.values[i]
        sink.add(t, typeof v === 'number' ? v : 0)
      }
    }

    for (const r of head) sink.add(r.ts, typeof r.value === 'number' ? r.value : 0)
  }

  private feedRaw(q: QueryPlan, sid: number, field: FieldRow, sink: BucketSink): void {
    if (!q.transform) {
      this.accumulateSeries(q, sid, field, sink)
      return
    }

    const d = this.derivedSeries(q, sid, field.id)
    for (let i = 0; i < d.ts.length; i++) sink.add(d.ts[i], d.values[i])
  }

  /** rate/derivative of one series: over raw points, or over the last value of each bucket with `every`. */
  private derivedSeries(q: QueryPlan, sid: number, fid: number, source?: Run<number>): {ts: number[]; values: number[]} {
    const run = source ?? (this.readRun(sid, fid, q.start, q.end) as Run<number>)
    let ts: number[] = run.ts
    let values = run.values
    if (q.every) ({ts, values} = lastPerBucket(ts, values, q.every))
    return derivative(ts, values, q.transform === 'rate')
  }

  /**
   * Buckets of `tier` in [from, to) that a late write (a backfill below the watermark) made stale
   * and the next rollup pass recomputes: merged, sorted [from, to) pairs. What they are recomputed
   * from is still stored (a pass rolls up before it prunes), so queries read that instead.
   */
  private dirtyRanges(tier: Tier, sid: number, fid: number, from: number, to: number): Array<[number, number]> {
    const out: Array<[number, number]> = []
    if (from >= to) return out
    for (const d of this.stmt.dirtyOverlapping.all(tier.resolution, sid, fid, from, to)) {
      const range: [number, number] = [Math.max(from, d.t_from), Math.min(to, d.t_to)]
      const last = out[out.length - 1]
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1])
      else out.push(range)
    }
    return out
  }

  /**
   * Answers from a rollup tier: whole buckets from the rollup up to its watermark, the rest (not
   * rolled up yet) from raw points. Transforms use each bucket's last value.
   */
  private rollupFrames(q: QueryPlan, tier: Tier, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const res = tier.resolution
    const wm = Math.max(q.start, Math.min(q.end, this.watermark(tier) ?? q.start))
    const lastValues = (sid: number): Run<number> => {
      const rolled = this.lastValuesOf(tier, sid, field.id, q.start, wm)
      const recent = this.readRun(sid, field.id, wm, q.end) as Run<number>
      return {ts: [...rolled.ts, ...recent.ts], values: [...rolled.values, ...recent.values]}
    }

    if (!q.aggregate) {
      const tq = {...q, every: q.every ?? res}
      const frames: Frame[] = []
      for (const s of series) {
        this.checkDeadline()
        const d = this.derivedSeries(tq, s.id, field.id, lastValues(s.id))
        if (d.ts.length > 0) frames.push({name: q.measurement, tags: s.tags, columns: ['time', q.transform!], rows: d.ts.map((t, i) => [t, d.values[i]])})
      }

      return sortFrames(frames)
    }

    return this.aggregateFrames(q, q.aggregate, field, series, (sid, sink) => {
      if (q.transform) {
        const d = this.derivedSeries({...q, every: q.every ?? res}, sid, field.id, lastValues(sid))
        for (let i = 0; i < d.ts.length; i++) sink.add(d.ts[i], d.values[i])
        return
      }

      this.feedRollups(q, tier, sid, field, q.start, wm, sink)
      if (wm < q.end) this.accumulateSeries({...q, start: wm}, sid, field, sink)
    })
  }

  /**
   * The buckets of `tier` in [from, to) (below its watermark) into `sink`, as the next rollup pass
   * will have them: the stored buckets, except those a late write made stale (a backfill below the
   * watermark, see dirtyRanges), which come from what the pass rolls them up from — the finer
   * tier, or raw points. So a query sees every stored point at any moment.
   */
  private feedRollups(q: QueryPlan, tier: Tier, sid: number, field: FieldRow, from: number, to: number, sink: BucketSink): void {
    const res = tier.resolution
    const dirty = this.dirtyRanges(tier, sid, field.id, from, to)
    this.rollups.get(res)!.scanColumns(sid, field.id, from, to, COLUMNS_FOR[q.aggregate!.fn], (c, i) => {
      const t = c.ts[i]
      if (inRanges(dirty, t)) return
      // columns this function does not read are empty (undefined → NaN, ignored by its result)
      sink.addSummary(t, c.n[i] ?? 0, c.sum[i], c.min[i], c.max[i], t, c.first[i], t + res - 1, c.last[i])
    })
    const source = this.rollupSource(tier)
    for (const [a, b] of dirty) {
      if (source) this.feedRollups(q, source, sid, field, a, b, sink)
      else this.accumulateSeries({...q, start: a, end: b}, sid, field, sink)
    }
  }

  /** The last value of each bucket of `tier` in [from, to), stamped with the bucket's end; stale buckets as feedRollups. */
  private lastValuesOf(tier: Tier, sid: number, fid: number, from: number, to: number): Run<number> {
    const res = tier.resolution
    const dirty = this.dirtyRanges(tier, sid, fid, from, to)
    const out: Run<number> = {ts: [], values: []}
    this.rollups.get(res)!.scanColumns(sid, fid, from, to, LAST_ONLY, (c, i) => {
      if (inRanges(dirty, c.ts[i])) return
      out.ts.push(c.ts[i] + res - 1)
      out.values.push(c.last[i])
    })
    if (dirty.length === 0) return out
    const source = this.rollupSource(tier)
    return sortedRun([out, ...dirty.map(([a, b]) => (source ? this.lastValuesOf(source, sid, fid, a, b) : (this.readRun(sid, fid, a, b) as Run<number>)))])
  }

  explain(q: QueryPlan): string {
    const {sql, params, jsMatchers} = compileSeriesSql(q.measurement, q.matchers)
    let tier: string
    try {
      const c = this.tierFor(q)
      tier = c.tier.resolution === 0 ? `raw (${c.reason})` : `${c.tier.name} rollups over [${new Date(c.start).toISOString()}, ${new Date(c.end).toISOString()}) (${c.reason})`
    } catch (error) {
      tier = `none: ${(error as Error).message}`
    }

    const lines = [
      `backend: sqlite (${this.path})`,
      `tier:    ${tier}`,
      `series:  ${sql}`,
      `         params ${JSON.stringify(params)}${jsMatchers.length > 0 ? ` + filter ${JSON.stringify(jsMatchers)}` : ''}`,
      `field:   SELECT id, type FROM fields WHERE measurement = ${sqlString(q.measurement)} AND name = ${sqlString(q.field)}`,
      `chunks:  SELECT t_start, t_end, n, sum, min, max, first, last[, data] FROM chunks WHERE series_id = :series AND field_id = :field AND t_start < ${q.end} AND t_end >= ${q.start}`,
      `head:    SELECT ts, value FROM head WHERE series_id = :series AND field_id = :field AND ts >= ${q.start} AND ts < ${q.end}`,
    ]
    if (q.aggregate) {
      const how = summarizable(q.aggregate.fn) ? 'from chunk summaries where a chunk lies inside one bucket, else from decoded points' : 'from decoded points'
      lines.push(`aggregate: ${q.aggregate.fn}${q.aggregate.param === undefined ? '' : `(${q.aggregate.param})`} by [${q.aggregate.by.join(', ')}]${q.every ? ` every ${q.every}ms` : ''}, ${how}`)
    }

    if (q.transform) lines.push(`transform: ${q.transform} per series${q.every ? ' over the last value of each bucket' : ' over raw points'}`)
    return lines.join('\n')
  }

  // ---------------------------------------------------------------- catalog

  async info(): Promise<StoreInfo> {
    return catalogInfo(this.db, this.path)
  }

  async measurements(): Promise<string[]> {
    return catalogMeasurements(this.db)
  }

  async fieldKeys(measurement: string): Promise<FieldInfo[]> {
    return catalogFieldKeys(this.db, measurement)
  }

  async tagKeys(measurement: string): Promise<string[]> {
    return catalogTagKeys(this.db, measurement)
  }

  async tagValues(measurement: string, key: string): Promise<string[]> {
    return catalogTagValues(this.db, measurement, key)
  }

  async *scan(start: number, end: number, batchSize = 10_000): AsyncIterable<Point[]> {
    const series = this.db.prepare('SELECT id, measurement, tags FROM series ORDER BY key').all() as Array<{id: number; measurement: string; tags: string}>
    const fieldsOf = this.db.prepare<[string], FieldRow>('SELECT id, measurement, name, type FROM fields WHERE measurement = ? ORDER BY name')
    for (const s of series) {
      const tags = JSON.parse(s.tags) as Tags
      // one snapshot per series: a writer may go on meanwhile
      const byTs = this.db.transaction(() => {
        const points = new Map<number, Point>()
        for (const f of fieldsOf.all(s.measurement)) {
          const run = this.readRun(s.id, f.id, start, end)
          for (let i = 0; i < run.ts.length; i++) {
            const t = run.ts[i]
            let p = points.get(t)
            if (!p) {
              p = {measurement: s.measurement, tags, fields: {}, ts: t}
              points.set(t, p)
            }

            const v = run.values[i]
            p.fields[f.name] = typeof v === 'string' ? v : fromNumber(v, f.type)
          }
        }

        return points
      })()
      if (byTs.size === 0) continue
      const sorted = [...byTs.values()].sort((a, b) => a.ts - b.ts)
      for (let i = 0; i < sorted.length; i += batchSize) yield sorted.slice(i, i + batchSize)
    }
  }

  /** Synchronous escape hatch for same-process components (alert state, outbox) sharing the file. */
  get database(): Database.Database {
    return this.db
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }
}

// ------------------------------------------------------------------ helpers

function noDeadline(): void {}

function typedValue(v: number | string, type: FieldType): number | string | boolean {
  if (type === 'boolean') return v !== 0
  return v
}
