import {InputError} from '../errors.js'
import type {FieldType, Point} from '../model/point.js'
import type {Matcher} from '../model/matcher.js'
import type {RetentionPolicy, TierChoice} from './retention.js'
import type {AggFn} from '../model/aggregate.js'

export type {AggFn} from '../model/aggregate.js'

/** Per-series transforms applied before aggregation (per second). */
export type TransformFn = 'rate' | 'derivative'

/**
 * What a backend is asked for: one field of one measurement, filtered by tag matchers, over a
 * half-open time range [start, end) in ms. Optionally a per-series transform (rate/derivative,
 * over raw points, or over the last value of each bucket when `every` is set), then an
 * aggregation per group and per `every` bucket (buckets aligned to the epoch, as InfluxDB does).
 */
export interface QueryPlan {
  measurement: string
  field: string
  matchers: Matcher[]
  start: number
  end: number
  every?: number
  /**
   * Buckets of `every` start at offset + k·every instead of at multiples of `every` (0 ≤ offset <
   * every). Raw points only: a rollup tier's buckets are aligned to the epoch, so a plan with an
   * offset that only rollups can answer throws {@link UnalignedBucketsError}. With aggregations only.
   */
  offset?: number
  transform?: TransformFn
  aggregate?: {fn: AggFn; param?: number; by: string[]}
  /** raw selections only: most recent N points per series */
  limit?: number
}

/**
 * A result table. `time` (ms) is the first column. For aggregations the time is the bucket start
 * (or the range start without `every`); for raw points it is the point's own time.
 */
export interface Frame {
  name: string
  tags: Record<string, string>
  columns: string[]
  rows: Array<Array<number | string | boolean | null>>
}

export interface FieldInfo {
  name: string
  type: FieldType
}

export interface StoreInfo {
  backend: string
  location: string
  series?: number
  points?: number
  oldest?: number
  newest?: number
  bytesOnDisk?: number
  bytesPerPoint?: number
  details?: Record<string, unknown>
}

/** A query's time budget (query/deadline.ts): throws once the time is up. */
export interface QueryDeadlineCheck {
  check(): void
}

export interface QueryOptions {
  /** synchronous backends call check() between series and chunks */
  deadline?: QueryDeadlineCheck
}

/**
 * What a write says beyond success, when the backend knows it. `merged`: values that shared
 * series, field and timestamp (at the store's precision, ms for the embedded store) with a later
 * value of the same write, which replaced them — e.g. points 1 µs apart stored in one ms.
 */
export interface WriteOutcome {
  merged: number
}

/** The seam every backend implements (architecture note). */
export interface Store {
  readonly kind: string
  /**
   * Idempotent: the same series + field + timestamp again overwrites. Points the store refuses
   * while keeping the others end in a {@link PartialWriteError} (errors.ts) that counts them.
   */
  write(points: Point[]): Promise<WriteOutcome | void>
  query(q: QueryPlan, opts?: QueryOptions): Promise<Frame[]>
  close(): Promise<void>
}

/** Discovery and housekeeping, implemented by every backend (SHOW MEASUREMENTS / FIELD KEYS / TAG VALUES). */
export interface StoreCatalog {
  /** `countPoints`: also count points where that means reading every one (InfluxDB) */
  info(opts?: {countPoints?: boolean}): Promise<StoreInfo>
  measurements(): Promise<string[]>
  fieldKeys(measurement: string): Promise<FieldInfo[]>
  tagKeys(measurement: string): Promise<string[]>
  tagValues(measurement: string, key: string): Promise<string[]>
  /** How a plan is run on this backend, for --explain / --debug. */
  explain(q: QueryPlan): string
  /**
   * Every raw point in [start, end), in batches (a series at a time, fields of one timestamp joined
   * into one point), with the stored field types — for `mon store archive`.
   */
  scan?(start: number, end: number): AsyncIterable<Point[]>
}

/** `mon store init`: what exists now and whether it was just created. */
export interface InitResult {
  backend: string
  location: string
  /** 1.x database, 2.x bucket, or the embedded database file */
  database: string
  created: boolean
  serverVersion?: string
  notes: string[]
}

/** What one retention pass did: buckets rolled up and points/buckets dropped, per tier. */
export interface MaintenanceReport {
  rolledUp: Record<string, number>
  pruned: Record<string, number>
}

/*
 * Optional abilities: a backend has them or not, and callers ask with the guards below (which test
 * for the method) instead of `instanceof SqliteStore` or `kind === '…'`, so a new backend gets a
 * command by implementing the method.
 */

/** Roll up, prune and compact per the retention policy (the embedded store; servers do it themselves). */
export interface Maintainable {
  maintain(now?: number): Promise<MaintenanceReport>
}

/**
 * Backends that keep tiers themselves (InfluxDB 1.x retention policies + continuous queries, 2.x
 * buckets): make them match the policy; returns the statements run (or, with dryRun, that would
 * run), empty when the server already matches.
 */
export interface RetentionApplier {
  applyRetention(policy: RetentionPolicy, opts: {dryRun: boolean}): Promise<string[]>
}

/** What `mon store compact` did. */
export interface CompactStats {
  headRows: number
  chunksBefore: number
  chunksAfter: number
}

/** Folds recent rows into compressed chunks on demand (`mon store compact`). */
export interface Compactable {
  compact(opts?: {full?: boolean}): CompactStats
}

/** Creates what it needs on a server (database, bucket) for `mon store init`. */
export interface Initializable {
  init(): Promise<InitResult>
}

/** Says which tier (raw or a rollup) answers a plan: lets the rule engine share raw reads. */
export interface TierRouting {
  tierFor(plan: QueryPlan): TierChoice
}

export type FullStore = Store & StoreCatalog & Partial<Maintainable & RetentionApplier>

export function isMaintainable<S extends object>(store: S): store is S & Maintainable {
  return typeof (store as Partial<Maintainable>).maintain === 'function'
}

export function isRetentionApplier<S extends object>(store: S): store is S & RetentionApplier {
  return typeof (store as Partial<RetentionApplier>).applyRetention === 'function'
}

export function isCompactable<S extends object>(store: S): store is S & Compactable {
  return typeof (store as Partial<Compactable>).compact === 'function'
}

export function isInitializable<S extends object>(store: S): store is S & Initializable {
  return typeof (store as Partial<Initializable>).init === 'function'
}

export function hasTierRouting<S extends object>(store: S): store is S & TierRouting {
  return typeof (store as Partial<TierRouting>).tierFor === 'function'
}

/**
 * How many points a failed write refused while storing the rest (a PartialWriteError, errors.ts, or
 * a backend's own error with `partialWriteDropped`, as InfluxWriteRejected); undefined when it stored nothing.
 */
export function droppedByPartialWrite(err: unknown): number | undefined {
  const n = (err as {partialWriteDropped?: unknown} | undefined)?.partialWriteDropped
  return typeof n === 'number' ? n : undefined
}

/** A plan with bucket `offset` that raw points cannot answer (retention) or with a transform: the caller reads raw points instead. */
export class UnalignedBucketsError extends Error {
  constructor(reason: string) {
    super(`buckets with an offset: ${reason}`)
    this.name = 'UnalignedBucketsError'
  }
}

/** The start of the bucket holding `t` for a plan's `every` and `offset`. */
export function planBucketStart(t: number, every: number, offset = 0): number {
  return Math.floor((t - offset) / every) * every + offset
}

/**
 * A store mon only reads (a Prometheus server): its write() refuses with a
 * {@link ReadOnlyStoreError}; callers that write on their own account (the rule engine's `alerts`
 * series, mon's self-metrics) ask {@link isReadOnlyStore} and skip.
 */
export interface ReadOnly {
  readonly readOnly: true
}

export function isReadOnlyStore<S extends object>(store: S): store is S & ReadOnly {
  return (store as Partial<ReadOnly>).readOnly === true
}

/** A write to a read-only store: says which store and what to do instead. Exit 2. */
export class ReadOnlyStoreError extends InputError {
  constructor(
    readonly storeType: string,
    location: string,
    what = 'write points',
  ) {
    super(`the store is ${storeType} at ${location} (store.type: ${storeType}), which mon only reads: it cannot ${what}`, {
      hint: `point mon at a store it can write (store.type: sqlite, influxdb or victoriametrics), or let ${storeType} scrape the data`,
    })
    this.name = 'ReadOnlyStoreError'
  }
}
