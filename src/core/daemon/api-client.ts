import {request as httpRequest, type OutgoingHttpHeaders} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {InputError, UserError, errorMessage} from '../errors.js'
import {AmbiguousIdError, IncidentConflictError, NotFoundError, type IdCandidate} from '../incidents/errors.js'
import type {
  ActionInput,
  ActionResult,
  AlertDetail,
  AlertView,
  HistoryEntry,
  HistoryQuery,
  IncidentService,
  ListQuery,
  SilenceInput,
  SilenceView,
} from '../incidents/types.js'

/**
 * The incident workflow over the daemon API (`mon alerts … --remote URL`, token from MON_API_TOKEN):
 * the same {@link IncidentService} as the local one, so commands do not care. The API's error
 * kinds come back as the same errors (404 → NotFoundError, 409 → IncidentConflictError …), and a
 * daemon that cannot be reached is one clear message, never a stack.
 *
 * `https://` URLs are checked against the system's CAs, or only against `ca` (`--ca FILE` or
 * MON_CA) for a daemon whose certificate a private CA signed; `cert` + `key` are the client
 * certificate for a daemon with api.tls_client_ca.
 */
export interface RemoteOptions {
  token?: string
  /** per request; default 15 s */
  timeoutMs?: number
  /** PEM CA certificate(s) that signed the daemon's certificate, instead of the system's */
  ca?: string | Buffer | Buffer[]
  /** PEM client certificate and its key */
  cert?: string | Buffer
  key?: string | Buffer
}

/** TLS verification failures (node's codes): the certificate is not one we trust. */
const UNTRUSTED_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

interface ErrorBody {
  error?: {code?: string; message?: string; hint?: string; details?: string; candidates?: IdCandidate[]}
}

export class RemoteIncidents implements IncidentService {
  readonly where: string
  private readonly base: string
  private readonly token?: string
  private readonly timeoutMs: number
  private readonly tls: Pick<RemoteOptions, 'ca' | 'cert' | 'key'>

  constructor(baseUrl: string, opts: RemoteOptions = {}) {
    let url: URL
    try {
      url = new URL(baseUrl)
    } catch {
      throw new InputError(`invalid --remote URL '${baseUrl}'`, {hint: 'e.g. --remote http://monitor.example.com:9464'})
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`invalid --remote URL '${baseUrl}': only http and https are supported`)
    if (url.username || url.password) throw new InputError('do not put credentials in the --remote URL', {hint: 'the token goes in MON_API_TOKEN'})
    if (url.port === '0') throw new InputError(`invalid --remote URL '${baseUrl}': port 0 is not a port a daemon listens on`, {hint: 'e.g. --remote http://monitor.example.com:9464'})
    this.base = url.toString().replace(/\/+$/, '')
    this.where = this.base
    this.token = opts.token || undefined
    this.timeoutMs = opts.timeoutMs ?? 15_000
    this.tls = {ca: opts.ca, cert: opts.cert, key: opts.key}
  }

  list(q: ListQuery = {}): Promise<AlertView[]> {
    const params = new URLSearchParams()
    if (q.state) params.set('state', q.state)
    for (const s of q.severity ?? []) params.append('severity', s)
    for (const l of q.labels ?? []) params.append('label', l)
    if (q.since !== undefined) params.set('since', new Date(q.since).toISOString())
    return this.request('GET', `/api/v1/alerts${query(params)}`)
  }

  get(id: string, opts: {timeline?: boolean; allEpisodes?: boolean} = {}): Promise<AlertDetail> {
    const params = new URLSearchParams()
    if (opts.timeline === false) params.set('timeline', 'false')
    if (opts.allEpisodes) params.set('all', 'true')
    return this.request('GET', `/api/v1/alerts/${encodeURIComponent(id)}${query(params)}`)
  }

  ack(id: string, input: ActionInput): Promise<ActionResult> {
    return this.action(id, 'ack', input)
  }

  unack(id: string, input: ActionInput): Promise<ActionResult> {
    return this.action(id, 'unack', input)
  }

  resolve(id: string, input: ActionInput): Promise<ActionResult> {
    return this.action(id, 'resolve', input)
  }

  comment(id: string, input: ActionInput & {comment: string}): Promise<ActionResult> {
    return this.action(id, 'comment', input)
  }

  history(q: HistoryQuery): Promise<HistoryEntry[]> {
    const params = new URLSearchParams({since: new Date(q.since).toISOString()})
    if (q.until !== undefined) params.set('until', new Date(q.until).toISOString())
    if (q.id) params.set('id', q.id)
    if (q.limit !== undefined) params.set('limit', String(q.limit))
    return this.request('GET', `/api/v1/history${query(params)}`)
  }

  addSilence(input: SilenceInput): Promise<SilenceView> {
    const body: Record<string, unknown> = {matchers: input.matchers, comment: input.comment, by: input.by}
    if (input.durationMs !== undefined) body.duration = `${Math.round(input.durationMs)}ms`
    if (input.endsAt !== undefined) body.endsAt = new Date(input.endsAt).toISOString()
    if (input.startsAt !== undefined) body.startsAt = new Date(input.startsAt).toISOString()
    return this.request('POST', '/api/v1/silences', body)
  }

  listSilences(opts: {state?: 'current' | 'active' | 'pending' | 'expired' | 'all'} = {}): Promise<SilenceView[]> {
    return this.request('GET', `/api/v1/silences${query(new URLSearchParams({state: opts.state ?? 'current'}))}`)
  }

  expireSilence(id: string, input: ActionInput): Promise<SilenceView> {
    return this.request('POST', `/api/v1/silences/${encodeURIComponent(id)}/expire`, {by: input.by, comment: input.comment})
  }

  async close(): Promise<void> {}

  private action(id: string, action: string, input: ActionInput): Promise<ActionResult> {
    // the source is the server's to record (our address as it sees it), never ours to claim
    return this.request('POST', `/api/v1/alerts/${encodeURIComponent(id)}/${action}`, {by: input.by, comment: input.comment})
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = this.base + path
    const headers: Record<string, string> = {Accept: 'application/json', 'User-Agent': 'mon-cli/1'}
    if (this.token) headers.Authorization = `Bearer ${this.token}`
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let res: HttpReply
    try {
      res = await this.send(method, url, headers, body === undefined ? undefined : JSON.stringify(body))
    } catch (error) {
      throw this.unreachable(error)
    }
    const text = res.text
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      throw new UserError(`unexpected answer from ${this.base} (HTTP ${res.status}, not JSON): is this a mon daemon?`, {hint: 'check the --remote URL (the daemon API listens on api.listen, default port 9464)'})
    }
    if (res.status >= 200 && res.status < 300) return parsed as T
    throw this.failure(res.status, (parsed ?? {}) as ErrorBody)
  }

  private send(method: string, url: string, headers: OutgoingHttpHeaders, body: string | undefined): Promise<HttpReply> {
    return sendRequest(url, {method, headers, body, tls: this.tls, timeoutMs: this.timeoutMs})
  }

  private unreachable(error: unknown): UserError {
    const e = error as {name?: string; code?: string; message?: string; cause?: {code?: string; message?: string}}
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      return new UserError(`the mon daemon at ${this.base} did not answer within ${Math.round(this.timeoutMs / 1000)}s`, {hint: 'is it overloaded or behind a firewall? nothing was changed by this command', cause: error})
    }
    const code = e.code ?? e.cause?.code
    if (code && UNTRUSTED_CERT.has(code)) {
      return new UserError(`cannot reach the mon daemon at ${this.base}: its TLS certificate is not trusted (${e.message ?? code})`, {
        hint: this.tls.ca ? 'the --ca file must hold the CA that signed the daemon\'s certificate (api.tls_cert), and the URL must use a name or address the certificate lists; nothing was changed' : 'pass --ca FILE (or set MON_CA) with the CA that signed the daemon\'s certificate; nothing was changed',
        cause: error,
      })
    }
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') {
      return new UserError(`cannot reach the mon daemon at ${this.base}: the TLS handshake failed (${e.message ?? code})`, {hint: 'does the daemon serve TLS there (api.tls_cert)? if not, use http://; nothing was changed', cause: error})
    }
    if (code?.startsWith('ERR_SSL_') && /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/.test(code)) {
      return new UserError(`cannot reach the mon daemon at ${this.base}: it refused our TLS client certificate (${code})`, {hint: 'the daemon has api.tls_client_ca: pass --cert and --key (or MON_CLIENT_CERT / MON_CLIENT_KEY) with a certificate that CA signed', cause: error})
    }
    const why =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host not found'
          : code === 'ECONNRESET'
            ? 'connection reset'
            : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
              ? 'host unreachable'
              : (e.cause?.message ?? errorMessage(error))
    return new UserError(`cannot reach the mon daemon at ${this.base}: ${why}`, {
      hint: 'is `mon daemon` running there, and is its api.listen reachable from here? nothing was changed',
      cause: error,
    })
  }

  private failure(status: number, body: ErrorBody): Error {
    const e = body.error ?? {}
    const message = e.message ?? `HTTP ${status}`
    const opts = {hint: e.hint, details: e.details}
    switch (status) {
      case 400:
        if (e.code === 'ambiguous') return new AmbiguousIdError(message, e.candidates ?? [], opts)
        return new InputError(message, opts)
      case 401:
        return new UserError(`the mon daemon at ${this.base} refused the request: ${message}`, {
          hint: this.token ? 'MON_API_TOKEN must be the api.token of that daemon' : 'set MON_API_TOKEN to the api.token of that daemon',
        })
      case 404:
        return e.code === 'not_found' ? new NotFoundError(message, opts) : new UserError(`${message} (is ${this.base} a mon daemon of this version?)`)
      case 409:
        return new IncidentConflictError(message, opts)
      case 429:
        return new UserError(`the mon daemon at ${this.base} refused the request: ${message}`)
      default:
        return new UserError(`the mon daemon at ${this.base} failed (HTTP ${status}): ${message}`, {hint: 'its log has the details'})
    }
  }
}

export interface HttpReply {
  status: number
  ok: boolean
  text: string
}

/** One request with node:http(s) — fetch cannot take a CA or a client certificate; redirects are not followed. */
export function sendRequest(
  url: string,
  opts: {method: string; headers: OutgoingHttpHeaders; body?: string; tls?: Pick<RemoteOptions, 'ca' | 'cert' | 'key'>; timeoutMs: number},
): Promise<HttpReply> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(url, {method: opts.method, headers: opts.headers, ...opts.tls, signal: AbortSignal.timeout(opts.timeoutMs)}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const status = res.statusCode ?? 0
        resolve({status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8')})
      })
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

function query(params: URLSearchParams): string {
  const s = params.toString()
  return s ? `?${s}` : ''
}
