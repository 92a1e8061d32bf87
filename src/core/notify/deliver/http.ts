import http from 'node:http'
import https from 'node:https'
import {redactString, redactUrls} from '../../config/redact.js'
import {parseRetryAfter} from '../../retry.js'
import {PermanentDeliveryError, RetryLaterError} from '../types.js'

/**
 * The one HTTP client every HTTP channel uses. Built on node:http(s) rather than fetch so that TLS
 * verification can be switched off per channel (`tls_verify: false`, for a self-signed test
 * server) while staying on by default, and so a timeout and the caller's AbortSignal both apply.
 *
 * Status codes are sorted into the outbox's error kinds here, once: 2xx is delivered; 429 and 503
 * with Retry-After come back later; 408, 425, 429 and 5xx are retried with backoff; any other 4xx
 * (and a redirect: a webhook URL that moved is a config problem) is permanent.
 */

export interface HttpRequest {
  url: string
  method?: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
  tlsVerify: boolean
  signal?: AbortSignal
  /** values to scrub from error messages (tokens, webhook URLs) */
  secrets?: readonly string[]
  /** the most of the response body kept (default 256 KiB: a channel's answer is short) */
  maxBodyBytes?: number
}

export interface HttpResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

const MAX_BODY = 256 * 1024

/**
 * A request that got no answer. `code`: a socket error code such as ECONNREFUSED, or TIMEOUT,
 * ABORTED; `reason`: the same in words (`connection refused`), without the request in front.
 */
export class HttpNetworkError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly reason: string,
  ) {
    super(message)
    this.name = 'HttpNetworkError'
  }
}

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url)
  const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined
  const what = describeRequest(req)
  if (!lib) throw new PermanentDeliveryError(`${what}: unsupported URL scheme ${url.protocol}`)
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8')
  const headers: Record<string, string | number> = {'User-Agent': 'mon-notify/1', ...req.headers}
  if (body) headers['Content-Length'] = body.length

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false
    const fail = (err: Error) => {
      if (settled) return
      settled = true
      cleanup()
      reject(err)
    }
    const request = lib.request(
      url,
      {method: req.method ?? 'POST', headers, rejectUnauthorized: req.tlsVerify, timeout: req.timeoutMs},
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size <= (req.maxBodyBytes ?? MAX_BODY)) chunks.push(chunk)
        })
        res.on('end', () => {
          if (settled) return
          settled = true
          cleanup()
          resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')})
        })
        res.on('error', (err) => fail(networkError(err, what, req.secrets)))
      },
    )
    const timer = setTimeout(() => {
      request.destroy()
      fail(new HttpNetworkError(`${what}: no response after ${req.timeoutMs} ms`, 'TIMEOUT', 'no response'))
    }, req.timeoutMs)
    const onAbort = () => {
      request.destroy()
      fail(new HttpNetworkError(`${what}: aborted`, 'ABORTED', 'aborted'))
    }
    const cleanup = () => {
      clearTimeout(timer)
      req.signal?.removeEventListener('abort', onAbort)
    }
    if (req.signal?.aborted) return onAbort()
    req.signal?.addEventListener('abort', onAbort, {once: true})
    request.on('timeout', () => {
      request.destroy()
      fail(new HttpNetworkError(`${what}: no response after ${req.timeoutMs} ms`, 'TIMEOUT', 'no response'))
    })
    request.on('error', (err) => fail(networkError(err, what, req.secrets)))
    request.end(body)
  })
}

/** `POST https://hooks.slack.com/***` — never the secret part of a URL. */
export function describeRequest(req: Pick<HttpRequest, 'url' | 'method' | 'secrets'>): string {
  let shown: string
  try {
    const url = new URL(req.url)
    // A URL that is itself a secret (interpolated webhook URL): show only where it goes.
    shown = req.secrets?.some((s) => s.length >= 4 && req.url.includes(s)) ? `${url.origin}/***` : redactUrls(`${url.origin}${url.pathname}`)
  } catch {
    shown = '<invalid URL>'
  }
  return `${req.method ?? 'POST'} ${shown}`
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate (set tls_verify: false only for a test server)',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: self-signed certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: unable to verify the certificate',
  CERT_HAS_EXPIRED: 'TLS: certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate does not match the host name',
}

function networkError(err: Error & {code?: string}, what: string, secrets: readonly string[] = []): Error {
  const reason = redactString((err.code && NETWORK_REASONS[err.code]) ?? err.message, secrets)
  return new HttpNetworkError(redactString(`${what}: ${reason}`, secrets), err.code, reason)
}

/**
 * Throw the right kind of error for a non-2xx response. `detail` extracts a readable reason from
 * the body (each API words its errors differently); by default the first 200 characters.
 */
export function checkResponse(res: HttpResponse, req: Pick<HttpRequest, 'url' | 'method' | 'secrets'>, detail?: (body: string) => string | undefined): void {
  if (res.status >= 200 && res.status < 300) return
  const what = describeRequest(req)
  let reason: string | undefined
  try {
    reason = detail?.(res.body)
  } catch {
    reason = undefined
  }
  reason ??= res.body.trim().replace(/\s+/g, ' ').slice(0, 200)
  const message = redactString(`${what}: HTTP ${res.status}${reason ? `: ${reason}` : ''}`, req.secrets ?? [])
  const retryAfter = parseRetryAfter(res.headers['retry-after'], Date.now())
  if ((res.status === 429 || res.status === 503) && retryAfter !== undefined) throw new RetryLaterError(message, retryAfter)
  if (res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500) throw new Error(message)
  throw new PermanentDeliveryError(message)
}

/** JSON POST + status check; returns the response for channels that read it (Slack's ts). */
export async function postJson(
  req: Omit<HttpRequest, 'body' | 'method'> & {json: unknown; method?: string},
  detail?: (body: string) => string | undefined,
): Promise<HttpResponse> {
  const {json, ...rest} = req
  const full: HttpRequest = {...rest, method: req.method ?? 'POST', headers: {'Content-Type': 'application/json', ...req.headers}, body: JSON.stringify(json)}
  const res = await httpRequest(full)
  checkResponse(res, full, detail)
  return res
}

/** `{"message": "…"}`-style error bodies. */
export function jsonField(...names: string[]): (body: string) => string | undefined {
  return (body) => {
    const parsed = JSON.parse(body) as Record<string, unknown>
    for (const n of names) {
      const v = parsed[n]
      if (typeof v === 'string' && v) return v
      if (Array.isArray(v) && v.length > 0) return v.map(String).join('; ')
    }
    return undefined
  }
}

export function basicAuth(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64')
}
