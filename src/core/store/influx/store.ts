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
 */
import {systemClock, type Clock} from '../../clock.js'
import {parseDuration, parseSize} from '../../config/duration.js'
import {isLoopbackHost, type InfluxStoreConfig} from '../../config/schema.js'
import {EXIT_USAGE, InputError} from '../../errors.js'
import type {FieldType, Point} from '../../model/point.js'
import {bucketStart} from '../../model/aggregate.js'
import {chooseTier, DEFAULT_POLICY, retentionPolicy, rollupTiers, type RetentionPolicy, type Tier, type TierChoice} from '../retention.js'
import type {FieldInfo, FullStore, Frame, Initializable, InitResult, Maintainable, RetentionApplier, MaintenanceReport, QueryPlan, StoreInfo} from '../types.js'
import {describeFailure, InfluxError, InfluxQueryError, isMissingDatabase, missingDatabase, type ServerContext} from './errors.js'
import {realSleep, withRetry, type RetryEnv, type RetryEvent, type RetryPolicy} from '../../retry.js'
import {classifyFailure, DEFAULT_RETRY, HttpClient, HttpStatusError, serverMessage, type HttpResponse} from './http.js'
import {
  compilePlan,
  countAllStatement,
  firstColumn,
  framesFromSeries,
  parseQueryAnswer,
  quoteIdent,
  SHOW_MEASUREMENTS,
  showFieldKeys,
  showTagKeys,
  showTagValues,
  timeBoundsStatements,
  type InfluxStatementResult,
} from './influxql.js'
import {
  bucketRetention,
  compileTierPlan,
  describeMerge,
  downsampleSelect,
  FINAL_AFTER,
  FIRST_BACKFILL_LIMIT,
  framesFromTierAnswers,
  parseContinuousQueries,
  parseRetentionPolicies,
  parseShardGroups,
  planV1Retention,
  planV2Buckets,
  retentionRules,
  rollupBucketName,
  rollupPoints,
  rollupRpName,
  WATERMARK_MEASUREMENT,
  type BucketInfo,
  type TierSource,
} from './retention.js'
import {answerChunks, parseJsonExact, scanPoints, type QueryChunk} from './scan.js'
import {V1Writer} from './v1.js'
import {V2Api, type RawSeries} from './v2.js'
import {analyzeRejection, InfluxWriteRejected, linesOf, makeBatch, PointBatches, sendBatches, textBatches, type Batch, type BatchLimits, type WritePrecision} from './write.js'

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

/** Where each retention tier lives on the server and how long it keeps data, as last read. */
interface TierState {
  /** when it was read (store clock) */
  at: number
  raw: TierSource
  /** rollup tier name → where its points are; absent: the tier does not exist on the server */
  sources: Map<string, TierSource>
  /** tier name → how long the server keeps it (ms, Infinity) */
  keeps: Map<string, number>
  /** true: not read from the server, assumed from the configured policy (explain before a query) */
  assumed: boolean
  /** why the server's tiers could not be read, if they could not */
  note?: string
}

/** The server's tiers are read again after this long. */
const TIER_STATE_TTL = 60_000

export interface ServerInfo {
  api: 1 | 2
  /** X-Influxdb-Version of /ping, when the server sends it */
  serverVersion?: string
}

/** The --influxql / --flux passthrough answer: InfluxDB's tables as it returned them. */
export interface RawQueryResult {
  language: 'influxql' | 'flux'
  query: string
  series: RawSeries[]
  messages: string[]
}

const QUERY_RETRY: RetryPolicy = {initialMs: 250, maxMs: 2000, factor: 2, jitter: 100, retryAfter: 'replaces', maxRetryAfterMs: Infinity, maxAttempts: 3, deadlineMs: 10_000}

export class InfluxStore implements FullStore, Initializable, Maintainable, RetentionApplier {
  /** `gzip: auto` compresses unless the server is on loopback, where compression only costs CPU. */
  private get gzip(): boolean {
    const g = this.cfg.gzip
    if (g !== 'auto') return g
    return !isLoopbackHost(new URL(this.cfg.url).hostname)
  }

  readonly kind = 'influxdb'
  readonly url: string
  private readonly http: HttpClient
  private readonly env: RetryEnv
  private readonly writeRetry: RetryPolicy
  private readonly queryRetry: RetryPolicy
  private readonly limits: BatchLimits
  private readonly timeout: number
  private server?: Promise<ServerInfo>
  private known?: ServerInfo
  private v1?: V1Writer
  private v2?: V2Api
  private retention?: RetentionPolicy
  private tiers?: TierState

  constructor(
    readonly cfg: InfluxStoreConfig,
    private readonly opts: InfluxStoreOptions = {},
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

  // ---------------------------------------------------------------- connection

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
  private async database(): Promise<string> {
    const {api} = await this.ready()
    return api === 2 ? this.cfg.bucket! : this.cfg.database
  }

  private retrying<T>(action: string, policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
    return withRetry(attempt, policy, this.env, {classify: classifyFailure, onRetry: this.opts.onRetry && ((e) => this.opts.onRetry!({...e, action}))})
  }

  // ---------------------------------------------------------------- writes

  /**
   * Writes points in batches (serialized while earlier batches are on the wire). Points line
   * protocol cannot carry, and points InfluxDB refuses (400), are reported together in one
   * {@link InfluxWriteRejected} after the others are written.
   */
  async write(points: Point[]): Promise<void> {
    if (points.length === 0) return
    const {api} = await this.ready()
    // 1.x sends bytes (written line by line); 2.x's client takes a string
    const batches = new PointBatches(points, this.cfg.precision, this.limits, {bytes: api === 1})
    await sendBatches(batches, this.cfg.concurrency, (b) => (api === 2 ? this.writeV2(b) : this.writeV1(b)), {url: this.url, extra: () => batches.rejection()})
  }

  /**
   * Line protocol as it is (the pipeline hands its spooled text over without parsing it): split
   * into entries and batches, sent with the given precision. Same retries and errors as write().
   * Bytes (a Buffer, as the spool holds them) are sent without decoding or copying.
   */
  async writeLineProtocol(text: string | Buffer, precision: WritePrecision = 'ns'): Promise<void> {
    if (text.length === 0) return
    const batches = textBatches(text, precision, this.limits)
    const {api} = await this.ready()
    await sendBatches(batches, this.cfg.concurrency, (b) => (api === 2 ? this.writeV2(b) : this.writeV1(b)), {url: this.url})
  }

  private async writeV1(batch: Batch): Promise<void> {
    const v1 = this.v1!
    const body = await v1.encode(batch.body)
    try {
      await this.retrying('write', this.writeRetry, () => v1.write(body, batch.precision))
    } catch (error) {
      await this.writeFailed(error, batch, '/write', (b) => this.writeV1(b))
    }
  }

  private async writeV2(batch: Batch, bucket?: string): Promise<void> {
    try {
      const body = batch.body.toString()
      await this.retrying('write', this.writeRetry, () => this.v2!.write(body, batch.precision, bucket))
    } catch (error) {
      await this.writeFailed(error, batch, '/api/v2/write', (b) => this.writeV2(b, bucket))
    }
  }

  /** 2.x: points into another bucket of the org (the rollup buckets), batched and retried as write(). */
  private async writeToBucket(points: Point[], bucket: string): Promise<void> {
    if (points.length === 0) return
    const batches = new PointBatches(points, this.cfg.precision, this.limits)
    await sendBatches(batches, this.cfg.concurrency, (b) => this.writeV2(b, bucket), {url: this.url, extra: () => batches.rejection()})
  }

  /** 400 → the rejected lines; 413 → the batch in halves; anything else → one clear message. */
  private async writeFailed(error: unknown, batch: Batch, endpoint: string, again: (b: Batch) => Promise<void>): Promise<void> {
    if (error instanceof HttpStatusError && error.status === 400) {
      throw new InfluxWriteRejected(this.url, [analyzeRejection(error.serverMessage, batch, lineOf(error.body))], batch.count)
    }

    const lines = error instanceof HttpStatusError && error.status === 413 ? linesOf(batch) : []
    if (lines.length > 1) {
      const half = Math.ceil(lines.length / 2)
      const part = (from: number, to?: number): Batch => makeBatch(lines.slice(from, to), batch.precision, batch.points?.slice(from, to))

      await sendBatches([part(0, half), part(half)], 1, again)
      return
    }

    if (error instanceof HttpStatusError && error.status === 404 && isMissingDatabase(error.serverMessage)) {
      throw missingDatabase(this.context(), error.serverMessage, error)
    }

    throw describeFailure(error, this.context(), 'write', endpoint)
  }

  // ---------------------------------------------------------------- InfluxQL

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
  private checkQueryStatus(res: HttpResponse, statement: string): void {
    if (res.status === 400) throw new InfluxQueryError(serverMessage(res.body), statement, 'InfluxQL', this.url)
    if (res.status < 200 || res.status > 299) {
      const msg = serverMessage(res.body)
      if (isMissingDatabase(msg)) throw missingDatabase(this.context(), msg)
      throw describeFailure(new HttpStatusError(`${this.url}/query`, res.status, res.headers, res.body), this.context(), 'query', '/query')
    }
  }

  private checkAnswer(answer: {results?: InfluxStatementResult[]; error?: string}, statement: string): void {
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

  async query(q: QueryPlan): Promise<Frame[]> {
    const now = this.env.clock.now()
    const choice = this.needsTiers(q, now) ? this.chooseTier(q, await this.tierState(), now) : undefined
    if (choice && choice.tier.resolution > 0) return this.queryTier(q, choice, this.tiers!, now)
    const statement = compilePlan(q, {retentionPolicy: this.cfg.retention_policy})
    const [result] = await this.influxql(statement, {epoch: 'ms'})
    return framesFromSeries(q, result?.series ?? [])
  }

  explain(q: QueryPlan): string {
    const api = this.known ? `InfluxDB ${this.known.serverVersion ?? '(version not reported)'}, API ${this.known.api}.x` : `API version ${this.cfg.version}`
    const db = this.known?.api === 2 ? `bucket=${this.cfg.bucket}` : `db=${this.cfg.database}`
    const head = `backend: influxdb (${api}) ${this.url}/query ${db} epoch=ms`
    const now = this.env.clock.now()
    let tierLine: string | undefined
    if (this.needsTiers(q, now)) {
      const state = this.tiers ?? this.assumedTiers(now)
      const assumed = state.assumed ? ' — assumed from the configured retention: the server\'s retention policies are read when the query runs' : state.note ? ` — ${state.note}` : ''
      try {
        const choice = this.chooseTier(q, state, now)
        if (choice.tier.resolution > 0) {
          const wm = this.isV2() ? undefined : rawSplit(this.v1Watermark(choice.tier, now), choice.tier, state, now)
          const statements = compileTierPlan(q, choice, wm ?? choice.end, {rollup: state.sources.get(choice.tier.name)!, raw: state.raw})
          const where = (src: TierSource) => (src.rp ? `retention policy "${src.rp}"` : src.db ? `bucket ${src.db}` : 'the default retention policy')
          return [
            head,
            ...statements.map((st) => `influxql: ${st.text}${st.source.db ? `   (db=${st.source.db})` : ''}`),
            `tier:     ${choice.tier.name} rollups in ${where(state.sources.get(choice.tier.name)!)} over [${new Date(choice.start).toISOString()}, ${new Date(choice.end).toISOString()}) (${choice.reason})${assumed}`,
            `          ${wm === undefined ? `raw points after the watermark kept in bucket ${state.sources.get(choice.tier.name)!.db}, or from the raw bucket's horizon if earlier, are read from the raw bucket` : `raw points from ${new Date(Math.max(choice.start, Math.min(wm, choice.end))).toISOString()} on (what raw still holds) are read from the raw retention policy`}`,
            `then:     ${describeMerge(q)}`,
          ].join('\n')
        }

        tierLine = `tier:     raw (${choice.reason})${assumed}`
      } catch (error) {
        tierLine = `tier:     none: ${(error as Error).message}${assumed}`
      }
    }

    const lines = [head, `influxql: ${compilePlan(q, {retentionPolicy: this.cfg.retention_policy})}`]
    if (tierLine) lines.push(tierLine)
    if (q.aggregate && q.every === undefined) lines.push(`then:     each group's row is timed at the range start ${new Date(q.start).toISOString()}`)
    if (q.limit !== undefined) lines.push('then:     rows put back in time order')
    return lines.join('\n')
  }

  // ---------------------------------------------------------------- retention tiers

  /** The configured tiers (config `retention`). */
  private policy(): RetentionPolicy {
    this.retention ??= retentionPolicy(this.opts.retention ?? DEFAULT_POLICY)
    return this.retention
  }

  /** The API in use; before the first ping, what the configuration suggests (a bucket means 2.x). */
  private isV2(): boolean {
    if (this.known) return this.known.api === 2
    return this.cfg.version === '2' || (this.cfg.version === 'auto' && this.cfg.bucket !== undefined)
  }

  /**
   * Only a range starting before the configured raw retention can need a rollup tier; anything
   * later is read from raw points without asking the server about its tiers.
   */
  private needsTiers(q: QueryPlan, now: number): boolean {
    const policy = this.policy()
    return rollupTiers(policy).length > 0 && q.start < now - policy[0].keep
  }

  private chooseTier(q: QueryPlan, state: TierState, now: number): TierChoice {
    const horizons = new Map<string, number>()
    for (const t of this.policy()) {
      const keep = state.keeps.get(t.name)
      // a rollup tier missing on the server holds nothing
      if (keep === undefined) {
        if (t.resolution > 0) horizons.set(t.name, Number.POSITIVE_INFINITY)
      } else if (Number.isFinite(keep)) horizons.set(t.name, now - keep)
    }

    return chooseTier(this.policy(), {start: q.start, end: q.end, every: q.every, fn: q.aggregate?.fn, transform: q.transform}, horizons)
  }

  /** The tiers as `mon store retention apply` lays them out, for explain before anything was read. */
  private assumedTiers(now: number): TierState {
    const state: TierState = {at: now, raw: this.rawSource(), sources: new Map(), keeps: new Map(), assumed: true}
    for (const t of this.policy()) {
      state.keeps.set(t.name, t.keep)
      if (t.resolution > 0) state.sources.set(t.name, this.rollupSource(t))
    }

    return state
  }

  private rawSource(): TierSource {
    return this.isV2() ? {db: this.cfg.bucket} : {rp: this.cfg.retention_policy}
  }

  private rollupSource(t: Tier): TierSource {
    return this.isV2() ? {db: rollupBucketName(this.cfg.bucket!, t)} : {rp: rollupRpName(t)}
  }

  /** The server's tiers: 1.x SHOW RETENTION POLICIES, 2.x the buckets; read again after a minute. */
  private async tierState(): Promise<TierState> {
    const now = this.env.clock.now()
    if (this.tiers && now - this.tiers.at < TIER_STATE_TTL && now >= this.tiers.at) return this.tiers
    const {api} = await this.ready()
    const state: TierState = {at: now, raw: this.rawSource(), sources: new Map(), keeps: new Map(), assumed: false}
    try {
      if (api === 1) {
        const [r] = await this.influxql(`SHOW RETENTION POLICIES ON ${quoteIdent(this.cfg.database)}`)
        const rps = new Map(parseRetentionPolicies(r?.series).map((rp) => [rp.name, rp]))
        const rawRp = this.cfg.retention_policy ?? [...rps.values()].find((rp) => rp.isDefault)?.name
        state.keeps.set('raw', (rawRp && rps.get(rawRp)?.duration) || Number.POSITIVE_INFINITY)
        for (const t of rollupTiers(this.policy())) {
          const rp = rps.get(rollupRpName(t))
          if (!rp) continue
          state.keeps.set(t.name, rp.duration)
          state.sources.set(t.name, {rp: rp.name})
        }
      } else {
        const buckets = await this.findBuckets([this.cfg.bucket!, ...rollupTiers(this.policy()).map((t) => rollupBucketName(this.cfg.bucket!, t))])
        state.keeps.set('raw', buckets.get(this.cfg.bucket!)?.retention ?? Number.POSITIVE_INFINITY)
        for (const t of rollupTiers(this.policy())) {
          const b = buckets.get(rollupBucketName(this.cfg.bucket!, t))
          if (!b) continue
          state.keeps.set(t.name, b.retention)
          state.sources.set(t.name, {db: b.name})
        }
      }
    } catch (error) {
      // a token or user that may query but not list buckets/RPs: raw points only, said in explain
      if (!(error instanceof InfluxQueryError || (error instanceof InfluxError && (error.status === 401 || error.status === 403)))) throw error
      state.keeps = new Map([['raw', Number.POSITIVE_INFINITY]])
      state.sources = new Map()
      state.note = `the retention tiers could not be read (${error.message}); raw points answer`
    }

    this.tiers = state
    return state
  }

  /**
   * 1.x: the CQ of a tier computes a bucket right after it ends; one bucket of slack (CQs take a
   * moment) — whatever is later is read from raw points.
   */
  private v1Watermark(tier: Tier, now: number): number {
    return bucketStart(now, tier.resolution) - tier.resolution
  }

  /** 2.x: how far mon has rolled a tier up (the `_mon_rollup` point in its bucket), if at all. */
  private async v2Watermark(tier: Tier): Promise<number | undefined> {
    const [r] = await this.influxql(`SELECT last("watermark") FROM ${quoteIdent(WATERMARK_MEASUREMENT)}`, {epoch: 'ms', db: rollupBucketName(this.cfg.bucket!, tier)})
    const v = r?.series?.[0]?.values?.[0]?.[1]
    return typeof v === 'number' ? v : undefined
  }

  private async queryTier(q: QueryPlan, choice: TierChoice, state: TierState, now: number): Promise<Frame[]> {
    const wm = this.isV2() ? ((await this.v2Watermark(choice.tier)) ?? choice.start) : this.v1Watermark(choice.tier, now)
    const statements = compileTierPlan(q, choice, rawSplit(wm, choice.tier, state, now), {rollup: state.sources.get(choice.tier.name)!, raw: state.raw})
    const answers = await Promise.all(statements.map(async (st) => (await this.influxql(st.text, {epoch: 'ms', db: st.source.db}))[0]?.series ?? []))
    return framesFromTierAnswers(q, choice, statements, answers)
  }

  /**
   * Makes the server keep the policy's tiers; returns what it ran (or would run, with dryRun):
   * 1.x retention policies, backfills and continuous queries (retention.ts planV1Retention), 2.x
   * bucket creations/updates (a new rollup bucket is backfilled at once by the downsampler).
   */
  async applyRetention(policy: RetentionPolicy, opts: {dryRun: boolean}): Promise<string[]> {
    const {api} = await this.ready()
    const now = this.env.clock.now()
    this.retention = policy
    this.tiers = undefined
    if (api === 2) return this.applyBuckets(policy, opts.dryRun, now)
    const db = this.cfg.database
    const [rpAnswer] = await this.influxql(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`)
    const rps = parseRetentionPolicies(rpAnswer?.series)
    const rawRp = this.cfg.retention_policy ?? rps.find((rp) => rp.isDefault)?.name
    if (!rawRp) throw new InfluxError(`database "${db}" on InfluxDB at ${this.url} has no default retention policy`, false, {hint: 'set store.retention_policy to the one mon writes to'})
    const [cqAnswer] = await this.influxql('SHOW CONTINUOUS QUERIES')
    let rawShardGroups
    try {
      const [shards] = await this.influxql('SHOW SHARDS')
      rawShardGroups = parseShardGroups(shards?.series, db, rawRp)
    } catch (error) {
      // SHOW SHARDS needs admin rights: backfill the tier's whole window instead
      if (!(error instanceof InfluxQueryError || (error instanceof InfluxError && error.status === 403))) throw error
    }

    const statements = planV1Retention(policy, {database: db, rawRp, rps, cqs: parseContinuousQueries(cqAnswer?.series, db), rawShardGroups}, now)
    if (!opts.dryRun) for (const st of statements) await this.influxql(st)
    return statements
  }

  private async applyBuckets(policy: RetentionPolicy, dryRun: boolean, now: number): Promise<string[]> {
    const bucket = this.cfg.bucket!
    const names = [bucket, ...rollupTiers(policy).map((t) => rollupBucketName(bucket, t))]
    const existing = await this.findBuckets(names)
    const changes = planV2Buckets(policy, bucket, existing)
    if (dryRun || changes.length === 0) return changes.map((c) => c.describe)
    // what the raw bucket holds now, before its retention is changed (last)
    const rawKeep = existing.get(bucket)?.retention ?? Number.POSITIVE_INFINITY
    let orgID: string | undefined
    for (const c of changes) {
      if (c.kind === 'update') {
        await this.rest('PATCH', `/api/v2/buckets/${encodeURIComponent(c.id)}`, {}, {retentionRules: retentionRules(c.retention)})
        continue
      }

      orgID ??= await this.orgID()
      await this.rest('POST', '/api/v2/buckets', {}, {orgID, name: c.name, retentionRules: retentionRules(c.retention)})
      await this.downsampleTier(c.tier, now, rawKeep)
    }

    return changes.map((c) => c.describe)
  }

  /**
   * 1.x: nothing to do (continuous queries roll up, InfluxDB expires data itself). 2.x: rolls every
   * rollup tier whose bucket exists up to the buckets that ended a minute ago, from raw points.
   */
  async maintain(now = this.env.clock.now()): Promise<MaintenanceReport> {
    const report: MaintenanceReport = {rolledUp: {}, pruned: {}}
    const {api} = await this.ready()
    if (api === 1) return report
    const policy = this.policy()
    const tiers = rollupTiers(policy)
    if (tiers.length === 0) return report
    const present = await this.findBuckets([this.cfg.bucket!, ...tiers.map((t) => rollupBucketName(this.cfg.bucket!, t))])
    const rawKeep = present.get(this.cfg.bucket!)?.retention ?? Number.POSITIVE_INFINITY
    for (const t of tiers) if (present.has(rollupBucketName(this.cfg.bucket!, t))) report.rolledUp[t.name] = await this.downsampleTier(t, now, rawKeep)
    return report
  }

  /**
   * 2.x: rolls one tier up from the last watermark (or, the first time, from as far back as both
   * the raw bucket — `rawKeep`, its retention now — and the tier keep data) to the last bucket that ended a minute ago, a day of 1m
   * buckets per query; the bucket before the watermark is computed again (points up to a bucket
   * late are counted). Returns how many new buckets it covered.
   */
  private async downsampleTier(tier: Tier, now: number, rawKeep: number): Promise<number> {
    const res = tier.resolution
    const bucket = rollupBucketName(this.cfg.bucket!, tier)
    const target = bucketStart(now - FINAL_AFTER, res)
    const stored = await this.v2Watermark(tier)
    if (stored !== undefined && stored >= target) return 0
    const oldest = Math.max(now - tier.keep, now - rawKeep)
    const first = bucketStart(Number.isFinite(oldest) ? oldest : now - FIRST_BACKFILL_LIMIT, res) + res
    const from = stored === undefined ? first : Math.max(first, stored - res)
    let types = await this.allFieldTypes()
    for (let a = from; a < target; a += res * 1440) {
      const b = Math.min(target, a + res * 1440)
      const [r] = await this.influxql(downsampleSelect(tier, {start: a, end: b}), {epoch: 'ms', exact: true})
      let rolled = rollupPoints(r?.series ?? [], types)
      if (rolled.unknownFields.length > 0) {
        // a field written since the types were read
        types = await this.allFieldTypes()
        rolled = rollupPoints(r?.series ?? [], types)
      }

      await this.writeToBucket(rolled.points, bucket)
      await this.writeToBucket([{measurement: WATERMARK_MEASUREMENT, tags: {}, fields: {watermark: BigInt(b)}, ts: b}], bucket)
    }

    return Math.max(0, (target - (stored ?? first)) / res)
  }

  /** SHOW FIELD KEYS of every measurement of the raw bucket/RP. */
  private async allFieldTypes(): Promise<Map<string, Map<string, FieldType>>> {
    const [r] = await this.influxql(this.cfg.retention_policy && !this.isV2() ? `SHOW FIELD KEYS FROM ${quoteIdent(this.cfg.retention_policy)}./.*/` : 'SHOW FIELD KEYS')
    const out = new Map<string, Map<string, FieldType>>()
    for (const s of r?.series ?? []) {
      const m = new Map<string, FieldType>()
      for (const v of s.values ?? []) m.set(String(v[0]), String(v[1]) as FieldType)
      out.set(s.name ?? '', m)
    }

    return out
  }

  /** 2.x: the named buckets of store.org that exist. */
  private async findBuckets(names: string[]): Promise<Map<string, BucketInfo>> {
    const out = new Map<string, BucketInfo>()
    const org = this.cfg.org
    if (!org) throw new InputError('the retention tiers on InfluxDB 2.x need store.org', {hint: 'set store.org to the organization name'})
    for (const name of names) {
      const found = (await this.rest('GET', '/api/v2/buckets', {name, org})) as {buckets?: Array<{id: string; name: string; retentionRules?: Array<{type?: string; everySeconds?: number}>}>}
      const b = found.buckets?.find((x) => x.name === name)
      if (b) out.set(name, {id: b.id, name: b.name, retention: bucketRetention(b)})
    }

    return out
  }

  private async orgID(): Promise<string> {
    const org = this.cfg.org!
    const orgs = (await this.rest('GET', '/api/v2/orgs', {org})) as {orgs?: Array<{id: string; name: string}>}
    const id = orgs.orgs?.find((o) => o.name === org)?.id
    if (!id) throw new InfluxError(`organization "${org}" not found on InfluxDB at ${this.url}`, false, {hint: 'check store.org (the name, as `influx org list` shows it)'})
    return id
  }

  /** 2.x REST call (JSON in and out); a 404 of a bucket lookup is an empty list. */
  private async rest(method: 'GET' | 'POST' | 'PATCH', path: string, query: Record<string, string>, body?: unknown): Promise<unknown> {
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

  /**
   * Every raw point in [start, end) of the raw retention policy (1.x) or bucket (2.x), a
   * measurement at a time, with the stored field types (scan.ts): `mon store archive`.
   */
  async *scan(start: number, end: number): AsyncIterable<Point[]> {
    const {api} = await this.ready()
    yield* scanPoints(
      {
        rp: api === 1 ? this.cfg.retention_policy : undefined,
        measurements: async () => (await this.measurements()).filter((m) => m !== WATERMARK_MEASUREMENT),
        fieldTypes: async (m) => new Map((await this.fieldKeys(m)).map((f) => [f.name, f.type])),
        stream: (statement) => this.influxqlStream(statement),
      },
      start,
      end,
    )
  }

  /** `mon query --influxql`: InfluxDB's answer as it is (times RFC 3339). */
  async rawInfluxQL(text: string): Promise<RawQueryResult> {
    const results = await this.influxql(text)
    const series: RawSeries[] = []
    const messages: string[] = []
    for (const r of results) {
      for (const m of r.messages ?? []) messages.push(`${m.level}: ${m.text}`)
      for (const s of r.series ?? []) series.push({name: s.name ?? '', tags: s.tags ?? {}, columns: s.columns, values: s.values ?? []})
    }

    return {language: 'influxql', query: text, series, messages}
  }

  /** `mon query --flux`: 2.x only, through the client's QueryApi. */
  async flux(text: string): Promise<RawQueryResult> {
    const {api, serverVersion} = await this.ready()
    if (api !== 2) {
      throw new InputError(`--flux needs InfluxDB 2.x; ${this.url} is ${serverVersion ? `InfluxDB ${serverVersion}` : 'used with the 1.x API'}`, {
        hint: 'use --influxql, or a mon expression',
      })
    }

    try {
      return {language: 'flux', query: text, series: await this.v2!.flux(text), messages: []}
    } catch (error) {
      if (error instanceof HttpStatusError && error.status === 400) throw new InfluxQueryError(error.serverMessage, text, 'Flux', this.url, 'check the Flux syntax')
      throw describeFailure(error, this.context(), 'query', '/api/v2/query')
    }
  }

  // ---------------------------------------------------------------- catalog

  async measurements(): Promise<string[]> {
    const [r] = await this.influxql(SHOW_MEASUREMENTS)
    return firstColumn(r?.series)
  }

  async fieldKeys(measurement: string): Promise<FieldInfo[]> {
    const [r] = await this.influxql(showFieldKeys(measurement, {retentionPolicy: this.cfg.retention_policy}))
    const out: FieldInfo[] = []
    for (const s of r?.series ?? []) for (const v of s.values ?? []) out.push({name: String(v[0]), type: String(v[1]) as FieldInfo['type']})
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async tagKeys(measurement: string): Promise<string[]> {
    const [r] = await this.influxql(showTagKeys(measurement, {retentionPolicy: this.cfg.retention_policy}))
    return firstColumn(r?.series).sort()
  }

  async tagValues(measurement: string, key: string): Promise<string[]> {
    const [r] = await this.influxql(showTagValues(measurement, key, {retentionPolicy: this.cfg.retention_policy}))
    const out: string[] = []
    for (const s of r?.series ?? []) for (const v of s.values ?? []) out.push(String(v[1]))
    return out.sort()
  }

  async info(opts: {countPoints?: boolean} = {}): Promise<StoreInfo> {
    const {api, serverVersion} = await this.ready()
    const database = await this.database()
    // every optional figure is skipped when this server (or this user) cannot give it
    const optional = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await f()
      } catch (error) {
        if (error instanceof InfluxQueryError || (error instanceof InfluxError && error.status === 403)) return undefined
        throw error
      }
    }

    if (api === 1) await this.requireDatabase()
    const measurements = await this.measurements()
    const series = api === 1 ? await optional(() => this.seriesCardinality()) : undefined
    const bytesOnDisk = api === 1 ? await optional(() => this.diskBytes(database)) : undefined
    const range = await optional(() => this.timeRange(measurements))
    const points = opts.countPoints ? await this.countPoints() : undefined
    return {
      backend: 'influxdb',
      location: `${this.url} ${api === 2 ? `bucket ${database}${this.cfg.org ? ` (org ${this.cfg.org})` : ''}` : `database ${database}${this.cfg.retention_policy ? `.${this.cfg.retention_policy}` : ''}`}`,
      series,
      points,
      oldest: range?.oldest,
      newest: range?.newest,
      bytesOnDisk,
      details: {server: serverVersion ?? 'unknown', api: `${api}.x`, measurements: measurements.length, precision: this.cfg.precision, gzip: this.gzip},
    }
  }

  /** The oldest and newest timestamps: per measurement, InfluxDB finds each with one seek. */
  private async timeRange(measurements: string[]): Promise<{oldest?: number; newest?: number}> {
    let oldest: number | undefined
    let newest: number | undefined
    // a request per 50 measurements keeps the statement short
    for (let i = 0; i < measurements.length; i += 50) {
      const results = await this.influxql(timeBoundsStatements(measurements.slice(i, i + 50), {retentionPolicy: this.cfg.retention_policy}), {epoch: 'ms'})
      for (const r of results) {
        for (const s of r.series ?? []) {
          for (const row of s.values ?? []) {
            const t = Number(row[0])
            if (!Number.isFinite(t)) continue
            if (oldest === undefined || t < oldest) oldest = t
            if (newest === undefined || t > newest) newest = t
          }
        }
      }
    }
    return {oldest, newest}
  }

  /** Stored values (a point per field, as the embedded store counts them): a scan of every shard. */
  private async countPoints(): Promise<number> {
    const [r] = await this.influxql(countAllStatement({retentionPolicy: this.cfg.retention_policy}))
    let n = 0
    for (const s of r?.series ?? []) {
      for (const row of s.values ?? []) for (let c = 1; c < row.length; c++) n += Number(row[c]) || 0
    }
    return n
  }

  private async seriesCardinality(): Promise<number> {
    const [r] = await this.influxql('SHOW SERIES CARDINALITY')
    let n = 0
    for (const s of r?.series ?? []) for (const v of s.values ?? []) n += Number(v[0]) || 0
    return n
  }

  /** Sum of the shards' diskBytes (SHOW STATS needs admin rights when auth is on). */
  private async diskBytes(database: string): Promise<number | undefined> {
    const [r] = await this.influxql("SHOW STATS FOR 'shard'")
    let bytes: number | undefined
    for (const s of r?.series ?? []) {
      if (s.tags?.database !== database) continue
      const i = s.columns.indexOf('diskBytes')
      for (const v of s.values ?? []) bytes = (bytes ?? 0) + (Number(v[i]) || 0)
    }

    return bytes
  }

  private async databases(): Promise<string[]> {
    const [r] = await this.influxql('SHOW DATABASES')
    return firstColumn(r?.series)
  }

  private async requireDatabase(): Promise<void> {
    if (!(await this.databases()).includes(this.cfg.database)) throw missingDatabase(this.context(), `database not found: ${this.cfg.database}`)
  }

  /** Creates the 1.x database or the 2.x bucket when missing. */
  async init(): Promise<InitResult> {
    const {api, serverVersion} = await this.ready()
    const notes: string[] = []
    if (api === 2) {
      const created = await this.ensureBucket()
      return {backend: 'influxdb', location: this.url, database: this.cfg.bucket!, created, serverVersion, notes}
    }

    const db = this.cfg.database
    const created = !(await this.databases()).includes(db)
    if (created) await this.influxql(`CREATE DATABASE ${quoteIdent(db)}`)
    const rp = this.cfg.retention_policy
    if (rp) {
      const [r] = await this.influxql(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`)
      if (!firstColumn(r?.series).includes(rp)) {
        throw new InfluxError(`retention policy "${rp}" does not exist in database "${db}" on InfluxDB at ${this.url}`, false, {
          hint: `create it (e.g. CREATE RETENTION POLICY ${quoteIdent(rp)} ON ${quoteIdent(db)} DURATION 30d REPLICATION 1), or remove store.retention_policy`,
        })
      }
    }

    return {backend: 'influxdb', location: this.url, database: db, created, serverVersion, notes}
  }

  /** 2.x REST: GET /api/v2/buckets?name=&org=, else GET /api/v2/orgs?org= and POST /api/v2/buckets. */
  private async ensureBucket(): Promise<boolean> {
    const bucket = this.cfg.bucket!
    const org = this.cfg.org
    if (!org) throw new InputError('creating a bucket needs store.org', {hint: 'set store.org to the organization name'})
    const call = async (method: 'GET' | 'POST', path: string, query: Record<string, string>, body?: unknown): Promise<unknown> => {
      let res: HttpResponse
      try {
        res = await this.retrying('init', this.queryRetry, () =>
          this.http.request({method, path, query, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : {'Content-Type': 'application/json'}}),
        )
      } catch (error) {
        throw describeFailure(error, this.context(), 'init', path)
      }

      if (res.status === 404 && path === '/api/v2/buckets' && method === 'GET' && /bucket/i.test(res.body)) return {buckets: []}
      if (res.status < 200 || res.status > 299) throw describeFailure(new HttpStatusError(`${this.url}${path}`, res.status, res.headers, res.body), this.context(), 'init', path)
      return JSON.parse(res.body || '{}')
    }

    const found = (await call('GET', '/api/v2/buckets', {name: bucket, org})) as {buckets?: Array<{name: string}>}
    if (found.buckets?.some((b) => b.name === bucket)) return false
    const orgs = (await call('GET', '/api/v2/orgs', {org})) as {orgs?: Array<{id: string; name: string}>}
    const orgID = orgs.orgs?.find((o) => o.name === org)?.id
    if (!orgID) throw new InfluxError(`organization "${org}" not found on InfluxDB at ${this.url}`, false, {hint: 'check store.org (the name, as `influx org list` shows it)'})
    await call('POST', '/api/v2/buckets', {}, {orgID, name: bucket, retentionRules: []})
    return true
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

/** 2.x reports the failing line of a batch as `"line": N`. */
function lineOf(body: string): number | undefined {
  try {
    const json = JSON.parse(body) as {line?: unknown}
    return typeof json.line === 'number' ? json.line : undefined
  } catch {
    return undefined
  }
}

/**
 * Where a rollup-tier query switches from the rollups to raw points: the tier's watermark, or the
 * raw tier's horizon (aligned up to the tier's buckets) if that is earlier. A point written below
 * the watermark later (`mon write` of a backfill, a spool replayed after an outage) is in raw but in
 * no rollup — the CQs and mon's 2.x downsampler only compute recent buckets — so whatever raw still
 * holds is read from raw, and a query sees every stored point (issue 16 item 2). The rollups answer
 * only for the part of the range raw has expired.
 */
function rawSplit(watermark: number, tier: Tier, state: TierState, now: number): number {
  const rawKeep = state.keeps.get('raw') ?? Number.POSITIVE_INFINITY
  if (!Number.isFinite(rawKeep)) return watermark
  return Math.min(watermark, bucketStart(now - rawKeep, tier.resolution) + tier.resolution)
}
