/**
 * TCP checks, published as Telegraf's `net_response`:
 *
 *   net_response,port=5432,protocol=tcp,result=success,server=db.example.com response_time=0.0012,result_code=0i,result_type="success"
 *
 * `response_time` (seconds) is the time to connect, or to the expected reply when `expect` is
 * set. `result` / `result_code`: success 0, timeout 1, connection_failed 2, read_failed 3,
 * string_mismatch 4. Sample config (mon.yaml):
 *
 *   inputs:
 *     tcp:
 *       - name: redis
 *         address: 127.0.0.1:6379
 *         send: "PING\r\n"
 *         expect: "+PONG"
 *         timeout: 2s
 *         interval: 30s
 */
import {connect} from 'node:net'
import {z} from 'zod'
import {dialAddress, duration, interval, parseHostPort, section} from '../config/common.js'
import {parseDuration} from '../config/duration.js'
import type {FieldValue, Point} from '../model/point.js'
import {decorate, defineCollector, ownsTarget, pullInputFields, type Collector, type CollectorContext, type Scheduled} from './types.js'

export type TcpResult = 'success' | 'timeout' | 'connection_failed' | 'read_failed' | 'string_mismatch'

export const TCP_RESULT_CODES: Record<TcpResult, number> = {success: 0, timeout: 1, connection_failed: 2, read_failed: 3, string_mismatch: 4}

/** The most of a reply kept while looking for `expect`. */
const MAX_REPLY_BYTES = 1 << 20

export interface TcpCheckOptions {
  host: string
  port: number
  send?: string
  expect?: string
  timeoutMs: number
}

export interface TcpCheckOutcome {
  result: TcpResult
  responseTime?: number
  error?: string
}

/** Runs one check; never throws (a failure is the measurement). */
export function runTcpCheck(opts: TcpCheckOptions, signal: AbortSignal): Promise<TcpCheckOutcome> {
  return new Promise((resolve) => {
    const started = performance.now()
    let connected = false
    let reply = ''
    let finished = false
    const socket = connect({host: opts.host, port: opts.port})
    const finish = (o: TcpCheckOutcome) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(o)
    }
    const elapsed = () => (performance.now() - started) / 1000
    const timer = setTimeout(() => {
      if (!connected) finish({result: 'timeout', error: `no connection within ${opts.timeoutMs} ms`})
      else finish(reply ? {result: 'string_mismatch', responseTime: elapsed(), error: `reply did not contain ${JSON.stringify(opts.expect)} within ${opts.timeoutMs} ms`} : {result: 'read_failed', error: `no reply within ${opts.timeoutMs} ms`})
    }, opts.timeoutMs)
    const onAbort = () => finish({result: 'timeout', error: 'aborted'})
    signal.addEventListener('abort', onAbort, {once: true})
    socket.once('connect', () => {
      connected = true
      if (opts.send !== undefined) socket.write(opts.send)
      if (opts.expect === undefined) finish({result: 'success', responseTime: elapsed()})
    })
    socket.on('data', (chunk: Buffer) => {
      if (reply.length < MAX_REPLY_BYTES) reply += chunk.toString('utf8')
      if (opts.expect !== undefined && reply.includes(opts.expect)) finish({result: 'success', responseTime: elapsed()})
    })
    socket.once('end', () => {
      if (!connected) return
      finish(reply ? {result: 'string_mismatch', responseTime: elapsed(), error: `reply did not contain ${JSON.stringify(opts.expect)}`} : {result: 'read_failed', error: 'connection closed without a reply'})
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected) finish({result: 'connection_failed', error: `${err.code ?? ''} ${err.message}`.trim()})
      else finish({result: 'read_failed', error: `${err.code ?? ''} ${err.message}`.trim()})
    })
  })
}

export function tcpCheckPoint(opts: TcpCheckOptions, o: TcpCheckOutcome, now: number): Point {
  const fields: Record<string, FieldValue> = {}
  if (o.responseTime !== undefined) fields.response_time = o.responseTime
  fields.result_code = BigInt(TCP_RESULT_CODES[o.result])
  fields.result_type = o.result
  return {measurement: 'net_response', tags: {server: opts.host, port: String(opts.port), protocol: 'tcp', result: o.result}, fields, ts: now}
}

export function tcpCheckOptions(cfg: TcpInputConfig): TcpCheckOptions {
  const hp = parseHostPort(cfg.address)!
  return {host: hp.host, port: hp.port, send: cfg.send, expect: cfg.expect, timeoutMs: parseDuration(cfg.timeout)}
}

export function createTcpCollector(cfg: TcpInputConfig, ctx: CollectorContext, name = 'tcp'): Collector {
  const opts = tcpCheckOptions(cfg)
  return {
    name,
    async collect(signal) {
      if (!ownsTarget(ctx, name, cfg.interval)) return []
      const outcome = await runTcpCheck(opts, signal)
      if (signal.aborted) throw signal.reason
      return decorate([tcpCheckPoint(opts, outcome, ctx.clock.now())], ctx, cfg.tags)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// inputs.tcp: its config schema (defaults included), sample block and factory

export const tcpInputSchema = section({
  ...pullInputFields,
  address: dialAddress(),
  send: z.string().optional(),
  expect: z.string().optional(),
  timeout: duration({positive: true}).default('5s'),
  interval: interval().default('30s'),
})

export type TcpInputConfig = Scheduled<z.output<typeof tcpInputSchema>>

export const tcpInput = defineCollector({
  kind: 'tcp',
  multiple: true,
  schema: tcpInputSchema,
  sample: `# TCP checks: can we connect (and does the reply look right)?
~tcp:
~  - name: postgres
~    # host:port to connect to.
~    address: db.example.com:5432
~    # Bytes to send after connecting.
~    # send: "PING\\r\\n"
~    # Text the reply must contain.
~    # expect: "+PONG"
~    # Connect (and reply) timeout.
~    timeout: 5s
~    # Check interval.
~    interval: 30s`,
  create: createTcpCollector,
})
