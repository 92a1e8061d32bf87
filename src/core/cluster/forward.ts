/**
 * An agent's spool → the points stream instead of a store (`cluster.forward: true`,
 * docs/cluster.md#pipeline). The agent's Writer drains the spool into this sink exactly as it
 * would into a store: a batch is acknowledged to the spool (and dropped locally) only after the
 * stream acknowledged every message of it; a failure (NATS down, no stream leader, stream full)
 * leaves the batch in the spool and the Writer retries it with its backoff.
 *
 * Message ids are deterministic: `<member>:<hash of precision + line protocol>`, one message per
 * spool record (a record larger than the server's max_payload is cut at line boundaries, each
 * piece with its own id). The same record always gets the same id — after a crash, a replay from
 * an older ack position, a different batching of the replay, even a wiped spool — so the stream
 * drops a republish seen within `stream.duplicate_window`. Two different records cannot share an
 * id unless their text is identical, and identical text with timestamps (every spooled line has
 * one) is the same points, which the store would overwrite anyway: dropping it loses nothing.
 */
import {createHash} from 'node:crypto'
import type {Clock} from '../clock.js'
import {parseDuration} from '../config/duration.js'
import {UserError} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import {serializePoints} from '../model/line-protocol/serialize.js'
import type {Point} from '../model/point.js'
import type {SpoolBatch, SpoolPrecision} from '../pipeline/spool.js'
import type {SpoolBatchSink} from '../pipeline/writer.js'
import type {Frame, Store} from '../store/types.js'
import type {ClusterConfig} from './config.js'
import {connectNats, memberId} from './nats.js'
import type {PointsProducer, QueueMessage} from './queue.js'

export interface ForwardStats {
  /** messages the stream stored */
  messages: number
  /** messages the stream already had (a republish within the duplicate window) */
  duplicates: number
  points: number
  /** publish attempts that failed (the batch stayed in the spool) */
  errors: number
  /** of those, refused because the stream was full */
  full: number
}

/** The message id of one piece of line protocol: deterministic, the stream's dedup key. */
export function messageId(member: string, precision: SpoolPrecision, body: Buffer): string {
  const h = createHash('sha256').update(precision).update('\n').update(body).digest('base64url').slice(0, 32)
  return `${member}:${h}`
}

/** Cuts `payload` at line ends into pieces of at most `maxBytes` (a longer line is one piece by itself). */
export function splitLines(payload: Buffer, maxBytes: number): Buffer[] {
  if (payload.length <= maxBytes) return [payload]
  const out: Buffer[] = []
  let start = 0
  while (start < payload.length) {
    if (payload.length - start <= maxBytes) {
      out.push(payload.subarray(start))
      break
    }
    let cut = payload.lastIndexOf(10, start + maxBytes - 1)
    if (cut < start) cut = payload.indexOf(10, start + maxBytes) // one line longer than maxBytes
    if (cut < 0) cut = payload.length - 1
    out.push(payload.subarray(start, cut + 1))
    start = cut + 1
  }
  return out
}

function countLines(b: Buffer): number {
  let n = 0
  let i = -1
  while ((i = b.indexOf(10, i + 1)) !== -1) n++
  return n
}

/** The spool records of a batch as stream messages. */
export function batchMessages(batch: SpoolBatch, member: string, maxBytes: number): QueueMessage[] {
  const out: QueueMessage[] = []
  for (const r of batch.records) {
    const pieces = splitLines(r.payload, maxBytes)
    for (const body of pieces) {
      out.push({id: messageId(member, r.precision, body), member, body, precision: r.precision, points: pieces.length === 1 ? r.points : countLines(body), input: r.input})
    }
  }
  return out
}

/** A Store to the agent's Writer; it only takes spool batches (the agent has no store to query). */
export class StreamForwarder implements Store, SpoolBatchSink {
  readonly kind = 'stream'
  private readonly s: ForwardStats = {messages: 0, duplicates: 0, points: 0, errors: 0, full: 0}

  constructor(
    private readonly producer: PointsProducer,
    readonly member: string,
  ) {}

  async writeSpoolBatch(batch: SpoolBatch): Promise<void> {
    const messages = batchMessages(batch, this.member, this.producer.maxMessageBytes())
    try {
      const r = await this.producer.publish(messages)
      this.s.messages += r.stored
      this.s.duplicates += r.duplicates
      this.s.points += batch.points
    } catch (err) {
      this.s.errors++
      if ((err as Error).name === 'QueueFullError') this.s.full++
      throw err
    }
  }

  async write(points: Point[]): Promise<void> {
    if (points.length === 0) return
    const payload = Buffer.from(serializePoints(points, 'ns') + '\n')
    const body = {input: 'write', points: points.length, precision: 'ns' as const, appendedAt: 0, payload}
    await this.writeSpoolBatch({id: 0, records: [body], points: points.length, bytes: payload.length, precision: 'ns', start: {segment: 0, offset: 0}, end: {segment: 0, offset: 0}, firstAppendedAt: 0})
  }

  async query(): Promise<Frame[]> {
    throw new UserError('this agent forwards its points to the cluster stream (cluster.forward: true): it has no store to query', {hint: 'query the store the writers (mon relay) write to'})
  }

  stats(): ForwardStats {
    return {...this.s}
  }

  async close(): Promise<void> {
    await this.producer.close()
  }
}

/** Whether this config's agent forwards to the cluster stream rather than writing a store. */
export function forwarding(cluster: ClusterConfig | undefined): boolean {
  return Boolean(cluster?.enabled && cluster.forward)
}

/**
 * Connects to NATS and makes sure the points stream exists (created if missing; an existing
 * one's limits are the writers' to change). Throws while NATS or JetStream is unreachable: the
 * Writer retries with its backoff and the points wait in the spool.
 */
export async function openForwarder(cluster: ClusterConfig, opts: {log?: Logger; clock?: Clock} = {}): Promise<StreamForwarder> {
  const log = opts.log ?? silentLogger
  const member = memberId(cluster)
  const nc = await connectNats(cluster.nats, {name: `mon-agent-${member}`})
  // JetStream's side (and the nats library) loads only when forwarding
  const {describeJetStreamError, ensurePointsStream, JetStreamProducer} = await import('./jetstream-points.js')
  try {
    const jsm = await nc.jetstreamManager({timeout: parseDuration(cluster.nats.timeout), checkAPI: false})
    await ensurePointsStream(jsm, cluster, {update: false, log})
  } catch (err) {
    await nc.close()
    if (err instanceof UserError) throw err
    throw new Error(`cannot set up the points stream: ${describeJetStreamError(err)}`, {cause: err})
  }
  log.info('forwarding the spool to the cluster stream', {member, servers: cluster.nats.servers.join(',')})
  return new StreamForwarder(new JetStreamProducer(nc, cluster, member, parseDuration(cluster.nats.timeout)), member)
}
