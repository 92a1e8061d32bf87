/**
 * HTTP for the InfluxDB backends: one keep-alive connection pool per store, a per-request timeout,
 * and which failures are worth retrying (the retry loop and its policy are src/core/retry.ts).
 */
import http from 'node:http'
import https from 'node:https'
import {parseRetryAfter, type RetryDecision, type RetryPolicy} from '../../retry.js'

export interface HttpResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH'
  /** path below the base URL, e.g. `/write` */
  path: string
  query?: Record<string, string | undefined>
  /** parts (readonly Buffer[]) are written one after the other under one Content-Length, never joined */
  body?: Buffer | string | readonly Buffer[]
  headers?: Record<string, string>
}

/** The request never got an HTTP answer: refused, reset, DNS, TLS, timeout. */
export class NetworkError extends Error {
  constructor(
    readonly url: string,
    readonly code: string | undefined,
    message: string,
    opts: {cause?: unknown} = {},
  ) {
    super(message, opts)
    this.name = 'NetworkError'
  }
}

/**
 * The client was closed while (or before) a request ran: not retried. A query that timed out is
 * abandoned and the store closed; without this its retries would keep the process alive.
 */
export class ClientClosedError extends Error {
  constructor(readonly url: string) {
    super(`the connection to ${url} was closed`)
    this.name = 'ClientClosedError'
  }
}

/** A non-2xx answer. */
export class HttpStatusError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    readonly body: string,
  ) {
    super(`HTTP ${status} from ${url}: ${serverMessage(body) || '(no message)'}`)
    this.name = 'HttpStatusError'
  }

  /** InfluxDB's own message: `{"error": …}` (1.x) or `{"message": …}` (2.x/3.x), else the body. */
  get serverMessage(): string {
    return serverMessage(this.body)
  }
}

export function serverMessage(body: string): string {
  const text = body.trim()
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as {error?: unknown; message?: unknown}
      if (typeof json.error === 'string') return json.error
      if (typeof json.message === 'string') return json.message
    } catch {
      // not JSON after all
    }
  }

  return text.length > 500 ? text.slice(0, 500) + '…' : text
}

export interface HttpClientOptions {
  /** base URL; a path prefix (a reverse proxy's) is kept */
  url: string
  /** per request, ms */
  timeout: number
  tlsVerify: boolean
  /** sent with every request (Authorization) */
  headers?: Record<string, string>
  /** most parallel connections */
  maxSockets?: number
}

export class HttpClient {
  readonly base: URL
  private readonly agent: http.Agent
  private readonly transport: typeof http | typeof https
  private closed = false
  /** request targets by path and query: the same few (a store's /write) for every request, parsed once */
  private readonly targets = new Map<string, {url: URL; shown: string}>()

  constructor(private readonly opts: HttpClientOptions) {
    this.base = new URL(opts.url)
    const secure = this.base.protocol === 'https:'
    this.transport = secure ? https : http
    const agentOpts = {keepAlive: true, maxSockets: opts.maxSockets ?? 8}
    this.agent = secure ? new https.Agent({...agentOpts, rejectUnauthorized: opts.tlsVerify}) : new http.Agent(agentOpts)
  }

  /** The full URL of a path (for messages): the base URL's path prefix plus `path`. */
  urlFor(path: string, query?: Record<string, string | undefined>): URL {
    const url = new URL(this.base.href)
    url.pathname = url.pathname.replace(/\/+$/, '') + path
    url.search = ''
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v)
    return url
  }

  /** {@link urlFor} and its origin + path (for messages), remembered for the next request like it. */
  private target(path: string, query?: Record<string, string | undefined>): {url: URL; shown: string} {
    let key = path
    for (const k in query) key += `\0${k}\0${query[k] ?? '\u0001'}`
    let t = this.targets.get(key)
    if (!t) {
      const url = this.urlFor(path, query)
      t = {url, shown: this.base.origin + url.pathname}
      // queries differ request by request (their text is in the URL): keep only a few
      if (this.targets.size >= 16) this.targets.clear()
      this.targets.set(key, t)
    }
    return t
  }

  /** One attempt. Resolves with any HTTP answer; rejects with {@link NetworkError} when there is none. */
  request(req: HttpRequest): Promise<HttpResponse> {
    const {url, shown} = this.target(req.path, req.query)
    if (this.closed) return Promise.reject(new ClientClosedError(shown))
    return new Promise((resolve, reject) => {
      // a string body is written as it is (no Buffer copy of a large batch first)
      const body = req.body
      const headers: Record<string, string | number> = {...this.opts.headers, ...req.headers}
      if (body !== undefined) headers['Content-Length'] = contentLength(body)
      const r = this.transport.request(url, {method: req.method, agent: this.agent, headers, timeout: this.opts.timeout}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('error', (err) => reject(new NetworkError(shown, (err as NodeJS.ErrnoException).code, `reading the answer of ${shown} failed: ${err.message}`, {cause: err})))
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}))
      })
      r.on('timeout', () => r.destroy(Object.assign(new Error(`no answer within ${this.opts.timeout} ms`), {code: 'ETIMEDOUT'})))
      r.on('error', (err: NodeJS.ErrnoException) => reject(this.closed ? new ClientClosedError(shown) : new NetworkError(shown, err.code, networkMessage(err), {cause: err})))
      endWith(r, body)
    })
  }

  /**
   * One attempt whose answer is handed over as it arrives (large query answers are not buffered):
   * resolves with the status and the body stream; rejects with {@link NetworkError} when there is
   * no answer. A failure while reading the body is raised by the stream as a NetworkError.
   */
  stream(req: HttpRequest): Promise<{status: number; headers: http.IncomingHttpHeaders; body: AsyncIterable<Buffer>}> {
    const url = this.urlFor(req.path, req.query)
    const shown = this.base.origin + url.pathname
    if (this.closed) return Promise.reject(new ClientClosedError(shown))
    return new Promise((resolve, reject) => {
      const body = req.body
      const headers: Record<string, string | number> = {...this.opts.headers, ...req.headers}
      if (body !== undefined) headers['Content-Length'] = contentLength(body)
      const r = this.transport.request(url, {method: req.method, agent: this.agent, headers, timeout: this.opts.timeout}, (res) => {
        async function* read(): AsyncGenerator<Buffer> {
          try {
            for await (const chunk of res) yield chunk as Buffer
          } catch (error) {
            const err = error as NodeJS.ErrnoException
            throw new NetworkError(shown, err.code, `reading the answer of ${shown} failed: ${err.message}`, {cause: err})
          }
        }

        resolve({status: res.statusCode ?? 0, headers: res.headers, body: read()})
      })
      r.on('timeout', () => r.destroy(Object.assign(new Error(`no answer within ${this.opts.timeout} ms`), {code: 'ETIMEDOUT'})))
      r.on('error', (err: NodeJS.ErrnoException) => reject(this.closed ? new ClientClosedError(shown) : new NetworkError(shown, err.code, networkMessage(err), {cause: err})))
      endWith(r, body)
    })
  }

  close(): void {
    this.closed = true
    // also the sockets of requests still running (an abandoned, timed-out query)
    this.agent.destroy()
  }
}

function contentLength(body: Buffer | string | readonly Buffer[]): number {
  if (typeof body === 'string') return Buffer.byteLength(body)
  if (!Array.isArray(body)) return (body as Buffer).length
  let n = 0
  for (const part of body as readonly Buffer[]) n += part.length
  return n
}

/**
 * Sends the body and ends the request. Parts are written in order, corked: they leave with the
 * headers in one writev once the socket is there (the same syscall a single buffer takes, without
 * a copy joining them first).
 */
function endWith(r: http.ClientRequest, body: Buffer | string | readonly Buffer[] | undefined): void {
  if (!Array.isArray(body)) return void r.end(body as Buffer | string | undefined)
  r.cork()
  for (const part of body as readonly Buffer[]) if (part.length > 0) r.write(part)
  r.end()
  r.uncork()
}

function networkMessage(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${err.code})`
    case 'ETIMEDOUT':
      return err.message
    case 'ECONNRESET':
      return 'connection reset by the server'
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message
  }
}

// ---------------------------------------------------------------------------------------------
// Retry: the loop and the policy are src/core/retry.ts; what is worth retrying is InfluxDB's own.

/** Writes: 1 s doubling to 30 s plus up to 0.5 s, 6 attempts within a minute (the config's max_retries / max_retry_time apply first). */
export const DEFAULT_RETRY: RetryPolicy = {initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 500, retryAfter: 'replaces', maxRetryAfterMs: Infinity, maxAttempts: 6, deadlineMs: 60_000}

/** 429, 5xx (except 501 Not Implemented and 505) and network failures are worth another try. */
export function classifyFailure(err: unknown, now: number): RetryDecision {
  if (err instanceof NetworkError) return {retry: true}
  if (err instanceof HttpStatusError) {
    const s = err.status
    const retry = s === 429 || (s >= 500 && s !== 501 && s !== 505)
    if (!retry) return {retry: false}
    const retryAfter = parseRetryAfter(err.headers['retry-after'], now)
    return retryAfter === undefined ? {retry} : {retry, retryAfter}
  }

  return {retry: false}
}
