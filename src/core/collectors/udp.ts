/**
 * inputs.udp: line protocol over UDP, Telegraf's `socket_listener` with `service_address =
 * "udp://:8094"` (InfluxDB's UDP service). Each datagram is one or more lines of line protocol
 * (mon's parser, precision `precision`, default ns); the good lines of a datagram are kept, each
 * bad one is counted by reason (`parse_errors_<reason>`), never fatal. Points without a timestamp
 * get the time of arrival. The points are held in memory and written every `interval` (default
 * 1s); beyond `max_pending` points held, new ones are counted as `overflow` and dropped.
 * UDP has no answer to the sender: `kernel_drops` (from /proc/net/udp) says what the socket's
 * receive buffer could not take.
 */
import {z} from 'zod'
import {bool, int, interval as intervalSchema, listenAddress, parseHostPort, section, size, tagsSchema} from '../config/common.js'
import {parseSize} from '../config/duration.js'
import {parseLineProtocol, parsePrecision, type Precision} from '../model/line-protocol/index.js'
import type {Point, Tags} from '../model/point.js'
import {PacketSocket, type PacketSocketStats} from './packet-socket.js'
import {decorate, defineCollector, pullInputFields, type Collector, type CollectorContext} from './types.js'

export type UdpStats = PacketSocketStats & {lines: number; points: number; parse_errors: number; overflow: number} & Record<string, number>

/** A parser message as a counter name: `invalid field format: …` → `invalid_field_format`. */
export function errorReason(message: string): string {
  const head = message.split(/[:'"(]/)[0]!.trim().toLowerCase()
  const r = head.replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 48)
  return r === '' ? 'invalid' : r
}

export const udpInputSchema = section({
  enabled: bool().default(false),
  /** how often the points received are written */
  interval: intervalSchema().default('1s'),
  jitter: pullInputFields.jitter,
  listen: listenAddress({allowPortZero: true}).default('127.0.0.1:8094'),
  precision: z.enum(['ns', 'us', 'ms', 's'], {error: () => 'expected ns, us, ms or s'}).default('ns'),
  read_buffer: size().optional(),
  max_pending: int({min: 1}).default(100_000),
  tags: tagsSchema.optional(),
})

export type UdpInputConfig = z.output<typeof udpInputSchema>

export class UdpCollector implements Collector {
  private readonly socket: PacketSocket
  private pending: Point[] = []
  private readonly precision: Precision
  private readonly reasons = new Map<string, number>()
  private s = {lines: 0, points: 0, parseErrors: 0, overflow: 0}

  constructor(
    readonly name: string,
    private readonly config: UdpInputConfig,
    private readonly ctx: CollectorContext,
  ) {
    this.precision = parsePrecision(config.precision)
    const hp = parseHostPort(config.listen)!
    this.socket = new PacketSocket({
      protocol: 'udp',
      host: hp.host,
      port: hp.port,
      readBuffer: config.read_buffer !== undefined ? parseSize(config.read_buffer) : undefined,
      onText: (text) => this.take(text),
      log: ctx.log,
    })
  }

  get address(): {host: string; port: number} | undefined {
    return this.socket.address
  }

  async start(): Promise<void> {
    const a = await this.socket.start()
    this.ctx.log.info('listening for line protocol over udp', {address: `${a.host}:${a.port}`})
  }

  stop(): Promise<void> {
    return this.socket.stop()
  }

  /** One datagram: its good lines held for the next run, its bad ones counted. */
  take(text: string): void {
    const {points, errors} = parseLineProtocol(text, {precision: this.precision, now: this.ctx.clock.now()})
    for (let i = 0; i < text.length; ) {
      const nl = text.indexOf('\n', i)
      const end = nl < 0 ? text.length : nl
      if (text.slice(i, end).trim() !== '' && text.charCodeAt(i) !== 35 /* # comment */) this.s.lines++
      i = end + 1
    }
    for (const e of errors) {
      const r = errorReason(e.message)
      this.reasons.set(r, (this.reasons.get(r) ?? 0) + 1)
    }
    this.s.parseErrors += errors.length
    this.s.points += points.length
    const room = this.config.max_pending - this.pending.length
    if (points.length > room) {
      this.s.overflow += points.length - Math.max(0, room)
      for (let i = 0; i < room; i++) this.pending.push(points[i]!)
    } else for (const p of points) this.pending.push(p)
  }

  async collect(): Promise<Point[]> {
    const points = this.pending
    this.pending = []
    return decorate(points, this.ctx, this.config.tags as Tags | undefined)
  }

  serviceStats(): Record<string, number> {
    const out: Record<string, number> = {...this.socket.stats(), lines: this.s.lines, points: this.s.points, parse_errors: this.s.parseErrors, overflow: this.s.overflow}
    for (const [r, n] of this.reasons) out[`parse_errors_${r}`] = n
    return out
  }
}

export const udpInput = defineCollector({
  kind: 'udp',
  multiple: false,
  schema: udpInputSchema,
  sample: `# Accept pushed line protocol over UDP (Telegraf socket_listener "udp://", InfluxDB's UDP service).
udp:
  # Start the UDP listener.
  enabled: false
  # Address to listen on (loopback unless you need more).
  listen: 127.0.0.1:8094
  # How often the points received are written.
  interval: 1s
  # Precision of the timestamps in the datagrams: ns, us, ms or s.
  precision: ns
  # Receive buffer of the socket; the kernel caps it at net.core.rmem_max.
~  read_buffer: 8MiB
  # Points held between writes; more are dropped (counted as overflow).
  max_pending: 100000
  # Tags added to points that lack them.
~  tags: {source: udp}`,
  create: (config, ctx, name) => new UdpCollector(name, config as unknown as UdpInputConfig, ctx),
})
