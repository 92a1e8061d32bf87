import {InputError, PartialWriteError} from '../../errors.js'
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

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

interface Group {
  sid: number
  fid: number
  run: Run
}

/** The write path of a SqliteStore: checks points, assigns series and field ids, fills head rows and chunks. */
export class SqliteWrites extends StorePart {
  private readonly seriesIds = new SeriesIndex<number>()
  private readonly fields = new FieldIndex<FieldRow>()

  constructor(
    tables: StoreTables,
    private readonly tiers: SqliteTiers,
    private readonly directMin: number,
  ) {
    super(tables)
  }

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
        const lowest = this.tiers.lowestWatermark()
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

    this.tiers.maybeCompact()
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
      const wm = this.tiers.watermark(tier)
      if (wm === undefined || minTs >= wm) continue
      const from = Math.floor(minTs / tier.resolution) * tier.resolution
      this.stmt.addDirty.run(tier.resolution, sid, fid, from, Math.min(wm, Math.floor(maxTs / tier.resolution) * tier.resolution + tier.resolution))
    }
  }
}
