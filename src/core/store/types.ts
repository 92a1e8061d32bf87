import type {FieldType, Point} from '../model/point.js'
import type {Matcher} from '../model/matcher.js'

/** Aggregations every backend implements with the same semantics (InfluxQL's). */
export type AggFn = 'mean' | 'min' | 'max' | 'sum' | 'count' | 'first' | 'last' | 'percentile' | 'median' | 'stddev' | 'spread'
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

/** The seam every backend implements (architecture note). */
export interface Store {
  readonly kind: string
  /** idempotent: the same series + field + timestamp again overwrites */
  write(points: Point[]): Promise<void>
  query(q: QueryPlan): Promise<Frame[]>
  close(): Promise<void>
}

/** Discovery and housekeeping, implemented by every backend (SHOW MEASUREMENTS / FIELD KEYS / TAG VALUES). */
export interface StoreCatalog {
  info(): Promise<StoreInfo>
  measurements(): Promise<string[]>
  fieldKeys(measurement: string): Promise<FieldInfo[]>
  tagKeys(measurement: string): Promise<string[]>
  tagValues(measurement: string, key: string): Promise<string[]>
  /** How a plan is run on this backend, for --explain / --debug. */
  explain(q: QueryPlan): string
}

export type FullStore = Store & StoreCatalog
