import type Database from 'better-sqlite3'
import type {FieldType} from '../../model/point.js'
import type {Bucket} from '../codec.js'
import {rollupTiers, type RetentionPolicy} from '../retention.js'
import {ChunkTable, rawCodec, rollupCodec} from './chunks.js'
import {mergeRuns, type Run} from './merge.js'

export interface FieldRow {
  id: number
  measurement: string
  name: string
  type: FieldType
}

export interface SeriesRow {
  id: number
  tags: string
}

export function prepareStatements(db: Database.Database) {
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
    lastChunkEnd: db.prepare<[number, number], {t_end: number}>('SELECT t_end FROM chunks WHERE series_id = ? AND field_id = ? ORDER BY t_start DESC LIMIT 1'),
    lastHeadTs: db.prepare<[number, number], {ts: number}>('SELECT ts FROM head WHERE series_id = ? AND field_id = ? ORDER BY ts DESC LIMIT 1'),
    dataVersion: db.prepare('PRAGMA data_version'),
    getMeta: db.prepare<[string], {value: string}>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
  }
}

export type Statements = ReturnType<typeof prepareStatements>

/**
 * What the writes, tiers and queries of one SqliteStore share: the open database, its prepared
 * statements, the raw and rollup chunk tables and the retention policy.
 */
export class StoreTables {
  readonly stmt: Statements
  readonly raw: ChunkTable<number | string>
  readonly rollups = new Map<number, ChunkTable<Bucket>>()

  constructor(
    readonly db: Database.Database,
    readonly policy: RetentionPolicy,
    chunkMax: number,
  ) {
    this.stmt = prepareStatements(db)
    this.raw = new ChunkTable(db, 'chunks', rawCodec, chunkMax)
    for (const t of rollupTiers(policy)) this.rollups.set(t.resolution, new ChunkTable(db, 'rollups', rollupCodec, chunkMax, t.resolution))
  }

  /** All points of one series field in [start, end), head rows overriding chunk points. */
  readRun(sid: number, fid: number, start: number, end: number): Run {
    const run = this.raw.readRange(sid, fid, start, end)
    const head = this.stmt.headRange.all(sid, fid, start, end)
    return head.length > 0 ? mergeRuns(run, {ts: head.map((r) => r.ts), values: head.map((r) => r.value)}) : run
  }
}

/** The base of the parts of a SqliteStore (writes, tiers, queries): the shared tables under short names. */
export abstract class StorePart {
  protected readonly db: Database.Database
  protected readonly stmt: Statements
  protected readonly raw: ChunkTable<number | string>
  protected readonly rollups: Map<number, ChunkTable<Bucket>>
  protected readonly policy: RetentionPolicy

  constructor(protected readonly tables: StoreTables) {
    this.db = tables.db
    this.stmt = tables.stmt
    this.raw = tables.raw
    this.rollups = tables.rollups
    this.policy = tables.policy
  }
}
