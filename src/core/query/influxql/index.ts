/**
 * InfluxQL over any mon store: the read side of InfluxDB 1.x's HTTP API (`/query`), enough of it
 * for Grafana's InfluxDB data source (InfluxQL mode) and the `influx` 1.x CLI. Statements are parsed
 * here, compiled onto mon's store reads (QueryPlans) and answered in InfluxDB's JSON shape.
 *
 * The seam the daemon's HTTP routes use is {@link runInfluxQL}; nothing else of this folder is
 * imported from outside it.
 */
import type {QueryPlan, Store, StoreCatalog} from '../../store/types.js'
import type {Statement} from './ast.js'
import {runSelect, StatementError, zoneOffsetMs, type EvalContext, type ResultSeries} from './eval.js'
import {InfluxQLParseError, parseInfluxQL} from './parser.js'
import {runShow} from './show.js'

export {parseInfluxQL, InfluxQLParseError} from './parser.js'

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
  /**
   * false: never push `GROUP BY time(d), tags` aggregations down to the store as aggregated plans;
   * every statement reads raw points and is evaluated in mon (tests compare both; default true)
   */
  pushdown?: boolean
  /** sees every store read before it runs (tests, --debug) */
  observe?: (plan: QueryPlan) => void
}

/**
 * Runs the statements of `req` against `target`. `status` is the HTTP status InfluxDB 1.x answers
 * with for the same request (200 with per-statement errors, 400 for a parse error, …); never throws
 * for anything a request can contain.
 */
export async function runInfluxQL(target: InfluxQLTarget, req: InfluxQLRequest): Promise<{status: number; body: InfluxQueryResponse}> {
  if (typeof req.q !== 'string' || req.q.trim() === '') return {status: 400, body: {error: 'missing required parameter "q"'}}
  let statements: Statement[]
  try {
    statements = parseInfluxQL(req.q, {params: req.params})
  } catch (error) {
    if (error instanceof InfluxQLParseError) return {status: 400, body: {error: `error parsing query: ${error.message}`}}
    return {status: 400, body: {error: `error parsing query: ${(error as Error).message}`}}
  }

  const ctx: EvalContext = {
    store: target.store,
    databases: target.databases,
    retentionPolicy: target.retentionPolicy ?? 'autogen',
    db: req.db || undefined,
    now: req.now,
    pushdown: target.pushdown ?? true,
    observe: target.observe,
  }
  const results: InfluxStatementResult[] = []
  for (const [i, st] of statements.entries()) {
    const result = await runStatement(st, i, ctx, req.epoch)
    if (result.error !== undefined && i < statements.length - 1) {
      // InfluxDB 1.x stops at a failed statement and, when more follow, answers it with
      // "not executed" (its own message is lost), the ones after it not at all
      results.push({statement_id: i, error: 'not executed'})
      break
    }

    results.push(result)
  }

  return {status: 200, body: {results}}
}

async function runStatement(st: Statement, id: number, ctx: EvalContext, epoch: Epoch | undefined): Promise<InfluxStatementResult> {
  try {
    let series: ResultSeries[]
    if (st.kind === 'unsupported') throw new StatementError(`not supported by mon: ${st.text} (mon's InfluxQL answers SELECT and SHOW statements; see docs/influxql.md)`)
    else if (st.kind === 'select') series = await runSelect(st, ctx)
    else series = await runShow(st, ctx)
    const out: InfluxStatementResult = {statement_id: id}
    if (series.length > 0) out.series = series.map((s) => formatSeries(s, st.kind === 'select', epoch))
    return out
  } catch (error) {
    return {statement_id: id, error: error instanceof Error ? error.message : String(error)}
  }
}

function formatSeries(s: ResultSeries, timed: boolean, epoch: Epoch | undefined): InfluxSeries {
  const out: InfluxSeries = {} as InfluxSeries
  if (s.name !== '') out.name = s.name
  if (s.tags) out.tags = s.tags
  out.columns = s.columns
  out.values = timed ? s.rows.map((r) => [formatTime(r[0] as number, epoch, s.tz), ...r.slice(1)]) : s.rows
  // InfluxDB 1.x computes a SELECT's series in chunks of 10,000 rows and, merging them into one
  // response, leaves `partial` on a series that took more than one (all its rows are there)
  if (timed && s.rows.length > CHUNK_ROWS) out.partial = true
  return out
}

const CHUNK_ROWS = 10_000

const EPOCH_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** The `time` column: RFC3339 with the fraction's trailing zeros trimmed (Go's RFC3339Nano), or an integer in `epoch` units. */
export function formatTime(ms: number, epoch: Epoch | undefined, tz?: string): string | number {
  switch (epoch) {
    case undefined:
      return tz ? rfc3339InZone(ms, tz) : rfc3339(ms)
    case 'ns':
      return ms * 1_000_000
    case 'u':
    case 'µ':
      return ms * 1000
    default:
      return Math.trunc(ms / EPOCH_MS[epoch])
  }
}

export function rfc3339(ms: number): string {
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) return String(ms)
  const iso = d.toISOString()
  if (iso.endsWith('.000Z')) return `${iso.slice(0, -5)}Z`
  if (iso.endsWith('00Z')) return `${iso.slice(0, -3)}Z`
  if (iso.endsWith('0Z')) return `${iso.slice(0, -2)}Z`
  return iso
}

/** RFC3339 in a zone's local time with its offset (`2026-01-05T13:00:00+01:00`); `Z` where the offset is 0. */
export function rfc3339InZone(ms: number, tz: string): string {
  const off = zoneOffsetMs(tz, ms)
  if (off === 0) return rfc3339(ms)
  const local = rfc3339(ms + off).replace(/Z$/, '')
  const sign = off < 0 ? '-' : '+'
  const abs = Math.abs(off)
  const hh = String(Math.floor(abs / 3_600_000)).padStart(2, '0')
  const mm = String(Math.floor((abs % 3_600_000) / 60_000)).padStart(2, '0')
  return `${local}${sign}${hh}:${mm}`
}
