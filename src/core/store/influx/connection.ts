import {systemClock, type Clock} from '../../clock.js'
import {parseDuration, parseSize} from '../../config/duration.js'
import {isLoopbackHost} from '../../config/common.js'
import type {InfluxStoreConfig} from '../../config/schema.js'
import {EXIT_USAGE, InputError} from '../../errors.js'
import {describeFailure, InfluxError, InfluxQueryError, isMissingDatabase, missingDatabase, type ServerContext} from './errors.js'
import {realSleep, withRetry, type RetryEnv, type RetryEvent, type RetryPolicy} from '../../retry.js'
import {classifyFailure, DEFAULT_RETRY, HttpClient, HttpStatusError, serverMessage, type HttpResponse} from './http.js'
import {parseQueryAnswer, type InfluxStatementResult} from './influxql.js'
import {answerChunks, parseJsonExact, type QueryChunk} from './scan.js'
import {V1Writer} from './v1.js'
import {V2Api} from './v2.js'
import type {BatchLimits} from './write.js'


export interface InfluxStoreOptions {
  clock?: Clock
  /** waits between retries (tests pass one that only records) */
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  /** overrides of the write retry policy (the config's max_retries / max_retry_time apply first) */
  retry?: Partial<RetryPolicy>
  /** retry policy of /ping and queries: short, a person is usually waiting */
  queryRetry?: Partial<RetryPolicy>
  /** told about every retry (the daemon logs them) */
  onRetry?: (e: RetryEvent & {action: string}) => void
  /** retention tiers (config `retention`; default raw 7d, 1m 30d, 1h 1y) */
  retention?: Readonly<Record<string, string>>
}

export interface ServerInfo {
  api: 1 | 2
  /** X-Influxdb-Version of /ping, when the server sends it */
  serverVersion?: string
}

const QUERY_RETRY: RetryPolicy = {initialMs: 250, maxMs: 2000, factor: 2, jitter: 100, retryAfter: 'replaces', maxRetryAfterMs: Infinity, maxAttempts: 3, deadlineMs: 10_000}

/**
 * What the parts of an InfluxStore (writes, tiers, queries, catalog) share: the HTTP client, the
 * API version settled by the first ping, retries, InfluxQL over /query and the 2.x REST calls.
 */
export class InfluxConnection {
  /** `gzip: auto` compresses unless the server is on loopback, where compression only costs CPU. */
  get gzip(): boolean {
    const g = this.cfg.gzip
    if (g !== 'auto') return g
    return !isLoopbackHost(new URL(this.cfg.url).hostname)
  }

  readonly url: string
  readonly http: HttpClient
  readonly env: RetryEnv
  readonly writeRetry: RetryPolicy
  readonly queryRetry: RetryPolicy
  readonly limits: BatchLimits
  readonly timeout: number
  private server?: Promise<ServerInfo>
  known?: ServerInfo
  v1?: V1Writer
  v2?: V2Api

  constructor(
    readonly cfg: InfluxStoreConfig,
    readonly opts: InfluxStoreOptions = {},
  ) {
    this.timeout = parseDuration(cfg.timeout)
    const auth = authHeaders(cfg)
    this.http = new HttpClient({url: cfg.url, timeout: this.timeout, tlsVerify: cfg.tls_verify, headers: auth, maxSockets: cfg.concurrency + 2})
    this.url = this.http.base.origin + this.http.base.pathname.replace(/\/+$/, '')
    this.env = {clock: opts.clock ?? systemClock, sleep: opts.sleep ?? realSleep, random: opts.random ?? Math.random}
    // store.max_retries counts retries; the policy counts attempts, the first included
    this.writeRetry = {...DEFAULT_RETRY, maxAttempts: cfg.max_retries + 1, deadlineMs: parseDuration(cfg.max_retry_time), ...opts.retry}
    this.queryRetry = {...QUERY_RETRY, ...opts.queryRetry}
    this.limits = {maxLines: cfg.batch_size, maxBytes: parseSize(cfg.batch_bytes)}
  }

  /** Pings once (memoized; a failure is retried by the next call) and settles the API version. */
  ready(): Promise<ServerInfo> {
    this.server ??= this.detect().then(
      (info) => {
        this.known = info
        return info
      },
      (error: unknown) => {
        this.server = undefined
        throw error
      },
    )
    return this.server
  }

  private async detect(): Promise<ServerInfo> {
    let res: HttpResponse
    try {
      res = await this.retrying('ping', this.queryRetry, () => this.http.request({method: 'GET', path: '/ping'}))
    } catch (error) {
      throw describeFailure(error, this.context(), 'ping', '/ping')
    }

    const header = res.headers['x-influxdb-version']
    const serverVersion = Array.isArray(header) ? header[0] : header
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      throw describeFailure(new HttpStatusError(`${this.url}/ping`, res.status, res.headers, res.body), {...this.context(), serverVersion}, 'ping', '/ping')
    }

    const api = this.cfg.version === '1' ? 1 : this.cfg.version === '2' ? 2 : apiFromVersion(serverVersion) ?? (this.cfg.token || this.cfg.bucket || this.cfg.org ? 2 : 1)
    if (api === 2 && lacksV2Api(serverVersion)) {
      throw new InfluxError(`store.version is 2, but InfluxDB at ${this.url} is version ${serverVersion}, which has no 2.x API (it came with 1.8)`, false, {
        hint: 'set store.version: 1 (or auto) and store.database, or point store.url at an InfluxDB 2.x',
        exitCode: EXIT_USAGE,
      })
    }

    if (api === 2 && !this.cfg.bucket) {
      throw new InputError(`InfluxDB at ${this.url} speaks the 2.x API${serverVersion ? ` (version ${serverVersion})` : ''}, which needs store.bucket`, {
        hint: 'set store.bucket and store.org (and store.token), or store.version: 1 to use the 1.x API with store.database',
      })
    }

    if (api === 2) {
      this.v2 = new V2Api({
        url: this.url,
        token: this.cfg.token,
        org: this.cfg.org ?? '',
        bucket: this.cfg.bucket!,
        gzip: this.gzip,
        timeout: this.timeout,
        tlsVerify: this.cfg.tls_verify,
      })
    } else {
      this.v1 = new V1Writer(this.http, {database: this.cfg.database, retentionPolicy: this.cfg.retention_policy, gzip: this.gzip})
    }

    return {api, serverVersion}
  }

  /** What messages say about this server. */
  context(): ServerContext {
    const api = this.known?.api
    return {url: this.url, api, serverVersion: this.known?.serverVersion, database: api === 2 ? (this.cfg.bucket ?? '') : this.cfg.database, org: this.cfg.org}
  }

  /** 1.x database, or 2.x bucket (the `db` of the v1-compatible /query). */
  async database(): Promise<string> {
    const {api} = await this.ready()
    return api === 2 ? this.cfg.bucket! : this.cfg.database
  }

  retrying<T>(action: string, policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
    return withRetry(attempt, policy, this.env, {classify: classifyFailure, onRetry: this.opts.onRetry && ((e) => this.opts.onRetry!({...e, action}))})
  }

  /** The API in use; before the first ping, what the configuration suggests (a bucket means 2.x). */
  isV2(): boolean {
    if (this.known) return this.known.api === 2
    return this.cfg.version === '2' || (this.cfg.version === 'auto' && this.cfg.bucket !== undefined)
  }

  /**
   * Runs InfluxQL through /query (db = the database, or the bucket on 2.x) and returns each
   * statement's result; a statement InfluxDB refuses throws {@link InfluxQueryError}.
   */
  async influxql(statement: string, opts: {epoch?: 'ms'; db?: string; exact?: boolean} = {}): Promise<InfluxStatementResult[]> {
    const db = opts.db ?? (await this.database())
    let res: HttpResponse
    try {
      res = await this.retrying('query', this.queryRetry, async () => {
        const r = await this.http.request({
          method: 'POST',
          path: '/query',
          query: {db, epoch: opts.epoch, chunked: 'true', chunk_size: '10000'},
          body: 'q=' + encodeURIComponent(statement),
          headers: {'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json'},
        })
        // 5xx and 429 are retried; other answers are read below
        if (r.status === 429 || r.status >= 500) throw new HttpStatusError(`${this.url}/query`, r.status, r.headers, r.body)
        return r
      })
    } catch (error) {
      throw describeFailure(error, this.context(), 'query', '/query')
    }

    this.checkQueryStatus(res, statement)
    let answer: ReturnType<typeof parseQueryAnswer>
    try {
      answer = parseQueryAnswer(res.body, opts.exact ? parseJsonExact : JSON.parse)
    } catch (error) {
      throw new InfluxError(`InfluxDB at ${this.url} sent an answer to /query that is not JSON: ${res.body.slice(0, 200)}`, false, {cause: error})
    }

    this.checkAnswer(answer, statement)
    return answer.results
  }

  /** A non-2xx answer of /query as the error to show. */
  checkQueryStatus(res: HttpResponse, statement: string): void {
    if (res.status === 400) throw new InfluxQueryError(serverMessage(res.body), statement, 'InfluxQL', this.url)
    if (res.status < 200 || res.status > 299) {
      const msg = serverMessage(res.body)
      if (isMissingDatabase(msg)) throw missingDatabase(this.context(), msg)
      throw describeFailure(new HttpStatusError(`${this.url}/query`, res.status, res.headers, res.body), this.context(), 'query', '/query')
    }
  }

  checkAnswer(answer: {results?: InfluxStatementResult[]; error?: string}, statement: string): void {
    if (answer.error) throw new InfluxQueryError(answer.error, statement, 'InfluxQL', this.url)
    for (const r of answer.results ?? []) {
      if (r.error === undefined) continue
      if (isMissingDatabase(r.error)) throw missingDatabase(this.context(), r.error)
      throw new InfluxQueryError(r.error, statement, 'InfluxQL', this.url)
    }
  }

  /**
   * One statement whose (chunked) answer is read as it arrives, a chunk at a time, integers past
   * 2^53 exact: for answers too large to hold (scan). Times are epoch ms.
   */
  async *influxqlStream(statement: string, opts: {db?: string} = {}): AsyncGenerator<QueryChunk> {
    const db = opts.db ?? (await this.database())
    const readAll = async (body: AsyncIterable<Buffer>) => {
      const parts: Buffer[] = []
      for await (const b of body) parts.push(b)
      return Buffer.concat(parts).toString('utf8')
    }

    let res: {status: number; headers: HttpResponse['headers']; body: AsyncIterable<Buffer>}
    try {
      res = await this.retrying('query', this.queryRetry, async () => {
        const r = await this.http.stream({
          method: 'POST',
          path: '/query',
          query: {db, epoch: 'ms', chunked: 'true', chunk_size: '10000'},
          body: 'q=' + encodeURIComponent(statement),
          headers: {'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json'},
        })
        if (r.status === 429 || r.status >= 500) throw new HttpStatusError(`${this.url}/query`, r.status, r.headers, await readAll(r.body))
        return r
      })
    } catch (error) {
      throw describeFailure(error, this.context(), 'query', '/query')
    }

    if (res.status < 200 || res.status > 299) this.checkQueryStatus({status: res.status, headers: res.headers, body: await readAll(res.body)}, statement)
    try {
      for await (const chunk of answerChunks(res.body)) {
        this.checkAnswer(chunk, statement)
        yield chunk
      }
    } catch (error) {
      if (error instanceof SyntaxError) throw new InfluxError(`InfluxDB at ${this.url} sent an answer to /query that is not JSON: ${error.message}`, false, {cause: error})
      if (error instanceof InfluxError) throw error
      throw describeFailure(error, this.context(), 'query', '/query')
    }
  }

  /** 2.x REST call (JSON in and out); a 404 of a bucket lookup is an empty list. */
  async rest(method: 'GET' | 'POST' | 'PATCH', path: string, query: Record<string, string>, body?: unknown): Promise<unknown> {
    const action = method === 'GET' ? 'reading buckets' : 'changing buckets'
    let res: HttpResponse
    try {
      res = await this.retrying('bucket', this.queryRetry, () =>
        this.http.request({method, path, query, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : {'Content-Type': 'application/json'}}),
      )
    } catch (error) {
      throw describeFailure(error, this.context(), action, path)
    }

    if (res.status === 404 && path === '/api/v2/buckets' && method === 'GET' && /bucket/i.test(res.body)) return {buckets: []}
    if (res.status < 200 || res.status > 299) throw describeFailure(new HttpStatusError(`${this.url}${path}`, res.status, res.headers, res.body), this.context(), action, path)
    try {
      return JSON.parse(res.body || '{}')
    } catch (error) {
      throw new InfluxError(`InfluxDB at ${this.url} sent an answer to ${path} that is not JSON: ${res.body.slice(0, 200)}`, false, {cause: error})
    }
  }

  async close(): Promise<void> {
    this.http.close()
  }
}

/** Token (2.x, or 1.8+ `username:password`) or HTTP basic auth (1.x). */
function authHeaders(cfg: InfluxStoreConfig): Record<string, string> {
  if (cfg.token) return {Authorization: `Token ${cfg.token}`}
  if (cfg.username) return {Authorization: `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`}
  return {}
}

/** `1.6.7~rc0` → 1, `v2.7.4` / `2.7.4` → 2, `3.0.1` → 2 (3.x speaks the 2.x write API), else undefined. */
export function apiFromVersion(version: string | undefined): 1 | 2 | undefined {
  const m = /^v?(\d+)\./.exec(version?.trim() ?? '')
  if (!m) return undefined
  return m[1] === '1' ? 1 : Number(m[1]) >= 2 ? 2 : undefined
}

/** InfluxDB 1.0–1.7: no /api/v2 compatibility endpoints (1.8 added /api/v2/write and Flux). */
export function lacksV2Api(version: string | undefined): boolean {
  const m = /^v?1\.(\d+)\./.exec(version?.trim() ?? '')
  return m !== null && Number(m[1]) < 8
}
