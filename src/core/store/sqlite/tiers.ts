import type {Clock} from '../../clock.js'
import type {CompactStats, MaintenanceReport, QueryPlan} from '../types.js'
import type {Bucket} from '../codec.js'
import {chooseTier, rollupTiers, type Tier, type TierChoice} from '../retention.js'
import type {Run} from './merge.js'
import {minDefined} from './catalog.js'
import {StorePart, type StoreTables} from './tables.js'

/** A rollup bucket is final this long after its end (late points are handled as dirty ranges). */
const ROLLUP_GRACE = 60_000
/** Raw chunks whose last point is older than this are cold: compaction merges them into chunks of up to COLD_FACTOR × chunkMax points. */
const COLD_AGE = 3_600_000
const COLD_FACTOR = 8
/** Points a compaction (other than `full`) rewrites into cold chunks at most: ~1–2 s of work, so writers in other processes never wait long. */
const COLD_BUDGET = 500_000

/**
 * The retention tiers of a SqliteStore: rollup watermarks, rolling up, pruning, the tier a query
 * reads, and compaction (the maintenance pass ends with it; writes trigger it now and then).
 */
export class SqliteTiers extends StorePart {
  private lastCompactCheck = 0

  constructor(
    tables: StoreTables,
    private readonly clock: Clock,
    private readonly chunkMax: number,
    private readonly autoCompactEvery: number,
  ) {
    super(tables)
  }

  watermark(tier: Tier): number | undefined {
    const v = this.stmt.getMeta.get(`rollup_wm:${tier.name}`)?.value
    return v === undefined ? undefined : Number(v)
  }

  // ---------------------------------------------------------------- compaction

  maybeCompact(): void {
    if (this.autoCompactEvery <= 0) return
    const now = this.clock.now()
    if (now - this.lastCompactCheck < 10_000) return
    this.lastCompactCheck = now
    const last = Number(this.stmt.getMeta.get('last_compaction')?.value ?? 0)
    if (now - last >= this.autoCompactEvery) this.compact()
  }

  /**
   * Folds head rows into chunks (for series fields with enough rows, or old ones; all with
   * `full`), merges runs of small adjacent chunks, and runs of cold raw chunks (last point older
   * than an hour) into chunks of up to 8 × chunkMax points (about 500,000 points a pass, all with
   * `full`). Returns what it did.
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

      // cold runs first: small cold chunks go straight into big ones (each point encoded once)
      this.raw.mergeCold(now - COLD_AGE, this.chunkMax * COLD_FACTOR, opts.full ? Number.POSITIVE_INFINITY : COLD_BUDGET)
      for (const table of tables) table.mergeSmall()
      stats.chunksAfter = countChunks()

      this.stmt.setMeta.run('last_compaction', String(now))
    })()
    this.db.pragma('incremental_vacuum')
    if (opts.full) this.db.pragma('wal_checkpoint(TRUNCATE)')
    return stats
  }

  // ---------------------------------------------------------------- retention

  lowestWatermark(): number | undefined {
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
  rollupSource(tier: Tier): Tier | undefined {
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
    const run = this.tables.readRun(sid, fid, from, to)
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

  /** Which retention tier answers a plan (see retention.ts chooseTier). */
  tierFor(q: QueryPlan): TierChoice {
    const horizons = new Map<string, number>()
    for (const t of this.policy) {
      const v = this.stmt.getMeta.get(`pruned_before:${t.name}`)?.value
      if (v !== undefined) horizons.set(t.name, Number(v))
    }

    return chooseTier(this.policy, {start: q.start, end: q.end, every: q.every, fn: q.aggregate?.fn, transform: q.transform}, horizons)
  }

  /**
   * Buckets of `tier` in [from, to) that a late write (a backfill below the watermark) made stale
   * and the next rollup pass recomputes: merged, sorted [from, to) pairs. What they are recomputed
   * from is still stored (a pass rolls up before it prunes), so queries read that instead.
   */
  dirtyRanges(tier: Tier, sid: number, fid: number, from: number, to: number): Array<[number, number]> {
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
}
