import {InputError, PartialWriteError} from '../../errors.js'
import type {LineColumns} from '../../model/line-protocol/index.js'
import {fieldType, numericValue, seriesKey, type FieldType, type Point, type Tags} from '../../model/point.js'
import type {WriteOutcome} from '../types.js'
import {rollupTiers} from '../retention.js'
import {FieldIndex, SeriesIndex} from './ids.js'
import {normalizeRun, type Run} from './merge.js'
import {StorePart, type FieldRow, type StoreTables} from './tables.js'
import type {SqliteTiers} from './tiers.js'

/** A point of a write the store left out, by its position in the written array. */
export interface RejectedPoint {
  index: number
  reason: string
}

/** InfluxDB's words, so that both backends say the same. */
function typeConflict(name: string, measurement: string, type: FieldType, existing: FieldType): string {
  return `field type conflict: input field "${name}" on measurement "${measurement}" is type ${type}, already exists as type ${existing}`
}

/** Thrown inside {@link SqliteWrites.writeColumns}' transaction to roll it back and take the exact path. */
const FALL_BACK = Symbol('fall back to the exact write path')

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

interface Group {
  sid: number
  fid: number
  run: Run
}

/** The write path of a SqliteStore: checks points, assigns series and field ids, fills head rows and chunks. */
export class SqliteWrites extends StorePart {
  private readonly seriesIds = new SeriesIndex<number>()
  /** series part as written in line protocol (parseLineColumns' key) → series id */
  private readonly rawSeriesIds = new Map<string, number>()
  private readonly fields = new FieldIndex<FieldRow>()
  /**
   * Per series field (sid × 2^21 + fid): no point it holds is later than this (an upper bound:
   * pruning and compaction only lower the truth). Only this connection's writes raise it; another
   * connection's commit clears it ({@link checkOtherWriters}).
   */
  private readonly lastTs = new Map<number, number>()
  private dataVersion = -1

  constructor(
    tables: StoreTables,
    private readonly tiers: SqliteTiers,
    private readonly directMin: number,
  ) {
    super(tables)
  }

  async write(points: Point[]): Promise<WriteOutcome> {
    return this.writeOutcome(points)
  }

  /** {@link write}, synchronously: what the write thread (write-worker.ts) runs. */
  writeOutcome(points: Point[]): WriteOutcome {
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
        this.checkOtherWriters()
        const horizon = Number(this.stmt.getMeta.get('pruned_before:raw')?.value ?? Number.NEGATIVE_INFINITY)
        const {groups, rejected, beyondRetention} = this.groupPoints(points, horizon, added)
        if (rejected.length > 0) result.rejected = rejected
        if (beyondRetention.length > 0) this.lastBeyondRetention = beyondRetention
        result.beyondRetention = beyondRetention.length
        const lowest = this.tiers.lowestWatermark()
        let merged = 0
        for (const g of groups.values()) {
          const n = this.writeGroup(g.sid, g.fid, g.run, lowest)
          merged += g.run.ts.length - n
          result.written += n
        }
        if (merged > 0) result.merged = merged
      })()
    } catch (error) {
      this.rolledBack(added)
      throw error
    }

    this.tiers.maybeCompact()
    return result
  }

  /**
   * The fast path of {@link write} for line protocol the model's `parseLineColumns` read: runs per
   * series field, a series id looked up once per distinct series. Undefined, with nothing written,
   * when the batch needs the exact path's judgement — a point beyond raw retention, a field stored
   * (or written in this batch) with another type, two spellings of one series (tags in another order) — so partial writes say
   * exactly what {@link write} says. Otherwise the same rows as writing the parsed points.
   */
  writeColumns(cols: LineColumns): WriteOutcome | undefined {
    if (cols.series.length === 0) return {merged: 0}
    const added = {ids: false}
    let outcome: WriteOutcome | undefined
    try {
      this.db.transaction(() => {
        this.checkOtherWriters()
        const horizon = Number(this.stmt.getMeta.get('pruned_before:raw')?.value ?? Number.NEGATIVE_INFINITY)
        // every check before anything is created, as groupPoints does
        const types = new Map<string, string>()
        for (const s of cols.series) {
          if (s.minTs < horizon) return
          for (let f = 0; f < s.fields.length; f++) {
            const name = s.fields[f]!
            const type = s.types[f]!
            const existing = this.existingField(s.measurement, name)
            if (existing && existing.type !== type) return
            // a field new to the store written with two types in this batch: groupPoints picks the first
            const key = s.measurement + '\0' + name
            const seen = types.get(key)
            if (seen === undefined) types.set(key, type)
            else if (seen !== type) return
          }
        }
        const sids = new Array<number>(cols.series.length)
        const seen = new Set<number>()
        for (let i = 0; i < cols.series.length; i++) {
          const s = cols.series[i]!
          let sid = this.rawSeriesIds.get(s.key)
          if (sid === undefined) {
            sid = this.seriesIdFor(s.measurement, s.tags, added)
            this.rawSeriesIds.set(s.key, sid)
          }
          // one series written two ways: its lines' order across both decides merges; the exact path keeps it
          if (seen.has(sid)) throw FALL_BACK
          seen.add(sid)
          sids[i] = sid
        }
        const lowest = this.tiers.lowestWatermark()
        let merged = 0
        for (let i = 0; i < cols.series.length; i++) {
          const s = cols.series[i]!
          for (let f = 0; f < s.fields.length; f++) {
            const field = this.fieldFor(s.measurement, s.fields[f]!, s.types[f]!, added)
            const run = s.runs[f]!
            merged += run.ts.length - this.writeGroup(sids[i]!, field.id, run, lowest)
          }
        }
        outcome = {merged}
      })()
    } catch (error) {
      this.rolledBack(added)
      if (error === FALL_BACK) return undefined
      throw error
    }

    if (outcome) this.tiers.maybeCompact()
    return outcome
  }

  /**
   * Writes one series field's run (in write order) and returns how many values it kept (a repeated
   * timestamp keeps the later value). A run wholly after what the series field holds — nearly every
   * write of a live source — becomes a chunk without looking for chunks or head rows it overlaps.
   */
  private writeGroup(sid: number, fid: number, written: Run, lowest: number | undefined): number {
    const run = normalizeRun(written)
    const n = run.ts.length
    const first = run.ts[0] as number
    const last = run.ts[n - 1] as number
    const key = sid * 2_097_152 + fid
    let end = this.lastTs.get(key)
    if (n >= this.directMin) {
      if (end !== undefined && first > end) this.raw.insert(sid, fid, run)
      else {
        end ??= this.storedEnd(sid, fid)
        this.writeRun(sid, fid, run)
      }
    } else {
      end ??= this.storedEnd(sid, fid)
      for (let i = 0; i < n; i++) this.stmt.upsertHead.run(sid, fid, run.ts[i], run.values[i])
    }
    this.lastTs.set(key, end === undefined || last > end ? last : end)
    if (lowest !== undefined && first < lowest) this.markDirty(sid, fid, first, last)
    return n
  }

  /** The latest timestamp one series field holds (chunks or head rows), -Infinity when none. */
  private storedEnd(sid: number, fid: number): number {
    const chunk = this.stmt.lastChunkEnd.get(sid, fid)?.t_end
    const head = this.stmt.lastHeadTs.get(sid, fid)?.ts
    return Math.max(chunk ?? Number.NEGATIVE_INFINITY, head ?? Number.NEGATIVE_INFINITY)
  }

  /**
   * Another connection (another process's write, `mon store repair`) committed since this one last
   * looked: what {@link lastTs} knows may be stale. SQLite's data_version changes exactly then.
   */
  private checkOtherWriters(): void {
    const v = this.stmt.dataVersion.get() as {data_version: number}
    if (v.data_version !== this.dataVersion) {
      this.dataVersion = v.data_version
      this.lastTs.clear()
    }
  }

  /** After a rolled-back transaction: ids cached inside it do not exist, nor what it wrote; the caches refill from the tables. */
  private rolledBack(added: {ids: boolean}): void {
    this.lastTs.clear()
    if (added.ids) {
      this.seriesIds.clear()
      this.rawSeriesIds.clear()
      this.fields.clear()
    }
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
      const wm = this.tiers.watermark(tier)
      if (wm === undefined || minTs >= wm) continue
      const from = Math.floor(minTs / tier.resolution) * tier.resolution
      this.stmt.addDirty.run(tier.resolution, sid, fid, from, Math.min(wm, Math.floor(maxTs / tier.resolution) * tier.resolution + tier.resolution))
    }
  }
}
