/**
 * The push listener: an InfluxDB-compatible write endpoint, so Telegraf, the influxdb clients,
 * `curl` and scripts can send line protocol to mon.
 *
 *   POST /write?db=…&precision=n|ns|u|us|ms|s|m|h   (1.x; auth: u/p parameters, Basic, or Authorization: Token)
 *   POST /api/v2/write?org=…&bucket=…&precision=ns|us|ms|s   (2.x; Authorization: Token …)
 *   GET|HEAD /ping → 204 with X-Influxdb-Version;  GET /health → 200
 *
 * `db`, `org` and `bucket` are accepted and ignored: everything goes to the configured store.
 * Bodies may be gzip-compressed (Content-Encoding: gzip); `max_body` bounds them before and after
 * decompression (413). `max_buffered` bounds what all requests in progress hold together: a body
 * that would go beyond it gets 503 with Retry-After (a lone request is always taken), so many
 * concurrent clients cannot run the process out of memory. With `token` set, requests without it
 * get 401 (compared in constant time); a source with 10 failures within a minute is locked out
 * for a minute (429 with Retry-After, even with the right token) — each failure and each lockout
 * is logged, and counted in self-metrics (`unauthorized`, `throttled`).
 *
 * The socket is made by src/core/server/socket.ts: header/request/idle timeouts, a connection cap
 * per source and in all, and HTTPS with `tls_cert`/`tls_key` (client certificates with
 * `tls_client_ca`).
 *
 * InfluxDB's partial-write semantics: every valid line is kept, and a body with bad lines gets
 * 400 `{"error": "partial write: line 3:12: invalid field format: 'cpu,host=a usage=' …"}` naming
 * the first bad line and why. The answer (204, or 400 for a partial write) is sent only once
 * the valid points are in the spool — fsync'd when spool.fsync is `always` or `batch`.
 *
 * Points without a timestamp get the time of arrival. Points get `host`, the global tags and
 * `tags` when they lack them (their own tags win). When that changes nothing and every line has
 * a timestamp, the body is only validated (no points built; an ASCII body on its bytes, without
 * decoding it, in the parts it arrived in: never joined) and spooled as it came — without its bad
 * lines, if any — with no re-encoding and full timestamp precision.
 * Sample config (mon.yaml):
 *
 *   inputs:
 *     listener:
 *       enabled: true
 *       listen: 127.0.0.1:8186
 *       token: ${MON_LISTENER_TOKEN}
 *       max_body: 32MiB
 */
import {createHash, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage, Server, ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {gunzip} from 'node:zlib'
import {z} from 'zod'
import {bool, listenAddress, parseHostPort, requireTlsPair, requireTokenOffLoopback, section, serverSocketFields, size, tagsSchema} from '../config/common.js'
import {errorMessage} from '../errors.js'
import {RepeatLimiter} from '../log.js'
import {isDiskFull} from '../disk.js'
import {checkAsciiLineProtocol, checkAsciiLineProtocolParts, parseLineProtocol, parsePrecision, validateLineProtocol, type LineError, type Precision} from '../model/line-protocol/index.js'
import type {Point, Tags} from '../model/point.js'
import {toLineProtocol} from '../pipeline/batcher.js'
import {SpoolFullError, type Spool, type SpoolPrecision, type SpoolRecordInput} from '../pipeline/spool.js'
import {AuthThrottle, retryAfterSeconds} from '../server/auth-throttle.js'
import {createServerSocket, serverSocketOptions, sourceAddress, sourceKey, type ServerSocket, type ServerSocketOptions} from '../server/socket.js'
import {decorate, defineCollector, type CollectorContext} from './types.js'

export const INFLUXDB_COMPAT_VERSION = '1.8.10'
/** A `now` no real timestamp can have (InfluxDB's range is ±9.2e12 ms): marks lines without one. */
const NO_TIMESTAMP = -1e15
const MAX_TS_MS = 9_223_372_036_854
/** How much of an oversized body is read and thrown away so the client sees the 413. */
const DRAIN_LIMIT = 64 << 20
const MS_PER_UNIT: Record<Precision, number> = {ns: 1, us: 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000}
/**
 * A body in at most this many parts (socket reads, ~64 KB each) is checked and spooled in them,
 * never joined (joining a 540 KB body — the copy and the page faults of a fresh buffer — was ~10 %
 * of the listener's CPU); one in more (a client's tiny chunks) is joined first.
 */
const MAX_PARTS = 128
const NEWLINE = Buffer.from('\n')

export interface ListenerOptions {
  /** host:port; port 0 picks a free one (see {@link Listener.start}) */
  listen: string
  token?: string
  maxBodyBytes: number
  /** request bytes held at once across requests in progress (default: no bound) */
  maxBufferedBytes?: number
  spool: Spool
  ctx: Pick<CollectorContext, 'host' | 'globalTags' | 'clock' | 'log'>
  tags?: Tags
  /** input name for accounting, default `listener` */
  name?: string
  /** timeouts, connection caps, TLS; default: those of an empty inputs.listener section */
  socket?: ServerSocketOptions
}

export interface ListenerStats {
  requests: number
  /** write requests that stored at least one point */
  writes: number
  points: number
  /** lines refused as malformed */
  rejectedLines: number
  badRequests: number
  unauthorized: number
  /** requests refused with 429 because their source is locked out after failed logins */
  throttled: number
  /** connections closed at once because their source (or everyone) was at the connection cap */
  refusedConnections: number
  /** connections open now */
  connections: number
  tooLarge: number
  /** requests refused with 503 because max_buffered was reached */
  overloaded: number
  /** requests refused with 503 because the spool was full (`spool.when_full: reject`) */
  spoolFull: number
  /** request bytes held right now (bodies being read or checked) */
  bufferedBytes: number
  /** requests that failed on our side (spool write) */
  errors: number
  bytes: number
  lastError?: string
}

/** Retry-After (seconds) while the disk is full: the spool retries every append, so soon is fine. */
const DISK_FULL_RETRY_AFTER_S = 5

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

export class Listener {
  readonly name: string
  private server?: Server
  private socket?: ServerSocket
  private readonly tokenDigest?: Buffer
  private readonly throttle = new AuthThrottle()
  private readonly decorationKeys: string[]
  private readonly s: ListenerStats = {requests: 0, writes: 0, points: 0, rejectedLines: 0, badRequests: 0, unauthorized: 0, throttled: 0, refusedConnections: 0, connections: 0, tooLarge: 0, overloaded: 0, spoolFull: 0, bufferedBytes: 0, errors: 0, bytes: 0}
  address?: {host: string; port: number}
  /** `http` or `https` (tls_cert) */
  scheme: 'http' | 'https' = 'http'
  private readonly maxBuffered: number
  private readonly failureLog: RepeatLimiter

  constructor(private readonly opts: ListenerOptions) {
    this.name = opts.name ?? 'listener'
    this.maxBuffered = opts.maxBufferedBytes ?? Number.POSITIVE_INFINITY
    this.failureLog = new RepeatLimiter(opts.ctx.clock)
    if (opts.token) this.tokenDigest = digest(opts.token)
    const keys = new Set([...Object.keys(opts.ctx.globalTags), ...Object.keys(opts.tags ?? {})])
    if (opts.ctx.host) keys.add('host')
    this.decorationKeys = [...keys]
  }

  /** Starts listening; resolves with the bound address (the real port when 0 was asked for). */
  async start(): Promise<{host: string; port: number}> {
    const hp = parseHostPort(this.opts.listen)
    if (!hp) throw new Error(`invalid listen address ${this.opts.listen}`)
    const socket = createServerSocket(this.opts.socket ?? serverSocketOptions('inputs.listener', listenerInputSchema.parse({})), (req, res) => void this.handle(req, res), this.opts.ctx.log)
    const server = socket.server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(hp.port, hp.host === '' ? undefined : hp.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    this.socket = socket
    this.scheme = socket.scheme
    const a = server.address() as AddressInfo
    this.address = {host: a.address, port: a.port}
    return this.address
  }

  /** Stops accepting; requests in progress finish (their points reach the spool) unless `deadlineMs` passes. */
  async stop(deadlineMs = 5000): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    const socket = this.socket!
    const timer = setTimeout(() => socket.destroyConnections(), deadlineMs)
    await closed
    clearTimeout(timer)
  }

  stats(): ListenerStats {
    const sockets = this.socket?.stats()
    return {...this.s, refusedConnections: sockets?.refusedConnections ?? 0, connections: sockets?.connections ?? 0}
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.s.requests++
    res.setHeader('X-Influxdb-Version', INFLUXDB_COMPAT_VERSION)
    res.setHeader('X-Influxdb-Build', 'mon')
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://listener')
    } catch {
      return this.fail(req, res, new HttpError(400, 'invalid request URL'))
    }
    try {
      switch (url.pathname) {
        case '/ping':
          if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed('GET, HEAD')
          if (url.searchParams.get('verbose') === 'true') return this.json(res, 200, {version: INFLUXDB_COMPAT_VERSION})
          res.writeHead(204).end()
          return
        case '/health':
          if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed('GET, HEAD')
          return this.json(res, 200, {name: 'mon', message: 'ready for writes', status: 'pass', version: INFLUXDB_COMPAT_VERSION})
        case '/write':
        case '/api/v2/write':
          if (req.method !== 'POST') throw methodNotAllowed('POST')
          return await this.write(req, res, url, url.pathname === '/write' ? 1 : 2)
        default:
          throw new HttpError(404, `not found: ${url.pathname} (this is mon's line-protocol listener: POST /write or /api/v2/write)`)
      }
    } catch (err) {
      this.fail(req, res, err instanceof HttpError ? err : new HttpError(500, errorMessage(err)))
    }
  }

  private async write(req: IncomingMessage, res: ServerResponse, url: URL, api: 1 | 2): Promise<void> {
    if (this.tokenDigest) this.checkToken(req, url, api)
    const precision = readPrecision(url.searchParams.get('precision'), api)
    const held = {bytes: 0}
    try {
      await this.take(res, precision, await this.readBody(req, held))
    } finally {
      this.s.bufferedBytes -= held.bytes
    }
  }

  /** Checks a write's body (in the parts it arrived in) and spools its good points; answers 204, or 400 naming the first bad line. */
  private async take(res: ServerResponse, precision: Precision, arrived: Buffer[]): Promise<void> {
    const parts = arrived.length > MAX_PARTS ? [Buffer.concat(arrived)] : arrived
    for (const part of parts) this.s.bytes += part.length
    const now = this.opts.ctx.clock.now()
    const asIs = precision !== 'm' && precision !== 'h' // the spool and the stores take the others
    // The common case needs no points and no string: an ASCII body of good entries that have
    // their timestamps and tags is checked on its bytes and spooled as it came, in its parts.
    const opts = {precision, requiredTags: this.decorationKeys}
    const quick = !asIs ? undefined : parts.length === 1 ? checkAsciiLineProtocol(parts[0]!, opts) : checkAsciiLineProtocolParts(parts, opts)
    if (quick && quick.untimed === 0 && quick.missingTags === 0) {
      if (quick.points > 0) await this.spool(this.asItCame(parts, quick.points, precision as SpoolPrecision))
      res.writeHead(204).end()
      return
    }
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    const text = body.toString('utf8')
    // Otherwise: the exact errors, and still no points when nothing needs adding.
    const checked = asIs && !quick ? validateLineProtocol(text, {precision, requiredTags: this.decorationKeys, ranges: true}) : undefined
    let record: SpoolRecordInput | undefined
    let errors: LineError[]
    let written: number
    if (checked && checked.untimed === 0 && checked.missingTags === 0) {
      errors = checked.errors
      written = checked.points
      // the good entries only when some were bad, or when a byte order mark (which InfluxDB would
      // read as part of the first measurement) has to go
      const cut = errors.length > 0 || text.charCodeAt(0) === 0xfeff
      if (written > 0) record = cut ? this.goodEntries(text, checked.validLineRanges!, written, precision as SpoolPrecision) : this.asItCame([body], written, precision as SpoolPrecision)
    } else {
      const parsed = parseLineProtocol(text, {precision, now: NO_TIMESTAMP})
      errors = parsed.errors
      written = parsed.points.length
      if (written > 0) record = this.decoratedRecord(parsed.points, precision, now)
    }

    if (record) await this.spool(record)
    if (errors.length > 0) {
      this.s.rejectedLines += errors.length
      throw new HttpError(400, rejectionMessage(errors, written), {line: errors[0]!.line})
    }
    res.writeHead(204).end()
  }

  private async spool(record: SpoolRecordInput): Promise<void> {
    try {
      await this.opts.spool.append([record])
    } catch (err) {
      if (err instanceof SpoolFullError) {
        // nothing was taken: the client keeps the points and sends them again later
        this.s.spoolFull++
        throw new HttpError(503, `${err.message}; retry later`, {retryAfter: Math.ceil(err.retryAfterMs / 1000)})
      }
      this.s.errors++
      this.s.lastError = errorMessage(err)
      // a full disk passes: the client keeps the points and retries, as it does for max_buffered
      if (isDiskFull(err)) throw new HttpError(503, `cannot store the points: ${errorMessage(err)}`, {retryAfter: DISK_FULL_RETRY_AFTER_S})
      throw new HttpError(500, `cannot store the points: ${errorMessage(err)}`)
    }
    this.s.writes++
    this.s.points += record.points
  }

  /** The body as it came (its parts, written together): its points need nothing added. */
  private asItCame(parts: Buffer[], points: number, precision: SpoolPrecision): SpoolRecordInput {
    const last = parts.at(-1)
    const ended = !last || last.length === 0 || last[last.length - 1] === 10 ? parts : [...parts, NEWLINE]
    return {input: this.name, points, precision, payload: ended.length === 1 ? ended[0]! : ended}
  }

  /** The good entries of the text (`ranges` from validateLineProtocol), as they came. */
  private goodEntries(text: string, ranges: readonly number[], points: number, precision: SpoolPrecision): SpoolRecordInput {
    const parts: string[] = []
    for (let k = 0; k < ranges.length; k += 2) parts.push(text.slice(ranges[k], ranges[k + 1]))
    return {input: this.name, points, precision, payload: parts.join('\n') + '\n'}
  }

  /** The points with the time of arrival where they have none and the tags they lack, re-encoded (ms). */
  private decoratedRecord(points: Point[], precision: Precision, now: number): SpoolRecordInput {
    for (const p of points) {
      if (p.ts < -MAX_TS_MS) p.ts = now - (((now % MS_PER_UNIT[precision]) + MS_PER_UNIT[precision]) % MS_PER_UNIT[precision])
    }
    decorate(points, this.opts.ctx, this.opts.tags)
    const {text, count} = toLineProtocol(points)
    return {input: this.name, points: count, precision: 'ms' as const, payload: text}
  }

  /** 401 for a wrong token, 429 while the source is locked out (the right token included). */
  private checkToken(req: IncomingMessage, url: URL, api: 1 | 2): void {
    const address = sourceAddress(req.socket)
    const source = sourceKey(address)
    const now = this.opts.ctx.clock.now()
    const locked = this.throttle.lockedFor(source, now)
    if (locked > 0) {
      this.s.throttled++
      throw new HttpError(429, `too many failed logins from ${address}: locked out for ${retryAfterSeconds(locked)}s`, {retryAfter: retryAfterSeconds(locked)})
    }
    if (this.authorized(req, url, api)) return
    this.s.unauthorized++
    const {failures, lockedOut} = this.throttle.fail(source, now)
    // at most maxFailures lines per source and lockout: a guesser cannot flood the log
    this.opts.ctx.log.warn('listener refused a write: missing or wrong token', {source: address, failures})
    if (lockedOut) this.opts.ctx.log.warn('listener locked a source out after failed logins', {source, failures, lockoutSeconds: retryAfterSeconds(this.throttle.opts.lockoutMs)})
    throw new HttpError(401, 'authorization failed: missing or wrong token', {code: 'unauthorized'})
  }

  private authorized(req: IncomingMessage, url: URL, api: 1 | 2): boolean {
    const candidates: string[] = []
    const auth = req.headers.authorization
    if (auth) {
      const m = /^(Token|Bearer|Basic)\s+(.+)$/i.exec(auth.trim())
      if (m) {
        if (m[1]!.toLowerCase() === 'basic') {
          const decoded = Buffer.from(m[2]!, 'base64').toString('utf8')
          candidates.push(decoded.slice(decoded.indexOf(':') + 1))
        } else candidates.push(m[2]!)
      }
    }
    if (api === 1) {
      const p = url.searchParams.get('p')
      if (p !== null) candidates.push(p)
    }
    let ok = false
    for (const c of candidates) if (timingSafeEqual(digest(c), this.tokenDigest!)) ok = true
    return ok
  }

  /**
   * The body, decompressed. An oversized one is read to its end and discarded (up to a limit)
   * so the client gets the 413 instead of a connection reset. What it keeps is counted in
   * `held` (and in the listener's buffered bytes, which the caller gives back); a chunk that
   * would take the buffered bytes beyond max_buffered while other requests hold some ends the
   * request with a 503. A plain body comes in the parts it arrived in (not joined).
   */
  private readBody(req: IncomingMessage, held: {bytes: number}): Promise<Buffer[]> {
    const max = this.opts.maxBodyBytes
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim()
    if (encoding !== 'gzip' && encoding !== 'identity') return Promise.reject(new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}: send plain or gzip bodies`))
    const declared = Number(req.headers['content-length'] ?? -1)
    if (declared > max + DRAIN_LIMIT) return Promise.reject(this.tooLarge())
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      let oversized = declared > max
      let done = false
      const finish = (err: HttpError | undefined, body?: Buffer[]) => {
        if (done) return
        done = true
        if (err) reject(err)
        else resolve(body!)
      }
      const hold = (n: number) => {
        held.bytes += n
        this.s.bufferedBytes += n
      }
      req.on('data', (chunk: Buffer) => {
        if (done) return
        size += chunk.length
        if (size > max) oversized = true
        if (size > max + DRAIN_LIMIT) finish(this.tooLarge())
        if (oversized) return
        if (this.s.bufferedBytes + chunk.length > this.maxBuffered && this.s.bufferedBytes > held.bytes) return finish(this.overloaded())
        hold(chunk.length)
        chunks.push(chunk)
      })
      req.on('error', (err) => finish(new HttpError(400, `reading the request failed: ${err.message}`)))
      req.on('end', () => {
        if (oversized) return finish(this.tooLarge())
        if (encoding !== 'gzip') return finish(undefined, chunks)
        gunzip(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), {maxOutputLength: max}, (err, out) => {
          if (!err) {
            hold(out.length)
            return finish(undefined, [out])
          }
          if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') finish(this.tooLarge('decompressed '))
          else finish(new HttpError(400, `invalid gzip body: ${err.message}`))
        })
      })
    })
  }

  private overloaded(): HttpError {
    this.s.overloaded++
    return new HttpError(503, `the listener holds max_buffered (${this.maxBuffered} bytes) of request bodies in progress: retry shortly`, {close: true, retryAfter: 1})
  }

  private tooLarge(what = ''): HttpError {
    this.s.tooLarge++
    return new HttpError(413, `request ${what}body is larger than max_body (${this.opts.maxBodyBytes} bytes): send smaller batches`, {close: true})
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: HttpError): void {
    if (err.status === 400) this.s.badRequests++
    if (err.status >= 500) this.logFailure(err)
    const {close, allow, retryAfter, ...extra} = err.extra
    if (allow) res.setHeader('Allow', String(allow))
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter))
    // an unread body would be taken for the next request: close instead of draining a large one
    if (close || !req.complete) res.setHeader('Connection', 'close')
    const code = err.status === 401 ? 'unauthorized' : err.status === 404 ? 'not found' : err.status === 413 ? 'request too large' : err.status === 429 ? 'too many requests' : err.status === 503 ? 'unavailable' : err.status >= 500 ? 'internal error' : 'invalid'
    this.json(res, err.status, {code, message: err.message, error: err.message, ...extra})
    if (close || !req.complete) res.once('finish', () => req.socket.destroySoon?.())
  }

  /**
   * A 5xx is logged the first time and then at most once a minute per kind (status and message
   * without its numbers), with how many were not logged: every push answered 503 on a full disk
   * must not become a log line each. The counts are in the listener stats all along.
   */
  private logFailure(err: HttpError): void {
    const unlogged = this.failureLog.take(`${err.status} ${err.message.replace(/\d+/g, '#')}`)
    if (unlogged === undefined) return
    const fields = {status: err.status, error: err.message, ...(unlogged > 0 ? {notLoggedSince: unlogged} : {})}
    if (err.status === 503) this.opts.ctx.log.warn('listener refused a write for now (the client retries)', fields)
    else this.opts.ctx.log.error('listener request failed', fields)
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return void res.end()
    const text = JSON.stringify(body) + '\n'
    res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text)}).end(text)
  }
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, `method not allowed (use ${allow})`, {allow})
}

function readPrecision(value: string | null, api: 1 | 2): Precision {
  if (value === null || value === '') return 'ns'
  if (api === 2 && !['ns', 'us', 'ms', 's'].includes(value)) throw new HttpError(400, `invalid precision ${JSON.stringify(value)}: use ns, us, ms or s`)
  try {
    return parsePrecision(value)
  } catch (err) {
    throw new HttpError(400, `${errorMessage(err)}: use n, ns, u, us, ms, s, m or h`)
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

function clip(text: string): string {
  const one = text.replace(/\n/g, '\\n')
  return one.length > 200 ? one.slice(0, 200) + '…' : one
}

/** InfluxDB's wording, plus where: `partial write: line 3:12: <why>: '<line>' (2 points written, 1 line rejected) dropped=1`. */
export function rejectionMessage(errors: readonly LineError[], written: number): string {
  const first = errors[0]!
  const more = errors.length > 1 ? `; ${errors.length - 1} more bad line${errors.length === 2 ? '' : 's'}` : ''
  const head = written > 0 ? 'partial write' : 'unable to parse'
  return `${head}: line ${first.line}:${first.col}: ${first.message}: '${clip(first.text)}'${more} (${written} point${written === 1 ? '' : 's'} written, ${errors.length} line${errors.length === 1 ? '' : 's'} rejected) dropped=${errors.length}`
}

// ---------------------------------------------------------------------------------------------
// inputs.listener: its config schema (defaults included), sample block and factory

export const listenerInputSchema = section({
  enabled: bool().default(false),
  listen: listenAddress({allowPortZero: true}).default('127.0.0.1:8186'),
  token: z.string().optional(),
  max_body: size().default('32MiB'),
  max_buffered: size().default('256MiB'),
  tags: tagsSchema.optional(),
  // Telegraf keeps connections open between flushes (its default interval is 10s)
  ...serverSocketFields({requestTimeout: '2m', idleTimeout: '65s'}),
})
  .superRefine(requireTokenOffLoopback('inputs.listener.token'))
  .superRefine(requireTlsPair('inputs.listener'))

export const listenerInput = defineCollector({
  kind: 'listener',
  multiple: false,
  schema: listenerInputSchema,
  sample: `# Accept pushed line protocol over HTTP (POST /write, InfluxDB-compatible).
listener:
  # Start the listener.
  enabled: false
  # Address to listen on; anything but loopback needs a token.
  listen: 127.0.0.1:8186
  # Bearer token clients must send.
~  token: \${MON_LISTENER_TOKEN}
  # Largest request body accepted.
  max_body: 32MiB
  # Most request bytes held at once across concurrent writes; beyond it clients get 503 and retry.
  max_buffered: 256MiB
  # Tags added to pushed points that lack them.
~  tags: {source: push}
  # Close a connection whose request headers are not complete by then (slow clients).
  header_timeout: 10s
  # Longest a whole request may take, body included.
  request_timeout: 2m
  # Close keep-alive connections idle this long.
  idle_timeout: 65s
  # Connections one client address may hold; new ones beyond are closed at once.
  max_connections_per_source: 256
  # Connections in all; keep it under the open-files limit (ulimit -n).
  max_connections: 4096
  # Serve HTTPS with this certificate and key (PEM, relative to this file).
~  tls_cert: /etc/mon/tls/server.pem
~  tls_key: /etc/mon/tls/server.key
  # Only accept clients with a certificate this CA signed.
~  tls_client_ca: /etc/mon/tls/ca.pem`,
})
