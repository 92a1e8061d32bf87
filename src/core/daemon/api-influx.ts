import type {Clock} from '../clock.js'
import {INFLUXDB_COMPAT_VERSION} from '../collectors/listener.js'
import type {MonConfig} from '../config/schema.js'
import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {Epoch, InfluxQLTarget, InfluxQueryResponse, InfluxSeries, InfluxStatementResult} from '../query/influxql/index.js'
import {queryServed} from '../runtime.js'
import type {FullStore} from '../store/types.js'
import type {ApiReply, ApiRequest, ApiServer, RouteOptions} from './http-api.js'

/**
 * The read side of InfluxDB 1.x's HTTP API on the daemon's API server, so Grafana's InfluxDB data
 * source (InfluxQL mode) and the `influx` 1.x CLI work against mon unchanged, whatever the store
 * (docs/grafana.md). The statements themselves are src/core/query/influxql/ (`runInfluxQL`).
 *
 *   GET|HEAD /ping[?verbose=true]   204 (200 `{"version": …}` with verbose), X-Influxdb-Version/-Build
 *   GET|POST /query?q=…&db=…&epoch=…&params=…&pretty=true   (POST: the same as a form body too)
 *   POST /write                     404 pointing at the listener input, which takes InfluxDB writes
 *
 * Auth is InfluxDB 1.x's: with api.token set, /query needs it as `Authorization: Token <token>`
 * (or `Token <user>:<token>`), `Bearer <token>`, Basic auth with the token as the password (any
 * user), or `u=…&p=<token>`; wrong → 401 `{"error": "authorization failed"}`, none →
 * 401 `{"error": "unable to parse authentication credentials"}`. Without a token (loopback only:
 * the API refuses to listen elsewhere without one) /query is open. /ping never needs it.
 *
 * `chunked=true` is answered in InfluxDB's chunks (one JSON object per series, series longer than
 * `chunk_size` rows cut), computed from the whole answer: the `influx` CLI always asks for chunks
 * and prints them as they come. `rp` is ignored (mon keeps one retention policy per database).
 * Errors are InfluxDB's: `{"error": "…"}` with 400 for a missing q, bad params or a parse error,
 * per-statement errors inside a 200 — never a 500 for anything a request contains.
 */

export interface InfluxRoutesOptions {
  /** the store and the names it answers to, read per request (a reload may change the config) */
  target: () => InfluxQLTarget | undefined
  clock: Clock
  log?: Logger
  /** where the listener input takes writes (`http://127.0.0.1:8186`), for /write's pointer */
  listener?: () => string | undefined
}

const VERSION_HEADERS = {'X-Influxdb-Version': INFLUXDB_COMPAT_VERSION, 'X-Influxdb-Build': 'mon'}
const EPOCHS = new Set<string>(['ns', 'u', 'µ', 'ms', 's', 'm', 'h'])

/** The token of a request as InfluxDB 1.x's clients send credentials (the password is the token). */
export function influxCredentials(req: {headers: ApiRequest['headers']; query: URLSearchParams}): string | undefined {
  const p = req.query.get('p')
  if (p) return p
  const raw = req.headers.authorization
  const header = (Array.isArray(raw) ? raw[0] : raw)?.trim()
  if (!header) return undefined
  const m = /^(Bearer|Token|Basic)\s+(\S+)$/i.exec(header)
  if (!m) return undefined
  const scheme = m[1]!.toLowerCase()
  const value = m[2]!
  if (scheme === 'bearer') return value
  if (scheme === 'token') {
    const colon = value.indexOf(':')
    return colon < 0 ? value : value.slice(colon + 1)
  }
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : decoded.slice(colon + 1)
}

/** InfluxDB's X-Influxdb-Error header: the error's first 1024 characters (printable ASCII only: a header cannot carry the rest). */
function errorHeader(error: string): Record<string, string> {
  return {'X-Influxdb-Error': error.slice(0, 1024).replace(/[^\x20-\x7e]/g, '?')}
}

function influxError(status: number, error: string, headers: Record<string, string> = {}): ApiReply {
  return {status, json: {error}, headers: {...VERSION_HEADERS, ...(status !== 401 ? errorHeader(error) : {}), ...headers}}
}

const QUERY_ROUTE: RouteOptions = {
  auth: 'if-token',
  credentials: influxCredentials,
  unauthorized: (reason) =>
    influxError(401, reason === 'missing' ? 'unable to parse authentication credentials' : 'authorization failed', {'WWW-Authenticate': 'Basic realm="InfluxDB"'}),
  body: 'text',
}

/** The database names mon answers InfluxQL for: api.influxdb.database, and an InfluxDB store's own database (or 2.x bucket). */
export function influxDatabases(config: MonConfig): string[] {
  const names = [config.api.influxdb.database]
  const store = config.store
  if (store.type === 'influxdb') {
    const own = store.bucket ?? store.database
    if (own && !names.includes(own)) names.push(own)
  }
  return names
}

/** The InfluxQL target the daemon serves: its store under the names {@link influxDatabases} gives. */
export function influxTarget(config: MonConfig, store: FullStore): InfluxQLTarget {
  const rp = config.store.type === 'influxdb' ? config.store.retention_policy : undefined
  return {store, databases: influxDatabases(config), retentionPolicy: rp ?? 'autogen'}
}

/** The listener input's base URL when it is enabled (where InfluxDB writes go). */
export function listenerUrl(config: MonConfig): string | undefined {
  const l = config.inputs.listener
  if (!l.enabled) return undefined
  const scheme = l.tls_cert ? 'https' : 'http'
  return `${scheme}://${l.listen}`
}

export function mountInfluxRoutes(api: ApiServer, opts: InfluxRoutesOptions): void {
  const log = opts.log ?? silentLogger
  const ping = (req: ApiRequest): ApiReply => {
    const verbose = req.query.get('verbose')
    if (verbose && verbose !== '0' && verbose !== 'false') return {status: 200, json: {version: INFLUXDB_COMPAT_VERSION}, headers: VERSION_HEADERS}
    return {status: 204, text: '', headers: VERSION_HEADERS}
  }
  api.route('GET', '/ping', ping, {auth: false})
  api.route('HEAD', '/ping', ping, {auth: false})

  const query = async (req: ApiRequest): Promise<ApiReply> => {
    // a dashboard sends dozens of statements a refresh, each reading thousands of points: once a
    // client queries, V8's optimizing compiler (off in the lean daemon, docs/daemon.md#memory) is
    // worth its pages: the bench's 24 h panel (bench/influxql.bench.ts) answers 2.5× sooner with it
    // (and the heap is sized for queries while they come: runtime.ts)
    queryServed()
    const form = formValues(req)
    const q = form.get('q')?.trim()
    if (!q) return influxError(400, 'missing required parameter "q"')
    let params: Record<string, unknown> | undefined
    const rawParams = form.get('params')
    if (rawParams) {
      try {
        const parsed = JSON.parse(rawParams) as unknown
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object')
        params = parsed as Record<string, unknown>
      } catch (error) {
        return influxError(400, `error parsing query parameters: ${errorMessage(error)}`)
      }
    }
    const target = opts.target()
    if (!target) return influxError(503, 'the store is not open yet')
    const epochText = form.get('epoch')?.trim()
    // InfluxDB: an unknown epoch counts as nanoseconds
    const epoch = epochText ? ((EPOCHS.has(epochText) ? epochText : 'ns') as Epoch) : undefined
    const db = form.get('db') || undefined
    let answer: {status: number; body: InfluxQueryResponse}
    try {
      // the InfluxQL engine loads on the first /query: a daemon nobody queries so keeps ~3 MiB less
      const {runInfluxQL} = await import('../query/influxql/index.js')
      answer = await runInfluxQL(target, {q, db, epoch, params, now: opts.clock.now()})
    } catch (error) {
      // a bug or the store failing (an InfluxDB store that is down): logged, InfluxDB's shape
      log.error('influxql: query failed', {q: q.slice(0, 500), error: error instanceof Error ? (error.stack ?? error.message) : String(error)})
      return influxError(500, `query failed: ${errorMessage(error)}`)
    }
    const headers = answer.body.error !== undefined ? {...VERSION_HEADERS, ...errorHeader(answer.body.error)} : VERSION_HEADERS
    const pretty = form.get('pretty') === 'true'
    if (form.get('chunked') === 'true' && answer.status === 200 && answer.body.results) {
      const size = Number(form.get('chunk_size'))
      const chunks = chunkResults(answer.body.results, Number.isInteger(size) && size > 0 ? size : DEFAULT_CHUNK_SIZE)
      return {status: 200, text: chunks.map((c) => (pretty ? JSON.stringify(c, null, 4) : JSON.stringify(c)) + '\n').join(''), contentType: 'application/json', headers}
    }
    if (pretty) return {status: answer.status, text: JSON.stringify(answer.body, null, 4) + '\n', contentType: 'application/json', headers}
    return {status: answer.status, json: answer.body, headers}
  }
  api.route('GET', '/query', query, QUERY_ROUTE)
  api.route('POST', '/query', query, QUERY_ROUTE)

  api.route(
    'POST',
    '/write',
    () => {
      const listener = opts.listener?.()
      return influxError(
        404,
        listener
          ? `mon's API answers queries only: write line protocol to its listener input, ${listener}/write`
          : "mon's API answers queries only: enable the listener input (inputs.listener) and write line protocol to its /write",
      )
    },
    QUERY_ROUTE,
  )
}

const DEFAULT_CHUNK_SIZE = 10_000

/**
 * InfluxDB's chunked answer (`chunked=true`): one JSON object per series of each statement, a
 * series longer than `chunkSize` rows cut into pieces marked `partial` (the series) — every chunk
 * of a statement but its last marked `partial` (the result), as influxd's emitter does. Clients
 * (the `influx` CLI) print each chunk as it comes, so the cut shows in their output.
 */
export function chunkResults(results: InfluxStatementResult[], chunkSize: number): InfluxQueryResponse[] {
  const chunks: InfluxQueryResponse[] = []
  for (const r of results) {
    if (r.error !== undefined || !r.series || r.series.length === 0) {
      chunks.push({results: [r]})
      continue
    }
    const pieces: InfluxSeries[] = []
    for (const s of r.series) {
      // the merged answer's own `partial` (a series past 10,000 rows) says nothing about chunks
      const {partial: _merged, ...series} = s
      const values = series.values ?? []
      if (values.length <= chunkSize) {
        pieces.push(series)
        continue
      }
      for (let i = 0; i < values.length; i += chunkSize) {
        const last = i + chunkSize >= values.length
        pieces.push({...series, values: values.slice(i, i + chunkSize), ...(last ? {} : {partial: true})})
      }
    }
    pieces.forEach((piece, i) => {
      const result: InfluxStatementResult = {statement_id: r.statement_id, series: [piece]}
      if (i === 0 && r.messages) result.messages = r.messages
      if (i < pieces.length - 1) result.partial = true
      chunks.push({results: [result]})
    })
  }
  return chunks
}

/** InfluxDB reads its parameters with Go's FormValue: a POSTed form first, then the URL's query string. */
function formValues(req: ApiRequest): URLSearchParams {
  const type = String(req.headers['content-type'] ?? '').toLowerCase()
  if (req.method !== 'POST' || typeof req.body !== 'string' || !type.startsWith('application/x-www-form-urlencoded')) return req.query
  const merged = new URLSearchParams(req.body)
  for (const [k, v] of req.query) if (!merged.has(k)) merged.append(k, v)
  return merged
}
