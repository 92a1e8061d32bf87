/**
 * HTTP checks, published as Telegraf's `http_response` (and, for https, an `x509_cert` point for
 * the server certificate) so existing dashboards and alerts work:
 *
 *   http_response,method=GET,result=success,server=https://example.com/,status_code=200
 *     content_length=1256i,http_response_code=200i,response_status_code_match=1i,
 *     response_string_match=1i,response_time=0.041,result_code=0i,result_type="success"
 *
 * `response_time` is seconds until the response headers arrived (redirects included), as in
 * Telegraf. `result` / `result_code`: success 0, response_string_mismatch 1, body_read_error 2,
 * connection_failed 3, timeout 4, dns_error 5, response_status_code_mismatch 6.
 * Sample config (mon.yaml):
 *
 *   inputs:
 *     http:
 *       - name: api
 *         url: https://api.example.com/health
 *         expect_status: [200]
 *         body_regex: '"status":\s*"ok"'
 *         timeout: 5s
 *         interval: 30s
 */
import {deadline as deadlineSignal} from '../abort.js'
import {request as httpRequest, type IncomingMessage} from 'node:http'
import {request as httpsRequest} from 'node:https'
import type {PeerCertificate, TLSSocket} from 'node:tls'
import {z} from 'zod'
import {bool, duration, httpUrl, int, interval, regex, scalarString, section, text, typeError} from '../config/common.js'
import {parseDuration} from '../config/duration.js'
import {compileLinearRegex, type LinearRegex} from '../model/matcher.js'
import type {FieldValue, Point, Tags} from '../model/point.js'
import {decorate, defineCollector, ownsTarget, pullInputFields, type Collector, type CollectorContext, type Scheduled} from './types.js'

export type HttpResult = 'success' | 'response_string_mismatch' | 'body_read_error' | 'connection_failed' | 'timeout' | 'dns_error' | 'response_status_code_mismatch'

export const HTTP_RESULT_CODES: Record<HttpResult, number> = {
  success: 0,
  response_string_mismatch: 1,
  body_read_error: 2,
  connection_failed: 3,
  timeout: 4,
  dns_error: 5,
  response_status_code_mismatch: 6,
}

/** Largest body read for matching (Telegraf's response_body_max_size default). */
export const MAX_BODY_BYTES = 32 << 20
const MAX_REDIRECTS = 10

export interface HttpCheckOptions {
  url: string
  method: string
  headers?: Record<string, string>
  body?: string
  /** accepted status codes; undefined means any 2xx or 3xx */
  expectStatus?: number[]
  /** searched in the body (unanchored); RE2, linear in the body's length: see config/common.ts regex() */
  bodyRegex?: LinearRegex
  timeoutMs: number
  followRedirects: boolean
  tlsVerify: boolean
}

export interface HttpCheckOutcome {
  result: HttpResult
  statusCode?: number
  responseTime?: number
  contentLength?: number
  stringMatch?: boolean
  statusMatch?: boolean
  error?: string
  certificate?: CertificateInfo
}

export interface CertificateInfo {
  subjectCN?: string
  issuerCN?: string
  serial?: string
  san?: string
  notBefore: number
  notAfter: number
  verified: boolean
  verificationError?: string
}

/** Runs one check. Never throws: every failure is a result (that is what the check measures). */
export async function runHttpCheck(opts: HttpCheckOptions, signal: AbortSignal): Promise<HttpCheckOutcome> {
  const limit = deadlineSignal(signal, opts.timeoutMs)
  try {
    return await checkUntil(opts, signal, limit.signal)
  } finally {
    limit.dispose()
  }
}

async function checkUntil(opts: HttpCheckOptions, signal: AbortSignal, deadline: AbortSignal): Promise<HttpCheckOutcome> {
  const started = performance.now()
  let url = new URL(opts.url)
  let method = opts.method
  let body = opts.body
  let certificate: CertificateInfo | undefined
  try {
    for (let hop = 0; ; hop++) {
      const res = await send(url, method, opts, body, deadline, (cert) => (certificate ??= cert))
      const responseTime = (performance.now() - started) / 1000
      const location = res.headers.location
      if (opts.followRedirects && location && res.statusCode! >= 300 && res.statusCode! < 400 && hop < MAX_REDIRECTS) {
        res.resume()
        url = new URL(location, url)
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = method === 'HEAD' ? 'HEAD' : 'GET'
          body = undefined
        }
        continue
      }
      const statusCode = res.statusCode!
      const statusMatch = opts.expectStatus ? opts.expectStatus.includes(statusCode) : statusCode >= 200 && statusCode < 400
      let bodyBytes: Buffer
      try {
        bodyBytes = await readBody(res, deadline)
      } catch (err) {
        const timedOut = deadline.aborted
        return {result: timedOut ? 'timeout' : 'body_read_error', statusCode, responseTime, statusMatch, stringMatch: opts.bodyRegex ? false : undefined, error: describeError(err, opts.timeoutMs, timedOut), certificate}
      }
      const outcome: HttpCheckOutcome = {result: 'success', statusCode, responseTime, contentLength: bodyBytes.length, statusMatch, certificate}
      if (opts.bodyRegex) {
        outcome.stringMatch = opts.bodyRegex.test(bodyBytes.toString('utf8'))
        if (!outcome.stringMatch) outcome.result = 'response_string_mismatch'
      }
      if (!statusMatch) outcome.result = 'response_status_code_mismatch'
      return outcome
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const timedOut = deadline.aborted && !signal.aborted
    const result: HttpResult = timedOut ? 'timeout' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' ? 'dns_error' : 'connection_failed'
    return {result, error: describeError(err, opts.timeoutMs, timedOut), certificate}
  }
}

function describeError(err: unknown, timeoutMs: number, timedOut: boolean): string {
  if (timedOut) return `no response within ${timeoutMs} ms`
  const e = err as NodeJS.ErrnoException
  return e.code ? `${e.code}: ${e.message}` : e.message ?? String(err)
}

function send(url: URL, method: string, opts: HttpCheckOptions, body: string | undefined, signal: AbortSignal, onCert: (c: CertificateInfo) => void): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:'
    const headers: Record<string, string> = {'user-agent': 'mon-http-check', ...opts.headers}
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = String(Buffer.byteLength(body))
    const reqOpts = {method, headers, signal, agent: false as const, ...(isHttps ? {rejectUnauthorized: false, servername: url.hostname.replace(/^\[|\]$/g, '')} : {})}
    const req = (isHttps ? httpsRequest : httpRequest)(url, reqOpts, resolve)
    req.on('error', reject)
    if (isHttps) {
      req.on('socket', (socket) => {
        socket.once('secureConnect', () => {
          const tls = socket as TLSSocket
          const cert = certificateInfo(tls.getPeerCertificate(), tls.authorized, tls.authorizationError)
          if (cert) onCert(cert)
          if (opts.tlsVerify && !tls.authorized) {
            req.destroy(Object.assign(new Error(`certificate verification failed: ${String(tls.authorizationError)}`), {code: 'CERT_INVALID'}))
          }
        })
      })
    }
    req.end(body)
  })
}

async function readBody(res: IncomingMessage, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  const onAbort = () => res.destroy(new Error('aborted'))
  signal.addEventListener('abort', onAbort, {once: true})
  try {
    for await (const chunk of res) {
      size += (chunk as Buffer).length
      if (size > MAX_BODY_BYTES) throw new Error(`response body larger than ${MAX_BODY_BYTES} bytes`)
      chunks.push(chunk as Buffer)
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  return Buffer.concat(chunks)
}

function certificateInfo(cert: PeerCertificate | undefined, authorized: boolean, error: Error | string | null | undefined): CertificateInfo | undefined {
  if (!cert || !cert.valid_to) return undefined
  const cn = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)
  return {
    subjectCN: cn(cert.subject?.CN),
    issuerCN: cn(cert.issuer?.CN),
    serial: cert.serialNumber?.toLowerCase(),
    san: cert.subjectaltname?.replace(/DNS:|IP Address:/g, '').replace(/\s+/g, ''),
    notBefore: Date.parse(cert.valid_from),
    notAfter: Date.parse(cert.valid_to),
    verified: authorized,
    verificationError: authorized ? undefined : String(error ?? 'unknown'),
  }
}

/** The outcome as Telegraf's `http_response` point, plus `x509_cert` when a certificate was seen. */
export function httpCheckPoints(opts: Pick<HttpCheckOptions, 'url' | 'method' | 'bodyRegex'>, o: HttpCheckOutcome, now: number): Point[] {
  const tags: Tags = {server: opts.url, method: opts.method, result: o.result}
  if (o.statusCode !== undefined) tags.status_code = String(o.statusCode)
  const fields: Record<string, FieldValue> = {}
  if (o.responseTime !== undefined) fields.response_time = o.responseTime
  if (o.statusCode !== undefined) fields.http_response_code = BigInt(o.statusCode)
  if (o.contentLength !== undefined) fields.content_length = BigInt(o.contentLength)
  if (o.stringMatch !== undefined) fields.response_string_match = o.stringMatch ? 1n : 0n
  if (o.statusMatch !== undefined) fields.response_status_code_match = o.statusMatch ? 1n : 0n
  fields.result_code = BigInt(HTTP_RESULT_CODES[o.result])
  fields.result_type = o.result
  const points: Point[] = [{measurement: 'http_response', tags, fields, ts: now}]
  const c = o.certificate
  if (c) {
    const certTags: Tags = {source: opts.url, verification: c.verified ? 'valid' : 'invalid'}
    if (c.subjectCN) certTags.common_name = c.subjectCN
    if (c.issuerCN) certTags.issuer_common_name = c.issuerCN
    if (c.serial) certTags.serial_number = c.serial
    if (c.san) certTags.san = c.san
    const certFields: Record<string, FieldValue> = {
      expiry: BigInt(Math.floor((c.notAfter - now) / 1000)),
      age: BigInt(Math.floor((now - c.notBefore) / 1000)),
      startdate: BigInt(Math.floor(c.notBefore / 1000)),
      enddate: BigInt(Math.floor(c.notAfter / 1000)),
      days_left: Math.floor(((c.notAfter - now) / 86_400_000) * 100) / 100,
      verification_code: c.verified ? 0n : 1n,
    }
    if (c.verificationError) certFields.verification_error = c.verificationError
    points.push({measurement: 'x509_cert', tags: certTags, fields: certFields, ts: now})
  }
  return points
}

export function httpCheckOptions(cfg: HttpInputConfig): HttpCheckOptions {
  const expect = cfg.expect_status === undefined ? undefined : Array.isArray(cfg.expect_status) ? cfg.expect_status : [cfg.expect_status]
  return {
    url: cfg.url,
    method: cfg.method,
    headers: cfg.headers,
    body: cfg.body,
    expectStatus: expect,
    bodyRegex: cfg.body_regex === undefined ? undefined : compileLinearRegex(cfg.body_regex),
    timeoutMs: parseDuration(cfg.timeout),
    followRedirects: cfg.follow_redirects,
    tlsVerify: cfg.tls_verify,
  }
}

export function createHttpCollector(cfg: HttpInputConfig, ctx: CollectorContext, name = 'http'): Collector {
  const opts = httpCheckOptions(cfg)
  return {
    name,
    async collect(signal) {
      if (!ownsTarget(ctx, name, cfg.interval)) return []
      const outcome = await runHttpCheck(opts, signal)
      if (signal.aborted) throw signal.reason // shutting down: not a failed check
      if (outcome.result !== 'success') ctx.log.debug('http check did not succeed', {input: name, result: outcome.result, error: outcome.error})
      return decorate(httpCheckPoints(opts, outcome, ctx.clock.now()), ctx, cfg.tags)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// inputs.http: its config schema (defaults included), sample block and factory

const statusCode = int({min: 100, max: 599})

export const httpInputSchema = section({
  ...pullInputFields,
  url: httpUrl(),
  method: text('an HTTP method', 'GET')
    .regex(/^[A-Za-z]+$/, {error: 'expected an HTTP method such as GET, HEAD or POST'})
    .transform((m) => m.toUpperCase())
    .default('GET'),
  headers: z.record(z.string(), scalarString).optional(),
  body: z.string().optional(),
  /** Undefined means any 2xx or 3xx. */
  expect_status: z
    .union([statusCode, z.array(statusCode).min(1)], {error: typeError('a status code or a list of them (e.g. 200 or [200, 204])')})
    .optional(),
  body_regex: regex().optional(),
  timeout: duration({positive: true}).default('5s'),
  follow_redirects: bool().default(true),
  tls_verify: bool().default(true),
  interval: interval().default('30s'),
})

export type HttpInputConfig = Scheduled<z.output<typeof httpInputSchema>>

export const httpInput = defineCollector({
  kind: 'http',
  multiple: true,
  schema: httpInputSchema,
  sample: `# HTTP checks: response time, status code, optional body match.
~http:
~  - name: homepage
~    # URL to request.
~    url: https://example.com/
~    # HTTP method.
~    method: GET
~    # Request headers; secrets belong in the environment.
~    headers:
~      Authorization: Bearer \${EXAMPLE_API_TOKEN}
~    # Request body.
~    # body: '{"ping": true}'
~    # Accepted status codes (default: any 2xx or 3xx).
~    expect_status: [200, 204]
~    # Regular expression the body must match.
~    body_regex: "Example Domain"
~    # Request timeout.
~    timeout: 5s
~    # Follow redirects.
~    follow_redirects: true
~    # Verify the TLS certificate.
~    tls_verify: true
~    # Check interval.
~    interval: 30s`,
  create: createHttpCollector,
})
