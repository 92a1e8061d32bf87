/**
 * The points queue on NATS JetStream (docs/cluster.md#pipeline): one replicated file stream
 * (`<NAME>_POINTS`, subjects `<name>.points.<member>`, discard new at max_bytes, a duplicate window)
 * and one durable pull consumer (`<NAME>_WRITERS`, explicit acks) shared by every writer.
 *
 * Agents publish with `Nats-Msg-Id` = the message's deterministic id, so a republish within
 * `stream.duplicate_window` is acknowledged as a duplicate and not stored twice. A publish is done
 * when its PubAck came back (the stream leader stored it and a quorum of replicas has it).
 */
import {AckPolicy, consumerOpts, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, headers, nanos, type ConsumerConfig, type JetStreamClient, type JetStreamManager, type JetStreamPullSubscription, type JsMsg, type NatsConnection, type StreamConfig} from 'nats'
import {parseDuration, parseSize} from '../config/duration.js'
import {UserError, errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {SpoolPrecision} from '../pipeline/spool.js'
import type {ClusterConfig} from './config.js'
import {clusterNames, connectNats} from './nats.js'
import {QueueFullError, type Delivery, type PipelineStatus, type PointsConsumer, type PointsProducer, type PublishResult, type QueueMessage} from './queue.js'

const H_PRECISION = 'Mon-Precision'
const H_POINTS = 'Mon-Points'
const H_INPUT = 'Mon-Input'
/** how long a fetch waits for the rest of a pull once its first message came */
const LINGER_MS = 20
/** every this many empty fetches in a row, the consumer's existence is checked */
const IDLE_CHECK_EVERY = 10
const PRECISIONS = new Set<string>(['ns', 'us', 'ms', 's'])

/** JetStream's API error codes mon acts on (nats-server/server/errors.json). */
const JS_STREAM_NOT_FOUND = 10059
const JS_CONSUMER_NOT_FOUND = 10014
/** JSStreamStoreFailedF: "maximum bytes exceeded" (discard new at max_bytes), "maximum messages exceeded" */
const JS_STORE_FAILED = 10077

/** A JetStream failure in words (the client's own message is often just "503" or "TIMEOUT"). */
export function describeJetStreamError(err: unknown): string {
  const e = err as {api_error?: {description?: string; err_code?: number}; code?: string} | undefined
  if (e?.api_error?.description) return `${e.api_error.description} (JetStream error ${e.api_error.err_code})`
  const m = errorMessage(err)
  if (e?.code === '503' || m === '503') return 'no JetStream responders: the stream has no leader yet, or JetStream is down'
  if (e?.code === 'TIMEOUT' || m === 'TIMEOUT') return 'JetStream did not answer within cluster.nats.timeout'
  if (e?.code === 'CONNECTION_CLOSED' || e?.code === 'DISCONNECT') return `NATS connection lost (${m})`
  return m
}

function apiErrCode(err: unknown): number | undefined {
  const e = err as {api_error?: {err_code?: number}; code?: string} | undefined
  return e?.api_error?.err_code
}

/** The stream config mon wants for `cluster.stream`. */
export function pointsStreamConfig(cluster: ClusterConfig): Partial<StreamConfig> & {name: string} {
  const names = clusterNames(cluster)
  const maxAge = parseDuration(cluster.stream.max_age)
  return {
    name: names.pointsStream,
    subjects: [names.pointsSubjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    num_replicas: cluster.stream.replicas,
    max_bytes: parseSize(cluster.stream.max_bytes),
    max_age: nanos(maxAge),
    duplicate_window: nanos(Math.min(parseDuration(cluster.stream.duplicate_window), maxAge)),
  }
}

export function writerConsumerConfig(cluster: ClusterConfig): Partial<ConsumerConfig> & {durable_name: string} {
  const names = clusterNames(cluster)
  return {
    durable_name: names.writerConsumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(parseDuration(cluster.writer.ack_wait)),
    max_ack_pending: cluster.writer.max_ack_pending,
    max_deliver: -1,
    max_waiting: 512,
  }
}

/**
 * Makes sure the points stream exists with the configured limits. `update`: also bring an existing
 * stream's limits to the config (the writer role does; agents only create a missing one, so two
 * agents with different configs do not fight over it).
 */
export async function ensurePointsStream(jsm: JetStreamManager, cluster: ClusterConfig, opts: {update: boolean; log?: Logger}): Promise<void> {
  const want = pointsStreamConfig(cluster)
  let have: StreamConfig | undefined
  try {
    have = (await jsm.streams.info(want.name)).config
  } catch (err) {
    if (apiErrCode(err) !== JS_STREAM_NOT_FOUND) throw err
  }
  if (!have) {
    try {
      await jsm.streams.add(want)
      opts.log?.info('created the points stream', {stream: want.name, replicas: want.num_replicas, maxBytes: want.max_bytes})
      return
    } catch (err) {
      // another process created it in between: fine
      if (/insufficient (storage|resources)/i.test(errorMessage(err))) {
        throw new UserError(`cannot create the points stream ${want.name}: ${errorMessage(err)}`, {hint: `cluster.stream.max_bytes (${want.max_bytes} bytes) must fit in the max_file_store of ${want.num_replicas} NATS servers (cluster.stream.replicas)`})
      }
      if (!/already in use|exists/i.test(errorMessage(err))) throw err
      have = (await jsm.streams.info(want.name)).config
    }
  }
  if (!opts.update) return
  const differs = have.max_bytes !== want.max_bytes || have.max_age !== want.max_age || have.duplicate_window !== want.duplicate_window || have.num_replicas !== want.num_replicas || have.discard !== want.discard
  if (!differs) return
  await jsm.streams.update(want.name, {...have, max_bytes: want.max_bytes, max_age: want.max_age, duplicate_window: want.duplicate_window, num_replicas: want.num_replicas, discard: want.discard})
  opts.log?.info('updated the points stream limits', {stream: want.name, replicas: want.num_replicas, maxBytes: want.max_bytes})
}

/** Makes sure the writers' durable consumer exists with the configured ack wait and pending bound. */
export async function ensureWriterConsumer(jsm: JetStreamManager, cluster: ClusterConfig): Promise<void> {
  const stream = clusterNames(cluster).pointsStream
  const want = writerConsumerConfig(cluster)
  try {
    const have = (await jsm.consumers.info(stream, want.durable_name)).config
    if (have.ack_wait !== want.ack_wait || have.max_ack_pending !== want.max_ack_pending) await jsm.consumers.update(stream, want.durable_name, {ack_wait: want.ack_wait, max_ack_pending: want.max_ack_pending})
    return
  } catch (err) {
    if (apiErrCode(err) !== JS_CONSUMER_NOT_FOUND) throw err
  }
  await jsm.consumers.add(stream, want)
}

/** Publishes to `<name>.points.<member>` and waits for each PubAck. */
export class JetStreamProducer implements PointsProducer {
  private readonly js: JetStreamClient
  private readonly subject: string

  constructor(
    private readonly nc: NatsConnection,
    cluster: ClusterConfig,
    member: string,
    private readonly timeoutMs: number,
  ) {
    this.js = nc.jetstream({timeout: timeoutMs})
    this.subject = clusterNames(cluster).pointsSubject(member)
  }

  maxMessageBytes(): number {
    // room for the headers; the server's max_payload is 1 MiB by default
    return Math.max(4096, (this.nc.info?.max_payload ?? 1 << 20) - 1024)
  }

  async publish(messages: readonly QueueMessage[]): Promise<PublishResult> {
    const acks = await Promise.allSettled(
      messages.map((m) => {
        const h = headers()
        h.set(H_PRECISION, m.precision)
        h.set(H_POINTS, String(m.points))
        h.set(H_INPUT, m.input)
        return this.js.publish(this.subject, m.body, {msgID: m.id, headers: h, timeout: this.timeoutMs})
      }),
    )
    const result: PublishResult = {stored: 0, duplicates: 0}
    let failure: unknown
    for (const a of acks) {
      if (a.status === 'rejected') failure ??= a.reason
      else if (a.value.duplicate) result.duplicates++
      else result.stored++
    }
    if (failure !== undefined) {
      const message = describeJetStreamError(failure)
      if ((apiErrCode(failure) === JS_STORE_FAILED && /maximum|limit/i.test(message)) || /maximum (bytes|messages) exceeded|resource limits exceeded/i.test(message)) {
        throw new QueueFullError(`the points stream is full (cluster.stream.max_bytes): ${message}`, {cause: failure})
      }
      throw new Error(`cannot publish to the points stream: ${message}`, {cause: failure})
    }
    return result
  }

  async close(): Promise<void> {
    await withTimeout(this.nc.drain(), 5000)
    await this.nc.close().catch(() => {})
  }
}

/** true when `p` settled within `ms` (either way), false on the timeout. */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const settled = p.then(
    () => true,
    () => true,
  )
  const r = await Promise.race([settled, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))])
  clearTimeout(timer)
  return r
}

class JetStreamDelivery implements Delivery {
  readonly message: Delivery['message']
  readonly redeliveries: number

  /** `subjectPrefix`: `<name>.points.` — what follows is the member (which may hold dots: a host name) */
  constructor(
    private readonly m: JsMsg,
    subjectPrefix: string,
  ) {
    const p = m.headers?.get(H_PRECISION) ?? 'ns'
    const precision = (PRECISIONS.has(p) ? p : 'ns') as SpoolPrecision
    const n = Number(m.headers?.get(H_POINTS))
    this.message = {
      member: m.subject.startsWith(subjectPrefix) ? m.subject.slice(subjectPrefix.length) : m.subject,
      body: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
      precision,
      points: Number.isSafeInteger(n) && n >= 0 ? n : countLines(m.data),
      input: m.headers?.get(H_INPUT) || 'stream',
      id: m.headers?.get('Nats-Msg-Id') || undefined,
    }
    this.redeliveries = Math.max(0, m.info.redeliveryCount - 1)
  }

  ack(): void {
    this.m.ack()
  }

  nak(delayMs?: number): void {
    this.m.nak(delayMs)
  }

  working(): void {
    this.m.working()
  }

  term(): void {
    this.m.term()
  }
}

function countLines(data: Uint8Array): number {
  let n = 0
  for (const b of data) if (b === 10) n++
  return n
}

/**
 * The writers' durable pull consumer: one standing pull subscription bound to it, and a pull of
 * at most one batch whenever the writer asks for messages and none are waiting. (Discrete
 * `consumer.fetch()` calls lose the messages that arrive just after a fetch ended on the client:
 * the server counts them delivered and they wait a whole ack wait for redelivery; `consume()`
 * pulls more as messages arrive, however slowly the writer stores them.) So at most a couple of
 * batches are ever delivered to a writer ahead of what it stores; the ones it never handed out
 * are given back (nak) when the consumer closes.
 */
export class JetStreamConsumer implements PointsConsumer {
  private readonly js: JetStreamClient
  private readonly names: ReturnType<typeof clusterNames>
  private readonly buffered: JsMsg[] = []
  private waiters: Array<() => void> = []
  private sub?: JetStreamPullSubscription
  private closed = false
  /** fetches in a row that brought nothing */
  private idle = 0

  constructor(
    private readonly nc: NatsConnection,
    cluster: ClusterConfig,
    private readonly log: Logger = silentLogger,
  ) {
    this.js = nc.jetstream()
    this.names = clusterNames(cluster)
    // messages of a pull that arrive after its fetch returned wait here for the writer's next fetch
    // (which can be a while when the store is down): keep them ours meanwhile, as the relay does
    // with the batch it holds, or they would be redelivered to another writer and stored twice
    const every = Math.max(100, Math.floor(parseDuration(cluster.writer.ack_wait) / 3))
    this.keepAlive = setInterval(() => {
      for (const m of this.buffered) m.working()
    }, every)
    this.keepAlive.unref()
  }

  private readonly keepAlive: ReturnType<typeof setInterval>

  /** Resolves when a message arrives, `ms` pass or `signal` aborts, whichever is first. */
  private arrival(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        const i = this.waiters.indexOf(done)
        if (i >= 0) this.waiters.splice(i, 1)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal?.addEventListener('abort', done, {once: true})
      this.waiters.push(done)
    })
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  private async subscription(): Promise<JetStreamPullSubscription> {
    if (this.sub && !this.sub.isClosed()) return this.sub
    const opts = consumerOpts()
    opts.bind(this.names.pointsStream, this.names.writerConsumer)
    opts.manualAck()
    opts.ackExplicit()
    const sub = await this.js.pullSubscribe(this.names.pointsSubjects, opts)
    this.sub = sub
    void (async () => {
      try {
        for await (const m of sub) {
          if (this.closed) m.nak()
          else {
            this.buffered.push(m)
            this.wake()
          }
        }
      } catch (err) {
        this.log.warn('the points subscription ended; subscribing again', {error: errorMessage(err)})
      }
    })()
    return sub
  }

  async fetch(max: number, expiresMs: number, signal?: AbortSignal): Promise<Delivery[]> {
    let sub: JetStreamPullSubscription
    try {
      sub = await this.subscription()
    } catch (err) {
      throw new Error(`cannot subscribe to the writers consumer: ${describeJetStreamError(err)}`, {cause: err})
    }
    if (this.buffered.length === 0) {
      const wait = Math.max(1000, expiresMs)
      sub.pull({batch: max, expires: wait})
      await this.arrival(wait + 100, signal)
      // the first message is here: the rest of the pull follows within moments
      const lingerUntil = Date.now() + LINGER_MS
      while (this.buffered.length > 0 && this.buffered.length < max && !signal?.aborted && !this.closed && Date.now() < lingerUntil) await this.arrival(LINGER_MS, signal)
    }
    const prefix = this.names.pointsSubject('')
    const out = this.buffered.splice(0, max).map((m) => new JetStreamDelivery(m, prefix))
    // a consumer deleted under a bound subscription only ever answers nothing: check now and then
    this.idle = out.length > 0 ? 0 : this.idle + 1
    if (this.idle > 0 && this.idle % IDLE_CHECK_EVERY === 0) await this.checkConsumer()
    return out
  }

  /** Throws (and drops the subscription) when the durable consumer is gone: the relay's recover() makes it again. */
  private async checkConsumer(): Promise<void> {
    try {
      const jsm = await this.nc.jetstreamManager({checkAPI: false})
      await jsm.consumers.info(this.names.pointsStream, this.names.writerConsumer)
    } catch (err) {
      const code = apiErrCode(err)
      if (code !== JS_CONSUMER_NOT_FOUND && code !== JS_STREAM_NOT_FOUND) return // NATS trouble: the next fetch tells
      this.sub?.unsubscribe()
      this.sub = undefined
      throw new Error(`the writers consumer ${this.names.writerConsumer} is gone: ${describeJetStreamError(err)}`, {cause: err})
    }
  }

  async flush(): Promise<void> {
    await this.nc.flush()
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.keepAlive)
    for (const m of this.buffered.splice(0)) m.nak()
    this.wake()
    // the naks and acks out first; a NATS that does not answer must not hold the process
    await withTimeout(this.nc.flush(), 2000)
    this.sub?.unsubscribe()
    if (!(await withTimeout(this.nc.drain(), 5000))) this.log.warn('NATS did not drain the connection in 5 s; closing it')
    await this.nc.close().catch(() => {})
  }
}

/** Stream depth and consumer lag (docs/cluster.md#pipeline). */
export async function jetstreamPipelineStatus(nc: NatsConnection, cluster: ClusterConfig): Promise<PipelineStatus> {
  const names = clusterNames(cluster)
  const jsm = await nc.jetstreamManager({checkAPI: false})
  const s = await jsm.streams.info(names.pointsStream)
  const status: PipelineStatus = {
    stream: names.pointsStream,
    consumer: names.writerConsumer,
    messages: s.state.messages,
    bytes: s.state.bytes,
    maxBytes: s.config.max_bytes,
    firstSeq: s.state.first_seq,
    lastSeq: s.state.last_seq,
    leader: s.cluster?.leader,
    replicas: (s.cluster?.replicas ?? []).map((r) => ({name: r.name, current: r.current, ...(r.lag !== undefined ? {lagMessages: r.lag} : {})})),
    pending: 0,
    ackPending: 0,
    lag: 0,
    redelivered: 0,
    waiting: 0,
  }
  try {
    const c = await jsm.consumers.info(names.pointsStream, names.writerConsumer)
    status.pending = c.num_pending
    status.ackPending = c.num_ack_pending
    status.lag = c.num_pending + c.num_ack_pending
    status.redelivered = c.num_redelivered
    status.waiting = c.num_waiting
  } catch (err) {
    if (apiErrCode(err) !== JS_CONSUMER_NOT_FOUND) throw err
    status.consumerMissing = true
    status.pending = s.state.messages
    status.lag = s.state.messages
  }
  return status
}

/**
 * `mon status` / `mon relay --status`: the points stream's depth and the writers' lag, asked of
 * NATS over `nc` (or a connection of its own, closed after).
 */
export async function pipelineStatus(cluster: ClusterConfig, opts: {nc?: NatsConnection} = {}): Promise<PipelineStatus> {
  const nc = opts.nc ?? (await connectNats(cluster.nats, {name: 'mon-status'}))
  try {
    return await jetstreamPipelineStatus(nc, cluster)
  } finally {
    if (!opts.nc) await nc.close()
  }
}

/**
 * A writer's connection: waits for NATS (a writer started before NATS keeps trying), makes sure the
 * stream (limits brought to the config) and the durable consumer exist, retrying while JetStream
 * has no leader. `signal` ends the wait.
 */
export async function openWriterConsumer(cluster: ClusterConfig, member: string, opts: {log?: Logger; signal?: AbortSignal} = {}): Promise<{consumer: JetStreamConsumer; nc: NatsConnection; recover: () => Promise<void>}> {
  const log = opts.log ?? silentLogger
  // a writer started before NATS waits for it (fail-fast attempts, so a stop signal ends the wait)
  let nc: NatsConnection | undefined
  for (let attempt = 1; !nc; attempt++) {
    if (opts.signal?.aborted) throw new Error('stopped before NATS answered')
    try {
      nc = await connectNats(cluster.nats, {name: `mon-writer-${member}`})
    } catch (err) {
      if (attempt === 1) log.warn('cannot connect to NATS yet; retrying', {servers: cluster.nats.servers.join(','), error: errorMessage(err)})
      await abortableDelay(Math.min(5000, 250 * attempt), opts.signal)
    }
  }
  const conn = nc
  // checkAPI off: no account-info round trip that can time out while JetStream elects a leader
  const recover = async () => {
    const jsm = await conn.jetstreamManager({timeout: parseDuration(cluster.nats.timeout), checkAPI: false})
    await ensurePointsStream(jsm, cluster, {update: true, log})
    await ensureWriterConsumer(jsm, cluster)
  }
  // every failure here is retried (JetStream without a leader, a timeout under load): a writer
  // that gave up would sit connected and idle
  for (let attempt = 1; ; attempt++) {
    try {
      await recover()
      break
    } catch (err) {
      if (attempt === 1) log.warn('cannot set up the points stream and the writers consumer yet; retrying', {error: describeJetStreamError(err)})
      await abortableDelay(Math.min(5000, 250 * attempt), opts.signal)
      if (opts.signal?.aborted) {
        await conn.close()
        throw err
      }
    }
  }
  return {consumer: new JetStreamConsumer(conn, cluster, log), nc: conn, recover}
}

function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}
