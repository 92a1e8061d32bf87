import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {Clock} from '../clock.js'
import type {LoadedConfig} from '../config/load.js'
import {apiSchema, isLoopbackHost, parseHostPort} from '../config/schema.js'
import {InputError, UserError, errorMessage} from '../errors.js'
import {AmbiguousIdError, IncidentConflictError, NotFoundError} from '../incidents/errors.js'
import type {IncidentService} from '../incidents/types.js'
import {silentLogger, type Logger} from '../log.js'
import {AuthThrottle, retryAfterSeconds} from '../server/auth-throttle.js'
import {createServerSocket, serverSocketOptions, sourceAddress, sourceKey, type ServerSocketOptions} from '../server/socket.js'
import {mountAlertPage} from './alert-page.js'
import {bearerToken, tokenChecker} from './auth.js'
import {mountIncidentRoutes} from './api-incidents.js'
import type {ApiHandler, ApiReply, ApiRequest, ApiServer, ListenAddress, RouteOptions} from './http-api.js'

export type {ApiHandler, ApiReply, ApiRequest, ApiServer, ListenAddress, RouteOptions} from './http-api.js'

/**
 * The daemon's HTTP server (node:http): the incident API under /api/v1 (alerts, acks, silences,
 * history — api-incidents.ts), the read-only alert page notifications link to (/alerts/{fingerprint},
 * alert-page.ts), plus whatever the daemon adds with {@link ApiServer.route} (/healthz,
 * /metrics). Bound to 127.0.0.1:9464 unless `api.listen` says otherwise.
 *
 * Every /api/ request needs `Authorization: Bearer <api.token>` (compared in constant time). A
 * wrong or missing token is 401 and goes to the audit trail with the remote address; the 10th
 * failure within a minute locks that address out for a minute (audited once): until then every
 * request from it that needs the token gets 429 with Retry-After, the right token included.
 * Without a configured token /api/ refuses everything (routes added with `{auth: false}`, such as
 * /healthz, still answer). The socket (timeouts, connection caps, TLS) is src/core/server/socket.ts.
 *
 * Replies are JSON; errors are `{"error": {"code", "message", "hint"?, "details"?, "candidates"?}}`
 * with 400 (bad input), 404 (unknown id), 409 (state conflict: already acked, resolved …), 401,
 * 413, 429 or 500 (a bug: logged, never shown with its stack).
 */

export interface ApiServerOptions {
  /** `host:port` (api.listen); port 0 picks a free port. Default 127.0.0.1:9464 */
  listen?: string
  /** the bearer token (api.token or MON_API_TOKEN); without one /api/ refuses every request */
  token?: string
  /** serve the incident API under /api/v1 */
  incidents?: IncidentService
  /** where refused requests are recorded; default: `incidents.recordAuthFailure` (LocalIncidents) */
  auditAuthFailure?: (source: string, detail: string) => void | Promise<void>
  clock: Clock
  log?: Logger
  /** largest request body; default 64 KiB */
  maxBodyBytes?: number
  /** timeouts, connection caps, TLS; default: those of an empty api section */
  socket?: ServerSocketOptions
}

export const DEFAULT_LISTEN = '127.0.0.1:9464'
const DEFAULT_MAX_BODY = 64 * 1024

interface Route {
  method: string
  pattern: string
  regex: RegExp
  names: string[]
  handler: ApiHandler
  auth: boolean
  opts: RouteOptions
}

/** An error with an HTTP status, for handlers (bad query parameters and the like). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'error',
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const log = opts.log ?? silentLogger
  const routes: Route[] = []
  const throttle = new AuthThrottle()
  const tokenMatches = tokenChecker(opts.token)
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY
  const listen = opts.listen ?? DEFAULT_LISTEN
  const hp = parseHostPort(listen)
  if (!hp) throw new InputError(`invalid api.listen address '${listen}'`, {hint: 'use host:port, e.g. 127.0.0.1:9464'})
  if (!isLoopbackHost(hp.host) && !opts.token) throw new InputError(`api.listen ${listen} is not loopback, so the API needs api.token`, {hint: 'set api.token (e.g. token: ${MON_API_TOKEN})'})
  let suppressed = 0
  const incidentsAudit = (opts.incidents as {recordAuthFailure?: (source: string, detail: string) => Promise<void>} | undefined)?.recordAuthFailure
  const auditAuthFailure = opts.auditAuthFailure ?? incidentsAudit?.bind(opts.incidents)

  const api: ApiServer = {
    route(method, pattern, handler, ro = {}) {
      const names: string[] = []
      const source = pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
        names.push(name)
        return '([^/]+)'
      })
      const auth = ro.auth === 'off-loopback' ? !isLoopbackHost(hp.host) : ro.auth === 'if-token' ? Boolean(opts.token) : (ro.auth ?? true)
      routes.push({method: method.toUpperCase(), pattern, regex: new RegExp(`^${source}/?$`), names, handler, auth, opts: ro})
    },
    listen: () => start(),
    close: () => stop(),
  }

  if (opts.incidents) {
    mountIncidentRoutes(api, opts.incidents, opts.clock)
    mountAlertPage(api, opts.incidents)
  }

  const socket = createServerSocket(opts.socket ?? serverSocketOptions('api', apiSchema.parse({})), (req, res) => {
    handle(req, res).catch((error) => {
      log.error('api: request failed', {error: errorMessage(error)})
      if (!res.headersSent) send(res, 500, {error: {code: 'internal', message: 'internal error'}})
      else res.destroy()
    })
  }, log)
  const server = socket.server

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestTarget(req.url ?? '/')
    const method = (req.method ?? 'GET').toUpperCase()
    const remoteAddress = sourceAddress(req.socket)
    const path = url.pathname
    const matching = routes.filter((r) => r.regex.test(path))
    const route = matching.find((r) => r.method === method)
    const needsAuth = path.startsWith('/api/') || (route?.auth ?? false)

    const source = sourceKey(remoteAddress)
    const locked = needsAuth ? throttle.lockedFor(source, opts.clock.now()) : 0
    if (locked > 0) {
      // the lockout was audited when it began; each request during it only counts in the log
      req.resume()
      suppressed++
      if (suppressed === 1 || suppressed % 100 === 0) log.warn('api: refused requests from a locked-out source', {source: remoteAddress, suppressed})
      const seconds = retryAfterSeconds(locked)
      send(res, 429, {error: {code: 'too_many_failures', message: `too many failed logins from this address; locked out for ${seconds}s`}}, {'Retry-After': String(seconds)})
      return
    }

    const credentials = route?.opts.credentials ? route.opts.credentials({headers: req.headers, query: url.searchParams}) : bearerToken(req.headers.authorization)
    if (needsAuth && !tokenMatches(credentials)) {
      req.resume()
      const given = credentials !== undefined
      const reason = !opts.token ? 'the API has no token configured' : given ? 'wrong token' : 'missing token'
      const {failures, lockedOut} = throttle.fail(source, opts.clock.now())
      const lockout = lockedOut ? `; ${failures} failures, locked out for ${retryAfterSeconds(throttle.opts.lockoutMs)}s` : ''
      log.warn('api: refused request', {source: remoteAddress, method, path, reason: reason + lockout})
      try {
        await auditAuthFailure?.(remoteAddress, `${method} ${path}: ${reason}${lockout}`)
      } catch (error) {
        log.error('api: cannot audit a refused request', {error: errorMessage(error)})
      }
      const custom = route?.opts.unauthorized?.(!opts.token ? 'no-token' : given ? 'wrong' : 'missing')
      if (custom) {
        send(res, custom.status ?? 401, custom.json, custom.headers)
        return
      }
      const message = !opts.token
        ? 'this mon daemon has no API token configured, so its API refuses every request'
        : given
          ? 'wrong token'
          : 'missing token: send Authorization: Bearer <token>'
      const hint = !opts.token ? 'set api.token (or MON_API_TOKEN) in the daemon config' : 'use the value of api.token of this daemon (mon alerts --remote reads it from MON_API_TOKEN)'
      send(res, 401, {error: {code: 'unauthorized', message, hint}}, {'WWW-Authenticate': 'Bearer realm="mon"'})
      return
    }

    if (!route) {
      req.resume()
      if (matching.length > 0) {
        const allow = [...new Set(matching.map((r) => r.method))].join(', ')
        send(res, 405, {error: {code: 'method_not_allowed', message: `${method} is not allowed on ${path}`, hint: `allowed: ${allow}`}}, {Allow: allow})
      } else {
        send(res, 404, {error: {code: 'no_route', message: `no such endpoint: ${method} ${path}`}})
      }
      return
    }

    let body: unknown
    try {
      if (route.opts.body === 'text') body = await readText(req, maxBody)
      // a form body (Prometheus' POST /api/v1/query) joins the URL's parameters, as Go's r.FormValue has it
      else if (/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) for (const [k, v] of new URLSearchParams(await readText(req, maxBody))) url.searchParams.append(k, v)
      // a request that announces no body (a GET: every query of a dashboard) has none to wait for
      else if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) req.resume()
      else body = await readJson(req, maxBody)
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 400
      send(res, status, {error: {code: status === 413 ? 'too_large' : 'bad_body', message: errorMessage(error)}})
      return
    }

    const m = route.regex.exec(path)!
    const params: Record<string, string> = {}
    try {
      route.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)))
    } catch {
      send(res, 400, {error: {code: 'bad_path', message: `malformed path ${path}`}})
      return
    }

    let reply: ApiReply
    try {
      reply = await route.handler({method, path, params, query: url.searchParams, body, remoteAddress, headers: req.headers})
    } catch (error) {
      const [status, payload] = errorReply(error)
      if (status === 500) log.error('api: handler failed', {method, path, error: error instanceof Error ? (error.stack ?? error.message) : String(error)})
      else log.debug('api: request refused', {method, path, status, error: errorMessage(error)})
      send(res, status, payload)
      return
    }
    if (reply.text !== undefined) {
      const status = reply.status ?? 200
      // a 204 (the InfluxDB /ping) or 304 has no body, and must not say a length (RFC 9110)
      const length = status === 204 || status === 304 ? {} : {'Content-Length': Buffer.byteLength(reply.text)}
      res.writeHead(status, {'Content-Type': reply.contentType ?? 'text/plain; charset=utf-8', ...length, ...reply.headers})
      res.end(reply.text)
    } else if (reply.jsonBytes !== undefined || reply.jsonParts !== undefined) {
      // an answer made at once says its length; one written in parts is sent chunked (writeHead without a length)
      const length = reply.jsonBytes ? {'Content-Length': reply.jsonBytes.byteLength} : {}
      res.writeHead(reply.status ?? 200, {'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...length, ...reply.headers})
      // node corks the socket at a response's write until the next tick: each part is sent as it comes
      const last = reply.jsonBytes ?? reply.jsonParts!((part) => (res.write(part), res.socket?.uncork()))
      const sent = reply.sent
      res.end(last, sent && (() => sent()))
    } else {
      send(res, reply.status ?? 200, reply.json ?? null, reply.headers)
    }
  }

  async function start(): Promise<ListenAddress> {
    // on loopback without a token the API is simply closed (the non-loopback case is refused above)
    if (!opts.token) log.info('api: api.token is not set, so /api/ refuses every request (set api.token or MON_API_TOKEN for remote acks)')
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(
          new UserError(`cannot listen on ${listen}: ${error.code === 'EADDRINUSE' ? 'the address is in use' : error.code === 'EACCES' ? 'permission denied' : error.message}`, {
            hint: error.code === 'EADDRINUSE' ? 'is another mon daemon running? or change api.listen' : 'change api.listen',
          }),
        )
      }
      server.once('error', onError)
      const done = () => {
        server.off('error', onError)
        resolve()
      }
      if (hp!.host === '' || hp!.host === '*') server.listen(hp!.port, done)
      else server.listen(hp!.port, hp!.host.replace(/^\[|\]$/g, ''), done)
    })
    const addr = server.address() as AddressInfo
    const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address
    const out = {host: addr.address, port: addr.port, url: `${socket.scheme}://${host}:${addr.port}`}
    log.info('api: listening', {url: out.url})
    return out
  }

  async function stop(): Promise<void> {
    if (!server.listening) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    // a keep-alive client mid-request gets its answer; then everything goes
    setTimeout(() => socket.destroyConnections(), 2_000).unref()
    await closed
  }

  return api
}

/** The server the daemon runs: listen address and token from the config (token also from MON_API_TOKEN). */
export function apiServerFromConfig(
  loaded: LoadedConfig,
  services: Omit<ApiServerOptions, 'listen' | 'token'> & {env?: NodeJS.ProcessEnv},
): ApiServer {
  const env = services.env ?? process.env
  const {api} = loaded.config
  return createApiServer({...services, listen: api.listen, token: api.token || env.MON_API_TOKEN || undefined, socket: serverSocketOptions('api', api)})
}

/** A path of plain segments: letters, digits, `_`, `-` (no dot segments, nothing to percent-encode, not `//host`). */
const PLAIN_PATH = /^\/(?!\/)[\w\-/]*$/
/** What the URL parser does more with than split and decode: a fragment, and white space or control characters (trimmed or dropped). */
const AS_URL = /[\x00-\x20#]/

/**
 * The path and query parameters of a request's target, as `new URL(target, base)` has them. The
 * WHATWG URL parser was ~2 % of the daemon's CPU for a small query (a dashboard's GET
 * /api/v1/query), so a target whose path is plain and which has no fragment, white space or
 * control characters — every request of the API and every dashboard's — is split at its `?`
 * instead: such a path is its own pathname, and the query the URL parser would percent-encode
 * first decodes to the same parameters. Anything else (dot segments, escapes, absolute form) goes
 * through URL (test/unit/api-request-target.test.ts compares the two).
 */
export function requestTarget(target: string): {pathname: string; searchParams: URLSearchParams} {
  const q = target.indexOf('?')
  const pathname = q < 0 ? target : target.slice(0, q)
  if (PLAIN_PATH.test(pathname) && !AS_URL.test(target)) return {pathname, searchParams: new URLSearchParams(q < 0 ? '' : target.slice(q + 1))}
  const url = new URL(target, 'http://mon.invalid')
  return {pathname: url.pathname, searchParams: url.searchParams}
}

function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(payload), headers)
}

function sendText(res: ServerResponse, status: number, json: string, headers: Record<string, string> = {}): void {
  const body = json + '\n'
  res.writeHead(status, {'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body), ...headers})
  res.end(body)
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const text = (await readText(req, max)).trim()
  if (!text) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${errorMessage(error)}`)
  }
}

async function readText(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > max) {
      req.resume()
      throw new HttpError(413, `request body larger than ${max} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Errors in kinds → status and body (the remote client turns them back into the same kinds). */
export function errorReply(error: unknown): [number, {error: Record<string, unknown>}] {
  if (error instanceof HttpError) return [error.status, {error: {code: error.code, message: error.message, ...(error.hint ? {hint: error.hint} : {})}}]
  if (error instanceof UserError) {
    const base: Record<string, unknown> = {message: error.message}
    if (error.hint) base.hint = error.hint
    if (error.details) base.details = error.details
    if (error instanceof NotFoundError) return [404, {error: {code: 'not_found', ...base}}]
    if (error instanceof AmbiguousIdError) return [400, {error: {code: 'ambiguous', ...base, candidates: error.candidates}}]
    if (error instanceof InputError) return [400, {error: {code: 'bad_request', ...base}}]
    if (error instanceof IncidentConflictError) return [409, {error: {code: 'conflict', ...base}}]
    return [409, {error: {code: 'refused', ...base}}]
  }
  return [500, {error: {code: 'internal', message: 'internal error (logged by the daemon)'}}]
}
