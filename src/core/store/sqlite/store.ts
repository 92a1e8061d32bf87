import type Database from 'better-sqlite3'
import {systemClock, type Clock} from '../../clock.js'
import {compileLinearRegex} from '../../model/matcher.js'
import {parseLineColumns, type Precision} from '../../model/line-protocol/index.js'
import type {Point} from '../../model/point.js'
import type {CompactStats, Compactable, FieldInfo, FullStore, Frame, Maintainable, MaintenanceReport, TierRouting, QueryOptions, QueryPlan, StoreInfo, WriteOutcome} from '../types.js'
import {retentionPolicy, type RetentionPolicy, type TierChoice} from '../retention.js'
import {catalogFieldKeys, catalogInfo, catalogMeasurements, catalogTagKeys, catalogTagValues} from './catalog.js'
import {openDatabase} from './database.js'
import {SqliteQueries} from './query.js'
import {StoreTables} from './tables.js'
import {SqliteTiers} from './tiers.js'
import {SqliteWrites, type RejectedPoint} from './write.js'
import {WriteThread, type WriteThreadOptions} from './write-thread.js'

export type {RejectedPoint} from './write.js'

/** Bytes of a payload: one buffer, or the parts of one */
function bytesOf(p: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(p)) return p.length
  let n = 0
  for (const b of p as readonly Buffer[]) n += b.length
  return n
}

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
  /**
   * Writes in a thread of their own with its own connection while they come in bulk
   * (write-thread.ts): the daemon's. Not for `:memory:` (a connection of its own is another database).
   */
  writeThread?: boolean | WriteThreadOptions
  /** another connection of this process just opened the file: no schema step, no quick check (the write thread's own) */
  opened?: boolean
}

/**
 * The zero-config embedded time-series store. One process writes while others read (WAL);
 * writers in several processes take turns (busy timeout). See schema.ts for the layout.
 * With `writeThread` the writes go to a thread of their own while it runs (write-thread.ts) and
 * this connection only reads; without, and while it does not run, this connection writes.
 * A facade: writes (write.ts), tiers and compaction (tiers.ts) and queries (query.ts) share the
 * database and its tables (tables.ts); the catalog reads are catalog.ts.
 */
export class SqliteStore implements FullStore, Maintainable, Compactable, TierRouting {
  readonly kind = 'sqlite'
  readonly path: string
  private readonly db: Database.Database
  private readonly clock: Clock
  private readonly writes: SqliteWrites
  private readonly tiers: SqliteTiers
  private readonly queries: SqliteQueries
  private readonly thread?: WriteThread
  readonly policy: RetentionPolicy

  constructor(opts: SqliteStoreOptions) {
    this.path = opts.path
    this.clock = opts.clock ?? systemClock
    const chunkMax = opts.chunkMax ?? 1024
    this.db = openDatabase(opts.path, Boolean(opts.readonly), {opened: opts.opened})
    if (opts.cacheKiB !== undefined) this.db.pragma(`cache_size = -${Math.max(64, Math.floor(opts.cacheKiB))}`)
    this.db.function('regexp', {deterministic: true}, (re: unknown, s: unknown) => (compileLinearRegex(String(re)).test(String(s ?? '')) ? 1 : 0))
    this.policy = retentionPolicy(opts.retention)
    const tables = new StoreTables(this.db, this.policy, chunkMax)
    this.tiers = new SqliteTiers(tables, this.clock, chunkMax, opts.autoCompactEvery ?? 5 * 60_000)
    this.writes = new SqliteWrites(tables, this.tiers, opts.directMin ?? 8)
    this.queries = new SqliteQueries(tables, this.tiers, this.path)
    if (opts.writeThread && !opts.readonly && opts.path !== ':memory:' && opts.path !== '') {
      const autoCompactEvery = opts.autoCompactEvery ?? 5 * 60_000
      const config = {path: opts.path, chunkMax, directMin: opts.directMin ?? 8, autoCompactEvery, retention: opts.retention, cacheKiB: opts.cacheKiB}
      this.thread = new WriteThread(config, this.clock, opts.writeThread === true ? {} : opts.writeThread)
    }
  }

  // ---------------------------------------------------------------- writes

  /** Points into the store: in the write thread while it runs (it does not start for points), else here. */
  async write(points: Point[]): Promise<WriteOutcome> {
    if (this.thread) {
      let route = this.thread.route(false)
      if (typeof route !== 'string') route = await route
      if (route === 'thread') return this.thread.writePoints(points)
    }
    return this.writes.write(points)
  }

  /** {@link write} on this thread's connection, synchronously (the write thread's own store). */
  writeSyncOutcome(points: Point[]): WriteOutcome {
    return this.writes.writeOutcome(points)
  }

  /**
   * Spooled line protocol straight into the store, without a Point per line (the writer's
   * SpooledLinesSink): undefined, with nothing written, when the body or the batch is not of the
   * fast path's shape (parseLineColumns, SqliteWrites.writeColumns) — then the writer sends points.
   * A batch of at least `writeThread.startBytes` starts the write thread; while it runs it parses
   * and writes every batch.
   */
  async writeSpooledLines(payloads: ReadonlyArray<Buffer | readonly Buffer[]>, precision: Precision): Promise<WriteOutcome | undefined> {
    const thread = this.thread
    if (thread) {
      let bytes = 0
      for (const p of payloads) bytes += bytesOf(p)
      // sent in this call when it can be (no await first): batches reach the thread in order
      let route = thread.route(bytes >= thread.startBytes)
      if (typeof route !== 'string') route = await route
      if (route === 'thread') return thread.writeLines(payloads, precision, bytes)
    }
    return this.writeSpooledLinesSync(
      payloads.map((p) => (Buffer.isBuffer(p) ? p : Buffer.concat(p as readonly Buffer[]))),
      precision,
    )
  }

  writeSpooledLinesSync(payloads: readonly Buffer[], precision: Precision): WriteOutcome | undefined {
    const cols = parseLineColumns(payloads, precision)
    return cols && this.writes.writeColumns(cols)
  }

  /** Whether the write thread runs now, and how often it was started (status, tests). */
  writeThreadState(): {running: boolean; starts: number; failed?: string} | undefined {
    return this.thread && {running: this.thread.running, starts: this.thread.starts, ...(this.thread.failed === undefined ? {} : {failed: this.thread.failed})}
  }

  /** Stops the write thread (after what it was given) without closing the store: the next bulk batch starts it again. */
  async stopWriteThread(): Promise<void> {
    await this.thread?.stop()
  }

  /** One batch in one transaction; what it leaves out and why: SqliteWrites.writeSync (write.ts). */
  writeSync(points: Point[]): {written: number; beyondRetention: number; rejected?: RejectedPoint[]; merged?: number} {
    return this.writes.writeSync(points)
  }

  // ---------------------------------------------------------------- compaction and retention

  /** Folds head rows into chunks and merges small chunks (SqliteTiers.compact, tiers.ts). */
  compact(opts: {full?: boolean} = {}): CompactStats {
    return this.tiers.compact(opts)
  }

  /** Rolls up, prunes and compacts (SqliteTiers.maintainSync, tiers.ts); the daemon calls it periodically. */
  async maintain(now = this.clock.now()): Promise<MaintenanceReport> {
    if (this.thread) {
      let route = this.thread.route(false)
      if (typeof route !== 'string') route = await route
      if (route === 'thread') return this.thread.maintain(now)
    }
    return this.maintainSync(now)
  }

  maintainSync(now = this.clock.now()): MaintenanceReport {
    return this.tiers.maintainSync(now)
  }

  /** Which retention tier answers a plan (see retention.ts chooseTier). */
  tierFor(q: QueryPlan): TierChoice {
    return this.tiers.tierFor(q)
  }

  // ---------------------------------------------------------------- queries

  async query(q: QueryPlan, opts?: QueryOptions): Promise<Frame[]> {
    return this.querySync(q, opts)
  }

  querySync(q: QueryPlan, opts?: QueryOptions): Frame[] {
    return this.queries.querySync(q, opts)
  }

  explain(q: QueryPlan): string {
    return this.queries.explain(q)
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

  scan(start: number, end: number, batchSize = 10_000): AsyncIterable<Point[]> {
    return this.queries.scan(start, end, batchSize)
  }

  /** Synchronous escape hatch for same-process components (alert state, outbox) sharing the file. */
  get database(): Database.Database {
    return this.db
  }

  /** Stops the write thread after the writes it was given (they commit), then closes this connection. */
  async close(): Promise<void> {
    await this.thread?.close()
    this.closeSync()
  }

  closeSync(): void {
    if (this.db.open) this.db.close()
  }
}
