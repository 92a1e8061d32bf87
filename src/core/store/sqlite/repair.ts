import Database from 'better-sqlite3'
import {closeSync, copyFileSync, existsSync, openSync, readSync, renameSync, rmSync, statSync, truncateSync, writeSync} from 'node:fs'
import type {Clock} from '../../clock.js'
import {UserError, errorMessage} from '../../errors.js'
import {rawCodec, rollupCodec, type Summary} from './chunks.js'
import {quickCheck} from '../../sqlite-check.js'
import {SCHEMA, SCHEMA_VERSION} from './schema.js'

/**
 * Damage to an embedded store (mon.db) or the state database: found at open by SQLite's
 * `quick_check`, in full by `mon store check` (`integrity_check` plus decoding every chunk), and
 * `mon store repair` salvages every row it can still read into a new file, keeping the damaged
 * one aside and saying what was lost.
 *
 * Salvage reads each rowid table by rowid: where a read fails (a garbled or missing page) it seeks
 * past the failing rowid in growing steps, so one bad page costs the rows on it, not the rest of
 * the table. `head` (keyed by series, field, time) is read one series at a time for the same reason.
 */

export interface TableDamage {
  table: string
  /** rows read */
  read: number
  /** rowid ranges that could not be read (rows there, if any, are lost); `to` null: to the end of the table */
  unreadable: Array<{from: number; to: number | null; error: string}>
}

export interface StoreCheckReport {
  path: string
  ok: boolean
  /** SQLite's integrity_check messages (up to 100); [] when sound */
  integrity: string[]
  series: number
  fields: number
  chunks: {total: number; undecodable: number}
  rollups: {total: number; undecodable: number}
  headRows: number
  /** points in readable chunks and head rows */
  points: number
  tables: TableDamage[]
}

/** A full check of the store at `path`: integrity_check, then every row read and every chunk decoded. */
export function checkStore(path: string): StoreCheckReport {
  const file = openDamaged(path)
  const db = file.db
  try {
    let integrity: string[]
    try {
      integrity = (db.pragma('integrity_check(100)') as Array<{integrity_check: string}>).map((r) => r.integrity_check).filter((m) => m !== 'ok')
    } catch (err) {
      integrity = [errorMessage(err)]
    }
    if (file.truncated) integrity.unshift(`the file is truncated: ${file.truncated[0]} of ${file.truncated[1]} bytes`)

    const salvage = readAll(db)
    const report: StoreCheckReport = {
      path,
      ok: false,
      integrity,
      series: salvage.series.length,
      fields: salvage.fields.length,
      chunks: {total: salvage.chunks.length + salvage.badChunks, undecodable: salvage.badChunks},
      rollups: {total: salvage.rollups.length + salvage.badRollups, undecodable: salvage.badRollups},
      headRows: salvage.head.length,
      points: salvage.points,
      tables: salvage.tables,
    }
    report.ok = integrity.length === 0 && salvage.badChunks === 0 && salvage.badRollups === 0 && salvage.tables.every((t) => t.unreadable.length === 0)
    return report
  } finally {
    file.close()
  }
}

export interface StoreRepairReport {
  path: string
  /** false: the store was sound and is left as it was */
  repaired: boolean
  /** where the damaged file was moved */
  damagedKeptAt?: string
  salvaged: {series: number; fields: number; chunks: number; rollups: number; headRows: number; points: number}
  lost: {
    /** chunks that were read but would not decode */
    chunks: number
    rollups: number
    /** rows that referred to a series or field that was lost */
    orphans: number
    /** rowid ranges that could not be read, per table */
    unreadable: Array<{table: string; from: number; to: number | null; error: string}>
    /** the rollup recomputation queue (rollup_dirty) is not carried over */
    note: string
  }
}

/**
 * Salvages the store at `path` into a new file, moves the damaged one to `<path>.damaged-<time>`
 * and the new one into its place. Nothing else may have the store open.
 */
export function repairStore(path: string, clock: Clock): StoreRepairReport {
  const fresh = `${path}.repair-${process.pid}`
  for (const suffix of ['', '-wal', '-shm']) rmSync(fresh + suffix, {force: true})
  const source = openDamaged(path)
  let salvage: Salvage
  let sound = false
  try {
    salvage = readAll(source.db)
    try {
      sound = !source.truncated && quickCheck(source.db).length === 0
    } catch {}
  } finally {
    source.close()
  }
  const counts = (s: Salvage) => ({series: s.series.length, fields: s.fields.length, chunks: s.chunks.length, rollups: s.rollups.length, headRows: s.head.length, points: s.points})
  if (sound && salvage.badChunks === 0 && salvage.badRollups === 0 && salvage.tables.every((t) => t.unreadable.length === 0)) {
    return {path, repaired: false, salvaged: counts(salvage), lost: {chunks: 0, rollups: 0, orphans: 0, unreadable: [], note: 'the store is sound: nothing was changed'}}
  }

  const target = new Database(fresh)
  try {
    target.pragma('auto_vacuum = INCREMENTAL')
    target.pragma('journal_mode = WAL')
    target.exec(SCHEMA)
    target.pragma(`user_version = ${SCHEMA_VERSION}`)
    const seriesIds = new Set(salvage.series.map((s) => s.id))
    const fieldIds = new Set(salvage.fields.map((f) => f.id))
    const known = (r: {series_id: number; field_id: number}) => seriesIds.has(r.series_id) && fieldIds.has(r.field_id)
    let orphans = 0
    target.transaction(() => {
      const insert = (sql: string, rows: object[]) => {
        const stmt = target.prepare(sql)
        for (const r of rows) stmt.run(r)
      }
      insert('INSERT OR IGNORE INTO meta (key, value) VALUES (@key, @value)', salvage.meta)
      insert('INSERT OR IGNORE INTO series (id, key, measurement, tags) VALUES (@id, @key, @measurement, @tags)', salvage.series)
      insert('INSERT OR IGNORE INTO fields (id, measurement, name, type) VALUES (@id, @measurement, @name, @type)', salvage.fields)
      const keep = <T extends {series_id: number; field_id: number}>(rows: T[]) => rows.filter((r) => known(r) || (orphans++, false))
      insert('INSERT OR IGNORE INTO chunks (series_id, field_id, t_start, t_end, n, sum, min, max, first, last, data) VALUES (@series_id, @field_id, @t_start, @t_end, @n, @sum, @min, @max, @first, @last, @data)', keep(salvage.chunks))
      insert('INSERT OR IGNORE INTO rollups (tier, series_id, field_id, t_start, t_end, n, sum, min, max, first, last, items, data) VALUES (@tier, @series_id, @field_id, @t_start, @t_end, @n, @sum, @min, @max, @first, @last, @items, @data)', keep(salvage.rollups))
      insert('INSERT OR IGNORE INTO head (series_id, field_id, ts, value) VALUES (@series_id, @field_id, @ts, @value)', keep(salvage.head))
    })()
    target.pragma('wal_checkpoint(TRUNCATE)')
    const problems = (target.pragma('integrity_check(5)') as Array<{integrity_check: string}>).map((r) => r.integrity_check).filter((m) => m !== 'ok')
    if (problems.length > 0) throw new Error(`the salvaged store fails its own check: ${problems.join('; ')}`)
    target.close()

    const damagedKeptAt = `${path}.damaged-${new Date(clock.now()).toISOString().replace(/[:.]/g, '-')}`
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, damagedKeptAt + suffix)
    renameSync(fresh, path)
    for (const suffix of ['-wal', '-shm']) rmSync(fresh + suffix, {force: true})
    const points = salvage.chunks.filter(known).reduce((n, c) => n + c.n, 0) + salvage.head.filter(known).length
    return {
      path,
      repaired: true,
      damagedKeptAt,
      salvaged: {series: salvage.series.length, fields: salvage.fields.length, chunks: salvage.chunks.filter(known).length, rollups: salvage.rollups.filter(known).length, headRows: salvage.head.filter(known).length, points},
      lost: {
        chunks: salvage.badChunks,
        rollups: salvage.badRollups,
        orphans,
        unreadable: salvage.tables.flatMap((t) => t.unreadable.map((u) => ({table: t.table, ...u}))),
        note: 'queued rollup recomputations (rollup_dirty) are not carried over',
      },
    }
  } catch (err) {
    if (target.open) target.close()
    for (const suffix of ['', '-wal', '-shm']) rmSync(fresh + suffix, {force: true})
    throw err
  }
}

interface DamagedFile {
  db: Database.Database
  /** the file is shorter than its header says: [bytes there, bytes expected] */
  truncated?: [number, number]
  close(): void
}

/**
 * Opens a possibly damaged file read-only: no schema, no checks, nothing written to it. A file
 * shorter than its header says (truncated) cannot even show its schema to SQLite: a copy is
 * opened instead whose header gives the pages that are there.
 */
function openDamaged(path: string): DamagedFile {
  let header: Buffer
  let size: number
  try {
    size = statSync(path).size
    header = Buffer.alloc(100)
    const fd = openSync(path, 'r')
    try {
      header = header.subarray(0, readSync(fd, header, 0, 100, 0))
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`no embedded store at ${path}`, {hint: 'check data_dir (MON_DATA_DIR) or store.path', exitCode: 2, cause: err})
    throw new UserError(`cannot open embedded store ${path}: ${errorMessage(err)}`, {hint: 'check the path (store.path / data_dir)', cause: err})
  }
  const pageSize = header.length >= 100 ? (header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16)) : 0
  const pages = header.length >= 100 ? header.readUInt32BE(28) : 0
  let file = path
  let truncated: [number, number] | undefined
  if (pageSize >= 512 && pages * pageSize > size) {
    truncated = [size, pages * pageSize]
    file = `${path}.salvage-${process.pid}`
    copyFileSync(path, file)
    truncateSync(file, Math.floor(size / pageSize) * pageSize)
    const fd = openSync(file, 'r+')
    try {
      const count = Buffer.alloc(4)
      count.writeUInt32BE(Math.floor(size / pageSize))
      writeSync(fd, count, 0, 4, 28)
    } finally {
      closeSync(fd)
    }
  }
  const dropCopy = () => {
    if (file !== path) for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, {force: true})
  }
  try {
    const db = new Database(file, {readonly: true, fileMustExist: true})
    return {
      db,
      truncated,
      close() {
        db.close()
        dropCopy()
      },
    }
  } catch (err) {
    dropCopy()
    throw new UserError(`cannot open embedded store ${path}: ${errorMessage(err)}`, {hint: 'check the path (store.path / data_dir)', cause: err})
  }
}

interface SeriesRow {
  id: number
  key: string
  measurement: string
  tags: string
}
interface FieldRow {
  id: number
  measurement: string
  name: string
  type: string
}
/** a chunk row: its key, the summary every chunk carries, and the encoded data */
interface ChunkRecord extends Summary {
  series_id: number
  field_id: number
  t_start: number
  t_end: number
  data: Buffer
}
interface RollupRecord extends ChunkRecord {
  tier: number
  items: number
}
interface HeadRecord {
  series_id: number
  field_id: number
  ts: number
  value: number | string
}

interface Salvage {
  meta: Array<{key: string; value: string}>
  series: SeriesRow[]
  fields: FieldRow[]
  chunks: ChunkRecord[]
  rollups: RollupRecord[]
  head: HeadRecord[]
  badChunks: number
  badRollups: number
  points: number
  tables: TableDamage[]
}

function readAll(db: Database.Database): Salvage {
  const tables: TableDamage[] = []
  const series = readRowidTable<SeriesRow>(db, 'series', 'id, key, measurement, tags', tables)
  const fields = readRowidTable<FieldRow>(db, 'fields', 'id, measurement, name, type', tables)
  const decodes = (decode: (blob: Uint8Array) => {ts: ArrayLike<number>}) => (r: ChunkRecord) => {
    try {
      return decode(r.data).ts.length === (('items' in r ? r.items : r.n) as number)
    } catch {
      return false
    }
  }
  const allChunks = readRowidTable<ChunkRecord>(db, 'chunks', 'series_id, field_id, t_start, t_end, n, sum, min, max, first, last, data', tables)
  const chunks = allChunks.filter(decodes(rawCodec.decode))
  const allRollups = readRowidTable<RollupRecord>(db, 'rollups', 'tier, series_id, field_id, t_start, t_end, n, sum, min, max, first, last, items, data', tables)
  const rollups = allRollups.filter(decodes(rollupCodec.decode))
  const head: HeadRecord[] = []
  const headDamage: TableDamage = {table: 'head', read: 0, unreadable: []}
  const headOf = tryPrepare(db, 'SELECT series_id, field_id, ts, value FROM head WHERE series_id = ?')
  for (const s of series) {
    try {
      for (const r of headOf?.iterate(s.id) ?? []) head.push(r as HeadRecord)
    } catch (err) {
      headDamage.unreadable.push({from: s.id, to: s.id, error: `series ${s.id}: ${errorMessage(err)}`})
    }
  }
  headDamage.read = head.length
  tables.push(headDamage)
  let meta: Array<{key: string; value: string}> = []
  try {
    meta = db.prepare('SELECT key, value FROM meta').all() as typeof meta
  } catch (err) {
    tables.push({table: 'meta', read: 0, unreadable: [{from: 0, to: 0, error: errorMessage(err)}]})
  }
  return {
    meta,
    series,
    fields,
    chunks,
    rollups,
    head,
    badChunks: allChunks.length - chunks.length,
    badRollups: allRollups.length - rollups.length,
    points: chunks.reduce((n, c) => n + c.n, 0) + head.length,
    tables,
  }
}

/**
 * The first rowid after `failedAt` from which reading works again: tried 1, 2, 4, … past it.
 * Records the range skipped; returns `maxRowid` when nothing after it reads.
 */
function skipPast(one: Database.Statement, failedAt: number, maxRowid: number, found: TableDamage, err: unknown): number {
  for (let step = 1; failedAt + step < maxRowid && step < 2 ** 48; step *= 2) {
    try {
      one.get(failedAt + step)
      found.unreadable.push({from: failedAt + 1, to: failedAt + step, error: errorMessage(err)})
      return failedAt + step
    } catch {}
  }
  found.unreadable.push({from: failedAt + 1, to: maxRowid === Number.MAX_SAFE_INTEGER ? null : maxRowid, error: errorMessage(err)})
  return maxRowid
}

function tryPrepare(db: Database.Database, sql: string): Database.Statement | undefined {
  try {
    return db.prepare(sql)
  } catch {
    return undefined
  }
}

/**
 * Every row of a rowid table that can be read. A failing read is skipped over: the next rowid
 * tried is 1, 2, 4, … past the failure, up to the table's largest rowid (when even that cannot
 * be read, the rest of the table is lost).
 */
function readRowidTable<T>(db: Database.Database, table: string, columns: string, damage: TableDamage[]): T[] {
  const found: TableDamage = {table, read: 0, unreadable: []}
  damage.push(found)
  const rows: T[] = []
  const next = tryPrepare(db, `SELECT rowid AS _rowid, ${columns} FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT 256`)
  if (!next) {
    found.unreadable.push({from: 0, to: null, error: `table ${table} cannot be read at all`})
    return rows
  }
  let maxRowid: number
  try {
    maxRowid = (db.prepare(`SELECT max(rowid) AS m FROM ${table}`).get() as {m: number | null}).m ?? 0
  } catch {
    maxRowid = Number.MAX_SAFE_INTEGER
  }
  const one = db.prepare(`SELECT rowid AS _rowid, ${columns} FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT 1`)
  const take = (r: T & {_rowid: number}) => {
    const {_rowid, ...rest} = r
    rows.push(rest as T)
    return _rowid
  }
  let after = 0
  while (after < maxRowid) {
    let page: Array<T & {_rowid: number}>
    try {
      page = next.all(after) as Array<T & {_rowid: number}>
    } catch {
      // somewhere in the next 256 rows is a bad page: go one row at a time up to it
      let row: (T & {_rowid: number}) | undefined
      try {
        row = one.get(after) as (T & {_rowid: number}) | undefined
      } catch (err) {
        after = skipPast(one, after, maxRowid, found, err)
        if (after >= maxRowid) break
        continue
      }
      if (!row) break
      after = take(row)
      continue
    }
    if (page.length === 0) break
    for (const r of page) after = take(r)
  }
  found.read = rows.length
  return rows
}
