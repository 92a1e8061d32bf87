import {readFileSync} from 'node:fs'
import {createServer as createHttpServer, type RequestListener, type Server} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {Socket} from 'node:net'
import {createSecureContext} from 'node:tls'
import {parseDuration} from '../config/duration.js'
import {InputError, UserError, errorMessage} from '../errors.js'
import type {Logger} from '../log.js'

/**
 * Every server socket of mon (the push listener, the daemon API) is made here, with the same
 * limits, so one slow or hostile client cannot hold the process:
 *
 * - `header_timeout`: a connection that has not sent complete request headers by then is closed
 *   (slowloris), and so is one that sends nothing; it also bounds the TLS handshake.
 *   `request_timeout` bounds a whole request, `idle_timeout` a keep-alive connection between
 *   requests.
 * - `max_connections_per_source`: connections one address holds at once; beyond it, new ones from
 *   that address are closed at once. This is what keeps the others in: a total cap alone, once
 *   filled by one bad client, would shut legitimate clients out as well.
 * - `max_connections`: all connections at once, kept below the process's open-files limit (the
 *   systemd unit sets LimitNOFILE; with a lower `ulimit -n` the cap is lowered to fit and logged),
 *   so accept() never fails with EMFILE — which resets everyone.
 * - `tls_cert` + `tls_key` serve HTTPS; `tls_client_ca` also requires a client certificate
 *   signed by that CA.
 */
export interface ServerSocketOptions {
  /** the config section, for messages: `api`, `inputs.listener` */
  section: string
  headersTimeoutMs: number
  requestTimeoutMs: number
  idleTimeoutMs: number
  maxConnections: number
  maxConnectionsPerSource: number
  tls?: {certFile: string; keyFile: string; clientCaFile?: string}
}

/** The config fields every server section has (schema.ts `serverSocketFields`). */
export interface ServerSocketConfig {
  header_timeout: string
  request_timeout: string
  idle_timeout: string
  max_connections: number
  max_connections_per_source: number
  tls_cert?: string
  tls_key?: string
  tls_client_ca?: string
}

export interface ServerSocketStats {
  /** connections open now */
  connections: number
  /** connections closed at once because their source (or everyone) was at the cap */
  refusedConnections: number
}

export interface ServerSocket {
  server: Server
  /** `https` with tls_cert, else `http` */
  scheme: 'http' | 'https'
  stats(): ServerSocketStats
  /** Closes every open connection (a stop's deadline has passed). */
  destroyConnections(): void
}

export function serverSocketOptions(section: string, c: ServerSocketConfig): ServerSocketOptions {
  return {
    section,
    headersTimeoutMs: parseDuration(c.header_timeout),
    requestTimeoutMs: parseDuration(c.request_timeout),
    idleTimeoutMs: parseDuration(c.idle_timeout),
    maxConnections: c.max_connections,
    maxConnectionsPerSource: c.max_connections_per_source,
    tls: c.tls_cert && c.tls_key ? {certFile: c.tls_cert, keyFile: c.tls_key, clientCaFile: c.tls_client_ca} : undefined,
  }
}

/** The client's address, as logged and audited (`::ffff:127.0.0.1` → `127.0.0.1`). */
export function sourceAddress(socket: Socket): string {
  const a = socket.remoteAddress ?? 'unknown'
  return a.startsWith('::ffff:') ? a.slice(7) : a
}

/**
 * What the per-source cap and the auth throttle count by: an IPv4 address, or an IPv6 address's
 * /64 — one host usually holds a whole /64, and counting its 2^64 addresses apart would make both
 * limits free to dodge.
 */
export function sourceKey(address: string): string {
  if (!address.includes(':')) return address
  const bare = address.replace(/%.*$/, '')
  const [head = '', tail] = bare.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`
}

/** Files a process keeps for itself besides client connections (store, spool, logs, outgoing requests). */
export const RESERVED_FILES = 256

/** The soft open-files limit from /proc/self/limits (Linux); undefined when unknown or unlimited. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8')
    } catch {
      return undefined
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text)
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined
}

/** max_connections, lowered to what the open-files limit leaves after {@link RESERVED_FILES} (at least 1). */
export function effectiveMaxConnections(configured: number, fileLimit: number | undefined): number {
  if (fileLimit === undefined) return configured
  return Math.max(1, Math.min(configured, fileLimit - RESERVED_FILES))
}

/** An HTTP(S) server with the limits; not listening yet. TLS files are read now: a bad one is a UserError naming the field. */
export function createServerSocket(opts: ServerSocketOptions, handler: RequestListener, log?: Logger): ServerSocket {
  const limits = {
    headersTimeout: opts.headersTimeoutMs,
    // node wants requestTimeout ≥ headersTimeout (0 would mean none)
    requestTimeout: Math.max(opts.requestTimeoutMs, opts.headersTimeoutMs),
    keepAliveTimeout: opts.idleTimeoutMs,
    // node checks the two timeouts on this interval (default 30 s): a short header_timeout must be checked often enough to mean it
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(opts.headersTimeoutMs / 4))),
  }
  // node's headersTimeout starts with a request's first byte: a connection that sends nothing at
  // all would stay. Until its first request it gets header_timeout as an inactivity timeout
  // (node's own timeout handler then destroys it); the request clears it, as node does for
  // keep-alive connections, so a slow handler or spool is never cut off.
  const firstRequestWithin = (socket: Socket) => socket.setTimeout(opts.headersTimeoutMs)
  const guarded: RequestListener = (req, res) => {
    if (req.socket.timeout) req.socket.setTimeout(0)
    handler(req, res)
  }
  const server = opts.tls ? createHttpsServer({...limits, ...readTls(opts.section, opts.tls), handshakeTimeout: opts.headersTimeoutMs}, guarded) : createHttpServer(limits, guarded)
  // with TLS the handshake timeout covers the raw socket; the timer goes on the TLS socket http reads
  if (opts.tls) server.prependListener('secureConnection', firstRequestWithin)
  server.headersTimeout = limits.headersTimeout
  server.requestTimeout = limits.requestTimeout
  server.keepAliveTimeout = limits.keepAliveTimeout

  const fileLimit = openFileLimit()
  const maxConnections = effectiveMaxConnections(opts.maxConnections, fileLimit)
  if (maxConnections < opts.maxConnections) {
    log?.info(`${opts.section}: at most ${maxConnections} connections at once (max_connections is ${opts.maxConnections}, but the process may open only ${fileLimit} files: raise ulimit -n or LimitNOFILE)`)
  }
  const perSource = new Map<string, number>()
  const open = new Set<Socket>()
  let refused = 0
  // first, so a refused socket is gone before http (or tls) starts reading from it
  server.prependListener('connection', (socket: Socket) => {
    const source = sourceKey(sourceAddress(socket))
    const held = perSource.get(source) ?? 0
    if (held >= opts.maxConnectionsPerSource || open.size >= maxConnections) {
      refused++
      socket.destroy()
      return
    }
    perSource.set(source, held + 1)
    open.add(socket)
    if (!opts.tls) firstRequestWithin(socket)
    socket.once('close', () => {
      open.delete(socket)
      const n = perSource.get(source)! - 1
      if (n === 0) perSource.delete(source)
      else perSource.set(source, n)
    })
  })
  return {
    server,
    scheme: opts.tls ? 'https' : 'http',
    stats: () => ({connections: open.size, refusedConnections: refused}),
    destroyConnections() {
      for (const s of open) s.destroy()
    },
  }
}

/** Reads and checks the TLS files now (a reload does so before it stops the socket it would replace). */
export function checkServerSocket(opts: ServerSocketOptions): void {
  if (opts.tls) readTls(opts.section, opts.tls)
}

function readTls(section: string, tls: NonNullable<ServerSocketOptions['tls']>): {cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean; rejectUnauthorized?: boolean} {
  const read = (field: string, file: string) => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new InputError(`cannot read ${section}.${field} ${file}: ${errorMessage(err)}`, {hint: `${section}.${field} is a PEM file (paths are relative to the config file)`})
    }
  }
  const out = {cert: read('tls_cert', tls.certFile), key: read('tls_key', tls.keyFile), ...(tls.clientCaFile ? {ca: read('tls_client_ca', tls.clientCaFile), requestCert: true, rejectUnauthorized: true} : {})}
  try {
    // the server would only say so on the first handshake
    createSecureContext(out)
  } catch (err) {
    throw new UserError(`${section}.tls_cert / tls_key cannot be used: ${errorMessage(err)}`, {hint: 'tls_cert is the PEM certificate (chain) and tls_key its unencrypted PEM private key', exitCode: 2})
  }
  return out
}
