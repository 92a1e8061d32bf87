/**
 * InfluxQL over any mon store: the read side of InfluxDB 1.x's HTTP API (`/query`), enough of it
 * for Grafana's InfluxDB data source (InfluxQL mode) and the `influx` 1.x CLI. Statements are parsed
 * here, compiled onto mon's store reads (QueryPlans) and answered in InfluxDB's JSON shape.
 *
 * The seam the daemon's HTTP routes use is {@link runInfluxQL}; nothing else of this folder is
 * imported from outside it.
 */
import type {Store, StoreCatalog} from '../../store/types.js'

/** `epoch=` of InfluxDB's /query: the unit of the `time` column; absent → RFC3339 strings. */
export type Epoch = 'ns' | 'u' | 'µ' | 'ms' | 's' | 'm' | 'h'

export interface InfluxQLRequest {
  /** one or more `;`-separated statements */
  q: string
  /** `db=` (may be absent: SHOW DATABASES needs none; a SELECT without one is InfluxDB's error) */
  db?: string
  epoch?: Epoch
  /** now (ms since the epoch) for `now()` in statements: injected, never read from the wall clock here */
  now: number
  /** `params=` of InfluxDB 1.x (bound parameters, `$name`), already JSON-decoded */
  params?: Record<string, unknown>
}

export interface InfluxSeries {
  name?: string
  tags?: Record<string, string>
  columns: string[]
  values?: unknown[][]
  partial?: boolean
}

export interface InfluxStatementResult {
  statement_id: number
  series?: InfluxSeries[]
  partial?: boolean
  messages?: Array<{level: string; text: string}>
  error?: string
}

/** InfluxDB 1.x /query body: `{"results": […]}`, or `{"error": "…"}` for a request-level failure. */
export interface InfluxQueryResponse {
  results?: InfluxStatementResult[]
  error?: string
}

export interface InfluxQLTarget {
  store: Store & StoreCatalog
  /** the database names this store answers to (SHOW DATABASES lists them; any other `db` is "database not found: x") */
  databases: string[]
  /** the retention policy name SHOW RETENTION POLICIES reports (default `autogen`) */
  retentionPolicy?: string
}

/**
 * Runs the statements of `req` against `target`. `status` is the HTTP status InfluxDB 1.x answers
 * with for the same request (200 with per-statement errors, 400 for a parse error, …); never throws
 * for anything a request can contain.
 */
export async function runInfluxQL(
  target: InfluxQLTarget,
  req: InfluxQLRequest,
): Promise<{status: number; body: InfluxQueryResponse}> {
  void target
  void req
  return {status: 400, body: {error: 'InfluxQL is not implemented yet'}}
}
