/**
 * Stores that speak the Prometheus HTTP API: a Prometheus server (read-only, {@link PrometheusStore})
 * and VictoriaMetrics (read-write, {@link VictoriaMetricsStore}: line protocol in, the same query
 * API out). mon evaluates PromQL itself (core/query), so a store only answers RAW reads — the points
 * of one metric in [start, end) — and the catalog; window aggregations are refused with
 * UnalignedBucketsError and mon computes them from the raw points, the same on every backend.
 *
 *   raw read  VictoriaMetrics: GET /api/v1/export?match[]={__name__="m_f",…}&start=&end= — the
 *             stored samples exactly, with start and end inclusive (end = end − 1 ms)
 *             Prometheus: GET /api/v1/query?query={__name__="m",…}[<end − start>ms]&time=<end − 1 ms>,
 *             a range selector (Prometheus 2.42 closes it on the left: [start − 1 ms, end − 1 ms]),
 *             the sample 1 ms before start dropped
 *   catalog   /api/v1/label/__name__/values, /api/v1/labels, /api/v1/label/<l>/values (match[])
 *   info      /api/v1/status/buildinfo, series count (VM /api/v1/series/count, Prometheus
 *             /api/v1/status/tsdb's head)
 *   writes    VictoriaMetrics only: line protocol POST /write (cluster: /insert/<tenant>/influx/write),
 *             in batches, retried, a 400 reported with the refused lines (influx/write.ts)
 *
 * Names: names.ts. Errors name the server, its URL and its own message.
 */
import {promisify} from 'node:util'
import {gzip as gzipCallback} from 'node:zlib'
import {systemClock} from '../../clock.js'
import {parseDuration, parseSize} from '../../config/duration.js'
import {isLoopbackHost} from '../../config/common.js'
import type {PrometheusStoreConfig, PromApiStoreConfig, VictoriaMetricsStoreConfig} from '../../config/schema.js'
import {EXIT_RUNTIME, EXIT_USAGE, UserError} from '../../errors.js'
import type {Point} from '../../model/point.js'
import {realSleep, RetriesExhausted, withRetry, type RetryEnv, type RetryPolicy} from '../../retry.js'
import {sortFrames} from '../frames.js'
import {ReadOnlyStoreError, UnalignedBucketsError, type FieldInfo, type Frame, type FullStore, type InitResult, type QueryPlan, type ReadOnly, type StoreInfo} from '../types.js'
import {classifyFailure, DEFAULT_RETRY, HttpClient, HttpStatusError, NetworkError, serverMessage, type HttpResponse} from '../influx/http.js'
import {analyzeRejection, InfluxWriteRejected, linesOf, makeBatch, PointBatches, sendBatches, textBatches, bodyBytes, wholeBody, type Batch, type WritePrecision} from '../influx/write.js'
import type {InfluxStoreOptions} from '../influx/connection.js'
import {apiTime, escapeRegex, metricName, parseSampleValue, seriesSelector, splitMetricName, type PromFlavor} from './names.js'

const gzip = promisify(gzipCallback)

/** The same injectable time, retry policies and retry reporting as the InfluxDB store (no retention tiers: the server keeps its own). */
export type PromApiStoreOptions = Omit<InfluxStoreOptions, 'retention'>

const QUERY_RETRY: RetryPolicy = {initialMs: 250, maxMs: 2000, factor: 2, jitter: 100, retryAfter: 'replaces', maxRetryAfterMs: Infinity, maxAttempts: 3, deadlineMs: 10_000}

/** Anything that went wrong talking to the server; `retriable` tells the pipeline to try again later. */
export class PromApiError extends UserError {
  constructor(
    message: string,
    readonly retriable: boolean,
    opts: {hint?: string; cause?: unknown; exitCode?: number; status?: number} = {},
  ) {
    super(message, {hint: opts.hint, cause: opts.cause, exitCode: opts.exitCode ?? EXIT_RUNTIME})
    this.name = 'PromApiError'
    this.status = opts.status
  }

  readonly status?: number
}

/** The server refused a query (400/422, or `status: error`): its message, the URL, exit 2. */
export class PromQueryError extends PromApiError {
  constructor(
    readonly serverMessage: string,
    readonly query: string,
    server: string,
    url: string,
    status?: number,
  ) {
    super(`${server} at ${url} rejected the query: ${serverMessage}`, false, {exitCode: EXIT_USAGE, hint: 'run with --debug (or --explain) to see the request mon sent', status})
    this.name = 'PromQueryError'
  }
}

/** An answer of the query API. */
interface ApiAnswer<T> {
  status: 'success' | 'error'
  data?: T
  error?: string
  errorType?: string
  warnings?: string[]
}

interface MatrixData {
  resultType: string
  result: Array<{metric: Record<string, string>; values?: Array<[number, string]>; value?: [number, string]}>
}

/** One line of /api/v1/export. */
interface ExportLine {
  metric: Record<string, string>
  values: Array<number | string | null>
  timestamps: number[]
}

/** What `mon query --promql` returns: the server's answer as series (InfluxDB's passthrough shape). */
export interface PromRawResult {
  language: 'promql'
  query: string
  series: Array<{name: string; tags: Record<string, string>; columns: string[]; values: Array<Array<string | number | boolean | null>>}>
  messages: string[]
}

/** The read side (and the catalog): all a Prometheus store is. */
export abstract class PromApiStore implements FullStore {
  readonly kind: PromFlavor
  /** the read base URL, as messages show it */
  readonly url: string
  protected readonly reader: HttpClient
  protected readonly readPrefix: string
  protected readonly env: RetryEnv
  protected readonly queryRetry: RetryPolicy
  protected readonly timeout: number

  constructor(
    readonly cfg: PromApiStoreConfig,
    protected readonly opts: PromApiStoreOptions = {},
  ) {
    this.kind = cfg.type
    this.timeout = parseDuration(cfg.timeout)
    const readUrl = cfg.type === 'victoriametrics' && cfg.read_url ? cfg.read_url : cfg.url
    this.reader = new HttpClient({url: readUrl, timeout: this.timeout, tlsVerify: cfg.tls_verify, headers: authHeaders(cfg), maxSockets: 8})
    this.url = this.reader.base.origin + this.reader.base.pathname.replace(/\/+$/, '')
    this.readPrefix = cfg.type === 'victoriametrics' && cfg.tenant !== undefined ? `/select/${cfg.tenant}/prometheus` : ''
    this.env = {clock: opts.clock ?? systemClock, sleep: opts.sleep ?? realSleep, random: opts.random ?? Math.random}
    this.queryRetry = {...QUERY_RETRY, ...opts.queryRetry}
  }

  abstract write(points: Point[]): Promise<void>

  /** How messages name the server. */
  get serverName(): string {
    return this.kind === 'victoriametrics' ? 'VictoriaMetrics' : 'Prometheus'
  }

  protected retrying<T>(action: string, policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
    return withRetry(attempt, policy, this.env, {classify: classifyFailure, onRetry: this.opts.onRetry && ((e) => this.opts.onRetry!({...e, action}))})
  }

  /** One GET of the read API, retried on 5xx/429/network; the raw answer (any status below 500). */
  protected async get(path: string, params: Record<string, string | undefined>, action = 'query'): Promise<HttpResponse> {
    const full = this.readPrefix + path
    try {
      return await this.retrying(action, this.queryRetry, async () => {
        const r = await this.reader.request({method: 'GET', path: full, query: params, headers: {Accept: 'application/json'}})
        if (r.status === 429 || r.status >= 500) throw new HttpStatusError(`${this.url}${full}`, r.status, r.headers, r.body)
        return r
      })
    } catch (error) {
      throw this.describe(error, action, full)
    }
  }

  /** A JSON API call: `data` of a `success` answer; a refused query is a {@link PromQueryError}. */
  protected async api<T>(path: string, params: Record<string, string | undefined>, shownQuery = ''): Promise<T> {
    const res = await this.get(path, params)
    const full = this.readPrefix + path
    let answer: ApiAnswer<T> | undefined
    try {
      answer = JSON.parse(res.body) as ApiAnswer<T>
    } catch {
      answer = undefined
    }

    if (isMissingPath(res)) throw this.describe(new HttpStatusError(`${this.url}${full}`, res.status, res.headers, res.body), 'query', full)
    if (res.status === 400 || res.status === 422 || (answer?.status === 'error' && res.status < 300)) {
      throw new PromQueryError(answer?.error ? clipMiddle(answer.error) : exportMessage(res.body), shownQuery, this.serverName, `${this.url}${full}`, res.status)
    }

    if (res.status < 200 || res.status > 299) throw this.describe(new HttpStatusError(`${this.url}${full}`, res.status, res.headers, res.body), 'query', full)
    if (!answer || answer.status !== 'success') {
      throw new PromApiError(`${this.serverName} at ${this.url}${full} sent an answer that is not the query API's JSON: ${res.body.slice(0, 200)}`, false)
    }

    return answer.data as T
  }

  /** A failure (after retries) as one line naming the server, the URL and the server's message. */
  protected describe(err: unknown, action: string, endpoint: string): Error {
    let last = err
    let retried = ''
    if (err instanceof RetriesExhausted) {
      last = err.last
      retried = ` (gave up after ${err.attempts} attempt${err.attempts === 1 ? '' : 's'})`
    }

    if (last instanceof UserError) return last
    const url = `${this.url}${endpoint}`
    if (last instanceof NetworkError) {
      return new PromApiError(`cannot reach ${this.serverName} at ${url}: ${last.message}${retried}`, true, {
        hint: `check store.url and that ${this.serverName} is running there`,
        cause: last,
      })
    }

    if (!(last instanceof HttpStatusError)) return err instanceof Error ? err : new Error(String(err))
    const status = last.status
    const msg = exportMessage(last.body) || `HTTP ${status}`
    if (status === 401 || status === 403) {
      return new PromApiError(`${this.serverName} at ${url} refused the credentials for ${action} (${status}: ${msg})`, false, {
        hint: 'check store.token, or store.username and store.password',
        cause: last,
        status,
      })
    }

    if (status === 404 || isMissingPath(last)) {
      return new PromApiError(`${this.serverName} at ${url} has no such endpoint (${last.status}: ${msg})`, false, {
        hint: `check store.url (and store.type: ${this.kind})${this.kind !== 'victoriametrics' ? '' : this.cfg.type === 'victoriametrics' && this.cfg.tenant !== undefined ? '; store.tenant is set: a single-node server takes no tenant' : '; a cluster (vminsert/vmselect) needs store.tenant'}`,
        exitCode: EXIT_USAGE,
        cause: last,
        status,
      })
    }

    const retriable = status === 429 || status >= 500
    return new PromApiError(`${action} to ${this.serverName} at ${url} failed: ${status} ${msg}${retried}`, retriable, {
      hint: retriable ? 'the server is overloaded or failing; mon retried with backoff' : undefined,
      cause: last,
      status,
    })
  }

  // ---------------------------------------------------------------- reads

  async query(plan: QueryPlan): Promise<Frame[]> {
    if (plan.every !== undefined || plan.aggregate || plan.transform) {
      throw new UnalignedBucketsError(`${this.serverName} answers raw reads; mon computes windows itself`)
    }

    if (plan.end <= plan.start) return []
    let frames = await this.readRaw(metricName(this.kind, plan.measurement, plan.field), plan)
    // VictoriaMetrics: a dotless name is x_value (line protocol); data from elsewhere is plain x
    if (frames.length === 0 && this.kind === 'victoriametrics' && plan.field === 'value') frames = await this.readRaw(plan.measurement, plan)
    if (plan.limit !== undefined) for (const f of frames) f.rows = f.rows.slice(-plan.limit)
    return frames
  }

  /** The range-selector read of a Prometheus server (VictoriaMetrics overrides it with /export). */
  protected async readRaw(name: string, plan: QueryPlan): Promise<Frame[]> {
    const {path, params} = this.rawRequest(name, plan)
    const data = await this.api<MatrixData>(path, params, params.query)
    const frames: Frame[] = []
    for (const r of data.result ?? []) {
      const rows: Frame['rows'] = []
      for (const [t, v] of r.values ?? []) {
        const ms = Math.round(t * 1000)
        if (ms >= plan.start && ms < plan.end) rows.push([ms, parseSampleValue(v)])
      }

      if (rows.length > 0) frames.push(toFrame(plan, r.metric, rows))
    }

    return sortFrames(frames)
  }

  /** The request a raw read sends (for explain). */
  protected rawRequest(name: string, plan: QueryPlan): {path: string; params: Record<string, string>} {
    // [end − 1 − (end − start), end − 1]: Prometheus 2.42 closes the range on the left, so this holds
    // start − 1 ms too, dropped after; Prometheus 3's left-open range would hold exactly [start, end)
    const query = `${seriesSelector(name, plan.matchers)}[${plan.end - plan.start}ms]`
    return {path: '/api/v1/query', params: {query, time: apiTime(plan.end - 1)}}
  }

  explain(plan: QueryPlan): string {
    if (plan.every !== undefined || plan.aggregate || plan.transform) throw new UnalignedBucketsError(`${this.serverName} answers raw reads`)
    const name = metricName(this.kind, plan.measurement, plan.field)
    const {path, params} = this.rawRequest(name, plan)
    const url = this.reader.urlFor(this.readPrefix + path, params)
    const shown = Object.entries(params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')
    const fallback = this.kind === 'victoriametrics' && plan.field === 'value' ? ` (when ${name} has no series: the same for ${plan.measurement})` : ''
    return `${this.kind}: GET ${url.href}\n  ${shown}${fallback}`
  }

  /** `mon query --promql`: the text as written, an instant query at `time` (ms), the answer as series. */
  async rawPromQL(text: string, time: number): Promise<PromRawResult> {
    const data = await this.api<{resultType: string; result: unknown}>('/api/v1/query', {query: text, time: apiTime(time)}, text)
    const iso = (sec: number) => new Date(Math.round(sec * 1000)).toISOString()
    const series: PromRawResult['series'] = []
    if (data.resultType === 'scalar' || data.resultType === 'string') {
      const [t, v] = data.result as [number, string]
      series.push({name: '', tags: {}, columns: ['time', 'value'], values: [[iso(t), data.resultType === 'scalar' ? parseSampleValue(v) : v]]})
    } else {
      for (const r of (data.result as MatrixData['result']) ?? []) {
        const {__name__: name = '', ...tags} = r.metric
        const values = r.values ?? (r.value ? [r.value] : [])
        series.push({name, tags, columns: ['time', 'value'], values: values.map(([t, v]) => [iso(t), parseSampleValue(v)])})
      }
    }

    return {language: 'promql', query: text, series, messages: []}
  }

  // ---------------------------------------------------------------- catalog

  /** Every metric name the server knows (over all time). */
  protected async names(): Promise<string[]> {
    return this.api<string[]>('/api/v1/label/__name__/values', {start: '0'})
  }

  /** A selector for every metric name of a mon measurement. */
  protected measurementSelector(measurement: string): string {
    if (this.kind === 'prometheus') return seriesSelector(measurement, [])
    return `{__name__=~${JSON.stringify(`${escapeRegex(measurement)}(_.+)?`)}}`
  }

  async measurements(): Promise<string[]> {
    const out = new Set<string>()
    for (const name of await this.names()) out.add(splitMetricName(this.kind, name).measurement)
    return [...out].sort()
  }

  async fieldKeys(measurement: string): Promise<FieldInfo[]> {
    const fields = new Set<string>()
    for (const name of await this.names()) {
      if (name === measurement) fields.add('value')
      else if (this.kind === 'victoriametrics' && name.startsWith(`${measurement}_`)) fields.add(name.slice(measurement.length + 1))
    }

    // the query API carries floats only
    return [...fields].sort().map((name) => ({name, type: 'float' as const}))
  }

  async tagKeys(measurement: string): Promise<string[]> {
    const keys = await this.api<string[]>('/api/v1/labels', {'match[]': this.measurementSelector(measurement), start: '0'})
    return keys.filter((k) => k !== '__name__').sort()
  }

  async tagValues(measurement: string, key: string): Promise<string[]> {
    const values = await this.api<string[]>(`/api/v1/label/${encodeURIComponent(key)}/values`, {'match[]': this.measurementSelector(measurement), start: '0'})
    return values.sort()
  }

  async info(): Promise<StoreInfo> {
    const build = await this.api<{version?: string; revision?: string}>('/api/v1/status/buildinfo', {})
    const tsdb = await this.api<{headStats?: {numSeries?: number; minTime?: number; maxTime?: number}}>('/api/v1/status/tsdb', {})
    const head = tsdb.headStats
    const finite = (t: number | undefined) => (t !== undefined && Math.abs(t) < 8.64e15 && head?.numSeries ? t : undefined)
    return {
      backend: this.kind,
      location: this.url,
      series: head?.numSeries,
      oldest: finite(head?.minTime),
      newest: finite(head?.maxTime),
      details: {version: build.version || 'unknown', read_only: true, series_counted: 'in the head block (about the last 2 hours)'},
    }
  }

  async close(): Promise<void> {
    this.reader.close()
  }
}

/** Prometheus: read-only. */
export class PrometheusStore extends PromApiStore implements ReadOnly {
  readonly readOnly = true as const

  constructor(cfg: PrometheusStoreConfig, opts: PromApiStoreOptions = {}) {
    super(cfg, opts)
  }

  async write(_points: Point[]): Promise<void> {
    throw new ReadOnlyStoreError('prometheus', this.url)
  }
}

/** VictoriaMetrics: the Prometheus read API plus line protocol writes. */
export class VictoriaMetricsStore extends PromApiStore {
  private readonly writer: HttpClient
  private readonly writePath: string
  readonly writeUrl: string
  private readonly writeRetry: RetryPolicy
  private readonly limits: {maxLines: number; maxBytes: number}

  constructor(
    readonly vmCfg: VictoriaMetricsStoreConfig,
    opts: PromApiStoreOptions = {},
  ) {
    super(vmCfg, opts)
    this.writer = new HttpClient({url: vmCfg.url, timeout: this.timeout, tlsVerify: vmCfg.tls_verify, headers: authHeaders(vmCfg), maxSockets: vmCfg.concurrency + 2})
    this.writePath = vmCfg.tenant === undefined ? '/write' : `/insert/${vmCfg.tenant}/influx/write`
    this.writeUrl = this.writer.base.origin + this.writer.base.pathname.replace(/\/+$/, '') + this.writePath
    this.writeRetry = {...DEFAULT_RETRY, maxAttempts: vmCfg.max_retries + 1, deadlineMs: parseDuration(vmCfg.max_retry_time), ...opts.retry}
    this.limits = {maxLines: vmCfg.batch_size, maxBytes: parseSize(vmCfg.batch_bytes)}
  }

  private get gzip(): boolean {
    const g = this.vmCfg.gzip
    if (g !== 'auto') return g
    return !isLoopbackHost(new URL(this.vmCfg.url).hostname)
  }

  // ---------------------------------------------------------------- writes

  async write(points: Point[]): Promise<void> {
    if (points.length === 0) return
    const batches = new PointBatches(points, this.vmCfg.precision, this.limits, {bytes: true})
    await sendBatches(batches, this.vmCfg.concurrency, (b) => this.send(b), {url: this.writeUrl, extra: () => batches.rejection()})
  }

  /** Line protocol as it is (the pipeline's spooled text), in batches, retried as write(). */
  async writeLineProtocol(text: string | Buffer | readonly Buffer[], precision: WritePrecision = 'ns', opts: {entries?: number} = {}): Promise<void> {
    if (text.length === 0) return
    await sendBatches(textBatches(text, precision, this.limits, opts.entries), this.vmCfg.concurrency, (b) => this.send(b), {url: this.writeUrl})
  }

  private async send(batch: Batch): Promise<void> {
    const zipped = this.gzip && bodyBytes(batch.body) >= 1000
    const whole = zipped ? wholeBody(batch.body) : undefined
    const body = whole !== undefined ? await gzip(typeof whole === 'string' ? Buffer.from(whole, 'utf8') : whole, {level: 1}) : batch.body
    try {
      await this.retrying('write', this.writeRetry, async () => {
        const res = await this.writer.request({
          method: 'POST',
          path: this.writePath,
          query: {precision: batch.precision},
          body,
          headers: {'Content-Type': 'text/plain; charset=utf-8', ...(zipped ? {'Content-Encoding': 'gzip'} : {})},
        })
        if (res.status < 200 || res.status > 299) throw new HttpStatusError(this.writeUrl, res.status, res.headers, res.body)
      })
    } catch (error) {
      if (error instanceof HttpStatusError && error.status === 400 && !isMissingPath(error)) {
        throw new InfluxWriteRejected(this.writeUrl, [analyzeRejection(error.serverMessage, batch)], batch.count)
      }

      const lines = error instanceof HttpStatusError && error.status === 413 ? linesOf(batch) : []
      if (lines.length > 1) {
        const half = Math.ceil(lines.length / 2)
        const part = (from: number, to?: number): Batch => makeBatch(lines.slice(from, to), batch.precision, batch.points?.slice(from, to))
        await sendBatches([part(0, half), part(half)], 1, (b) => this.send(b))
        return
      }

      throw this.describe(error, 'write', this.writePath)
    }
  }

  /** `mon store init`: VictoriaMetrics creates series as they come; this checks the server answers. */
  async init(): Promise<InitResult> {
    const info = await this.info()
    return {
      backend: this.kind,
      location: this.url,
      database: this.vmCfg.tenant === undefined ? '(single node)' : `tenant ${this.vmCfg.tenant}`,
      created: false,
      serverVersion: String(info.details?.version ?? ''),
      notes: ['VictoriaMetrics creates series as points arrive: there is nothing to create', 'retention is the server\'s -retentionPeriod'],
    }
  }

  // ---------------------------------------------------------------- reads

  /** /api/v1/export: the stored samples of [start, end) exactly (start and end are inclusive there). */
  protected override async readRaw(name: string, plan: QueryPlan): Promise<Frame[]> {
    const {path, params} = this.rawRequest(name, plan)
    const res = await this.get(path, params)
    if (res.status < 200 || res.status > 299) this.refused(res, path, params['match[]'])
    const bySeries = new Map<string, Frame>()
    for (const line of parseExport(res.body, () => this.notExport(res.body, path))) {
      const key = JSON.stringify(Object.entries(line.metric).sort())
      let frame = bySeries.get(key)
      if (!frame) bySeries.set(key, (frame = toFrame(plan, line.metric, [])))
      line.timestamps.forEach((t, i) => {
        const v = line.values[i]
        const value = typeof v === 'number' ? v : v === null ? Number.NaN : parseSampleValue(v)
        // NaN: a Prometheus staleness marker (scraped data); line protocol cannot carry NaN
        if (t >= plan.start && t < plan.end && !Number.isNaN(value)) frame.rows.push([t, value])
      })
    }

    const frames = [...bySeries.values()].filter((f) => f.rows.length > 0)
    // one series may come in several lines (one per stored block)
    for (const f of frames) f.rows.sort((a, b) => (a[0] as number) - (b[0] as number))
    return sortFrames(frames)
  }

  protected override rawRequest(name: string, plan: QueryPlan): {path: string; params: Record<string, string>} {
    return {path: '/api/v1/export', params: {'match[]': seriesSelector(name, plan.matchers), start: apiTime(plan.start), end: apiTime(plan.end - 1)}}
  }

  private refused(res: HttpResponse, path: string, query: string | undefined): never {
    const url = `${this.url}${this.readPrefix}${path}`
    if (isMissingPath(res)) throw this.describe(new HttpStatusError(url, res.status, res.headers, res.body), 'query', this.readPrefix + path)
    if (res.status === 400 || res.status === 422) throw new PromQueryError(exportMessage(res.body), query ?? '', this.serverName, url, res.status)
    throw this.describe(new HttpStatusError(url, res.status, res.headers, res.body), 'query', this.readPrefix + path)
  }

  private notExport(body: string, path: string): never {
    throw new PromApiError(`${this.serverName} at ${this.url}${this.readPrefix}${path} sent an answer that is not /api/v1/export's JSON lines: ${body.slice(0, 200)}`, false)
  }

  /** Every raw point in [start, end), a series at a time, for `mon store archive`. */
  async *scan(start: number, end: number): AsyncIterable<Point[]> {
    const path = '/api/v1/export'
    // VictoriaMetrics holds nothing before 1970
    const res = await this.get(path, {'match[]': '{__name__!=""}', start: apiTime(Math.max(0, start)), end: apiTime(end - 1)}, 'export')
    if (res.status < 200 || res.status > 299) this.refused(res, path, '{__name__!=""}')
    for (const line of parseExport(res.body, () => this.notExport(res.body, path))) {
      const {__name__: name = '', ...tags} = line.metric
      const {measurement, field} = splitMetricName('victoriametrics', name)
      const points: Point[] = []
      line.timestamps.forEach((t, i) => {
        const v = line.values[i]
        const value = typeof v === 'number' ? v : v === null ? Number.NaN : parseSampleValue(v)
        if (t >= start && t < end && Number.isFinite(value)) points.push({measurement, tags, fields: {[field]: value}, ts: t})
      })
      if (points.length > 0) yield points
    }
  }

  // ---------------------------------------------------------------- catalog

  override async info(): Promise<StoreInfo> {
    const build = await this.api<{version?: string}>('/api/v1/status/buildinfo', {})
    let version = build.version
    if (!version && this.vmCfg.tenant === undefined) {
      // single-node: `vm_app_version{version="victoria-metrics-…", short_version="v1.79.5"}` on /metrics
      const res = await this.get('/metrics', {}, 'info').catch(() => undefined)
      const m = res && /vm_app_version\{version="([^"]*)",\s*short_version="([^"]*)"\}/.exec(res.body)
      version = m?.[2] || m?.[1] || undefined
    }

    const count = await this.api<number[]>('/api/v1/series/count', {})
    return {
      backend: this.kind,
      location: this.url,
      series: Array.isArray(count) ? count[0] : undefined,
      details: {
        version: version || 'unknown (the server does not say)',
        write_url: this.writeUrl,
        ...(this.vmCfg.tenant === undefined ? {} : {tenant: this.vmCfg.tenant}),
      },
    }
  }

  override async close(): Promise<void> {
    this.writer.close()
    await super.close()
  }
}

function authHeaders(cfg: PromApiStoreConfig): Record<string, string> {
  if (cfg.token) return {Authorization: `Bearer ${cfg.token}`}
  if (cfg.username) return {Authorization: `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`}
  return {}
}

function toFrame(plan: QueryPlan, metric: Record<string, string>, rows: Frame['rows']): Frame {
  const {__name__: _name, ...tags} = metric
  return {name: plan.measurement, tags, columns: ['time', plan.field], rows}
}

function* parseExport(body: string, bad: () => never): Generator<ExportLine> {
  for (const text of body.split('\n')) {
    if (text.trim() === '') continue
    let line: ExportLine
    try {
      line = JSON.parse(text) as ExportLine
    } catch {
      bad()
    }

    if (!line || typeof line.metric !== 'object' || !Array.isArray(line.timestamps) || !Array.isArray(line.values)) bad()
    yield line
  }
}

/** VictoriaMetrics answers a path it does not serve (a cluster path on a single node) with 400 "unsupported path requested". */
function isMissingPath(res: {status: number; body: string}): boolean {
  return res.status === 404 || (res.status === 400 && /unsupported path requested/.test(res.body))
}

/** VictoriaMetrics' plain-text error of /export, without its `remoteAddr: …; requestURI: …;` prefix. */
function exportMessage(body: string): string {
  const text = body.trim()
  const json = text.startsWith('{') ? serverMessage(text) : text
  return clipMiddle(json.replace(/^remoteAddr: "[^"]*"; requestURI: [^;]*; /, '').trim())
}

/**
 * A long server message cut in the middle: VictoriaMetrics chains its errors (`a: b: the cause`), so
 * the cause is at the end and the context at the start.
 */
function clipMiddle(text: string, max = 600): string {
  if (text.length <= max) return text
  return `${text.slice(0, Math.floor(max / 3))} … ${text.slice(text.length - Math.floor((2 * max) / 3))}`
}
