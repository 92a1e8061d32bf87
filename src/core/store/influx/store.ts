/**
 * The InfluxDB backend: one {@link FullStore} for InfluxDB 1.x and 2.x/3.x.
 *
 *   writes   1.x  POST /write (line protocol, precision, gzip)               v1.ts
 *            2.x  @influxdata/influxdb-client WriteApi → /api/v2/write       v2.ts
 *            both: batches by count and bytes, several in flight, retries with backoff, jitter,
 *            Retry-After, an attempt count and a deadline (core/retry.ts); a 400 is reported with the
 *            rejected lines and never retried (write.ts)
 *   queries  plans compiled to InfluxQL (influxql.ts) → POST /query (1.x, and the v1-compatible
 *            endpoint of 2.x/3.x with `Authorization: Token`), epoch=ms, chunked
 *   raw      --influxql on any version, --flux on 2.x through the client's QueryApi
 *
 * The API version is read from `/ping`'s X-Influxdb-Version when `version: auto`; the first
 * operation pings (a failed ping is retried by the next operation).
 *
 * Retention tiers (retention.ts): 1.x retention policies + continuous queries, 2.x buckets +
 * downsampling by mon (maintain); queries over old ranges are answered from the rollup tier that
 * holds them; scan() reads raw points back out exactly (scan.ts) for `mon store archive`.
 *
 * The class is a facade over its parts: connection.ts (ping, API version, retries, /query, 2.x
 * REST), writes.ts, tiers.ts (tier state, routing, retention apply, 2.x downsampling), query.ts
 * (queries, explain, scan, passthrough) and catalog.ts (SHOW …, info, init).
 */
import type {InfluxStoreConfig} from '../../config/schema.js'
import type {Point} from '../../model/point.js'
import type {RetentionPolicy} from '../retention.js'
import type {FieldInfo, FullStore, Frame, Initializable, InitResult, Maintainable, RetentionApplier, MaintenanceReport, QueryPlan, StoreInfo} from '../types.js'
import type {ServerContext} from './errors.js'
import type {InfluxStatementResult} from './influxql.js'
import type {QueryChunk} from './scan.js'
import type {WritePrecision} from './write.js'
import {InfluxCatalog} from './catalog.js'
import {InfluxConnection, type InfluxStoreOptions, type ServerInfo} from './connection.js'
import {InfluxQueries, type RawQueryResult} from './query.js'
import {InfluxTiers} from './tiers.js'
import {InfluxWrites} from './writes.js'

export {apiFromVersion, lacksV2Api, type InfluxStoreOptions, type ServerInfo} from './connection.js'
export type {RawQueryResult} from './query.js'

export class InfluxStore implements FullStore, Initializable, Maintainable, RetentionApplier {
  readonly kind = 'influxdb'
  readonly url: string
  private readonly conn: InfluxConnection
  private readonly writes: InfluxWrites
  private readonly tiering: InfluxTiers
  private readonly catalog: InfluxCatalog
  private readonly queries: InfluxQueries

  constructor(
    readonly cfg: InfluxStoreConfig,
    opts: InfluxStoreOptions = {},
  ) {
    this.conn = new InfluxConnection(cfg, opts)
    this.url = this.conn.url
    this.writes = new InfluxWrites(this.conn)
    this.tiering = new InfluxTiers(this.conn, this.writes)
    this.catalog = new InfluxCatalog(this.conn)
    this.queries = new InfluxQueries(this.conn, this.tiering, this.catalog)
  }

  // ---------------------------------------------------------------- connection

  /** Pings once (memoized; a failure is retried by the next call) and settles the API version. */
  ready(): Promise<ServerInfo> {
    return this.conn.ready()
  }

  /** What messages say about this server. */
  context(): ServerContext {
    return this.conn.context()
  }

  /** InfluxQL through /query (InfluxConnection.influxql). */
  influxql(statement: string, opts: {epoch?: 'ms'; db?: string; exact?: boolean} = {}): Promise<InfluxStatementResult[]> {
    return this.conn.influxql(statement, opts)
  }

  /** One statement's chunked answer as it arrives (InfluxConnection.influxqlStream). */
  influxqlStream(statement: string, opts: {db?: string} = {}): AsyncGenerator<QueryChunk> {
    return this.conn.influxqlStream(statement, opts)
  }

  // ---------------------------------------------------------------- writes

  write(points: Point[]): Promise<void> {
    return this.writes.write(points)
  }

  writeLineProtocol(text: string | Buffer | readonly Buffer[], precision: WritePrecision = 'ns', opts?: {entries?: number}): Promise<void> {
    return this.writes.writeLineProtocol(text, precision, opts)
  }

  // ---------------------------------------------------------------- queries

  query(q: QueryPlan): Promise<Frame[]> {
    return this.queries.query(q)
  }

  explain(q: QueryPlan): string {
    return this.queries.explain(q)
  }

  scan(start: number, end: number): AsyncIterable<Point[]> {
    return this.queries.scan(start, end)
  }

  rawInfluxQL(text: string): Promise<RawQueryResult> {
    return this.queries.rawInfluxQL(text)
  }

  flux(text: string): Promise<RawQueryResult> {
    return this.queries.flux(text)
  }

  // ---------------------------------------------------------------- retention tiers

  applyRetention(policy: RetentionPolicy, opts: {dryRun: boolean}): Promise<string[]> {
    return this.tiering.applyRetention(policy, opts)
  }

  maintain(now?: number): Promise<MaintenanceReport> {
    return this.tiering.maintain(now)
  }

  // ---------------------------------------------------------------- catalog

  measurements(): Promise<string[]> {
    return this.catalog.measurements()
  }

  fieldKeys(measurement: string): Promise<FieldInfo[]> {
    return this.catalog.fieldKeys(measurement)
  }

  tagKeys(measurement: string): Promise<string[]> {
    return this.catalog.tagKeys(measurement)
  }

  tagValues(measurement: string, key: string): Promise<string[]> {
    return this.catalog.tagValues(measurement, key)
  }

  info(opts: {countPoints?: boolean} = {}): Promise<StoreInfo> {
    return this.catalog.info(opts)
  }

  /** Creates the 1.x database or the 2.x bucket when missing. */
  init(): Promise<InitResult> {
    return this.catalog.init()
  }

  close(): Promise<void> {
    return this.conn.close()
  }
}
