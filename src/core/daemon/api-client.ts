import {InputError, UserError} from '../errors.js'
import {HttpNetworkError, httpRequest} from '../notify/http.js'
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
 */
export interface RemoteOptions {
  token?: string
  /** per request; default 15 s */
  timeoutMs?: number
}

/** An answer larger than this is not the API's (a list of alerts is far smaller). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024

interface ErrorBody {
  error?: {code?: string; message?: string; hint?: string; details?: string; candidates?: IdCandidate[]}
}

export class RemoteIncidents implements IncidentService {
  readonly where: string
  private readonly base: string
  private readonly token?: string
  private readonly timeoutMs: number

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
    // node:http, not fetch: fetch refuses the ports of its "bad ports" list (1, 25, 6000 …) with a
    // bare "bad port", where the user needs to hear whether a daemon answers there
    let res: {status: number; body: string}
    try {
      res = await httpRequest({url, method, headers, body: body === undefined ? undefined : JSON.stringify(body), timeoutMs: this.timeoutMs, tlsVerify: true, maxBodyBytes: MAX_ANSWER_BYTES})
    } catch (error) {
      throw this.unreachable(error)
    }
    const text = res.body
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      throw new UserError(`unexpected answer from ${this.base} (HTTP ${res.status}, not JSON): is this a mon daemon?`, {hint: 'check the --remote URL (the daemon API listens on api.listen, default port 9464)'})
    }
    if (res.status >= 200 && res.status < 300) return parsed as T
    throw this.failure(res.status, (parsed ?? {}) as ErrorBody)
  }

  private unreachable(error: unknown): UserError {
    if (!(error instanceof HttpNetworkError)) throw error
    if (error.code === 'TIMEOUT') {
      return new UserError(`the mon daemon at ${this.base} did not answer within ${Math.round(this.timeoutMs / 1000)}s`, {hint: 'is it overloaded or behind a firewall? nothing was changed by this command', cause: error})
    }
    const why = error.reason
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

function query(params: URLSearchParams): string {
  const s = params.toString()
  return s ? `?${s}` : ''
}
