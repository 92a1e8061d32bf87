import {randomUUID} from 'node:crypto'
import {consumerOpts, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamSubscription, type NatsConnection} from 'nats'
import type {Clock} from '../clock.js'
import {parseDuration} from '../config/duration.js'
import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {ClaimedRow} from '../notify/deliver/outbox.js'
import type {SendStamp} from '../notify/deliver/sender.js'
import {sleep, type Timer, type TimerHandle} from '../scheduler/timer.js'
import type {ClusterConfig} from './config.js'
import {NotifierLedger, transitionDedupKey, type AppliedRecord, type NotifierLease, type DeliveredKey, type DeliveredRecord, type HaNotifyMessage, type LeaseMessage} from './ha-notify.js'
import {clusterNames} from './nats.js'

/**
 * The notifier lease and the shared notification log on a JetStream stream (`<NAME>_NOTIFY`,
 * subjects `<name>.notify.lease` and `<name>.notify.log`): every daemon reads the whole stream in
 * order with an ordered consumer into a {@link NotifierLedger}, publishes claim/renew messages,
 * and — while it holds the lease — a `delivered` record after each delivery. See ha-notify.ts and
 * docs/cluster.md#notifications.
 *
 * Fencing: a lease message published at local time r and read back as making this daemon the
 * holder makes it active until r + lease − margin by its own clock; everyone else takes over only
 * once a claim lands in the stream after (log time of the renew) + lease ≥ r + lease. The sender
 * asks {@link isActive} right before each send.
 */

export interface HaNotifierOptions {
  nc: NatsConnection
  cluster: ClusterConfig
  member: string
  clock: Clock
  timer: Timer
  log?: Logger
  /** told when this daemon becomes the notifier (true) or stops being it (false) */
  onActiveChange?: (active: boolean) => void
}

export interface NotifierFacts {
  member: string
  /** this daemon sends notifications now */
  active: boolean
  /** has read the stream up to where it was when the daemon started */
  caughtUp: boolean
  /** the current notifier as the log says, undefined while none */
  notifier?: string
  term?: number
  /** RFC 3339, log time */
  leaseExpiresAt?: string
  lastDelivered?: DeliveredView
  /** the last deliveries recorded (up to 20), oldest first */
  recent: DeliveredView[]
  /** sends this daemon held back because its lease was not valid by its own clock (fencing) */
  fenced: number
  /** log sequence read up to */
  seq: number
  lastError?: string
}

export interface DeliveredView {
  member: string
  receiver: string
  channel: string
  groupKey: string
  kind: string
  dedupKey: string
  /** log time of the record */
  at: string
  seq: number
}

function deliveredView(r: AppliedRecord): DeliveredView {
  return {member: r.record.member, receiver: r.record.key.receiver, channel: r.record.key.channel, groupKey: r.record.key.groupKey, kind: r.record.kind, dedupKey: r.record.dedupKey, at: new Date(r.at).toISOString(), seq: r.seq}
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** the lease's safety margin against clock rate differences: a fifth of it, at least 200 ms */
export function leaseMargin(leaseMs: number): number {
  return Math.max(200, Math.floor(leaseMs / 5))
}

/** Creates (or updates) the notify stream: file storage, `cluster.stream.replicas` replicas. */
export async function ensureNotifyStream(nc: NatsConnection, cluster: ClusterConfig): Promise<void> {
  const names = clusterNames(cluster)
  const jsm = await nc.jetstreamManager()
  const config = {
    name: names.notifyStream,
    subjects: [names.notifySubjects],
    storage: StorageType.File,
    num_replicas: cluster.stream.replicas,
    retention: RetentionPolicy.Limits,
    max_age: parseDuration(cluster.stream.max_age) * 1_000_000,
    duplicate_window: parseDuration(cluster.stream.duplicate_window) * 1_000_000,
  }
  try {
    await jsm.streams.info(names.notifyStream)
  } catch {
    try {
      await jsm.streams.add(config)
    } catch (err) {
      // another daemon created it at the same moment
      if (!/already in use/i.test(errorMessage(err))) throw err
    }
  }
}

/** records are kept (while not renewed by a newer one) for half the stream's max_age */
export function recordHorizon(cluster: ClusterConfig): number {
  return Math.floor(parseDuration(cluster.stream.max_age) / 2)
}

export class JetStreamNotifier implements NotifierLease {
  readonly ledger: NotifierLedger
  private readonly names
  private readonly leaseMs: number
  private readonly margin: number
  private readonly log: Logger
  private js!: JetStreamClient
  private messages: JetStreamSubscription | undefined
  private consuming: Promise<void> | undefined
  private tickHandle: TimerHandle | undefined
  private stopped = false
  /** local time each of our lease messages was published at, by nonce */
  private readonly sentAt = new Map<string, number>()
  private validUntil = 0
  private active = false
  private startSeq = 0
  private caughtUp = false
  private lastError: string | undefined
  private waiters: Array<{seq: number; resolve: () => void}> = []
  private fenced = 0

  constructor(private readonly opts: HaNotifierOptions) {
    this.names = clusterNames(opts.cluster)
    this.ledger = new NotifierLedger(recordHorizon(opts.cluster))
    this.leaseMs = parseDuration(opts.cluster.ha.lease)
    this.margin = leaseMargin(this.leaseMs)
    this.log = opts.log ?? silentLogger
  }

  get member(): string {
    return this.opts.member
  }

  /**
   * Creates the stream if needed and starts reading it; claims the lease once caught up. JetStream
   * may have no stream leader for a moment (a cluster starting, an election): retried for
   * 10 × `nats.timeout`, then the start fails with the reason.
   */
  async start(): Promise<void> {
    this.js = this.opts.nc.jetstream()
    const {clock, timer} = this.opts
    const giveUpAt = clock.now() + 10 * parseDuration(this.opts.cluster.nats.timeout)
    for (;;) {
      try {
        await ensureNotifyStream(this.opts.nc, this.opts.cluster)
        const jsm = await this.opts.nc.jetstreamManager()
        this.startSeq = (await jsm.streams.info(this.names.notifyStream)).state.last_seq
        break
      } catch (err) {
        if (clock.now() >= giveUpAt) throw new Error(`cannot open the notify stream ${this.names.notifyStream}: ${errorMessage(err)}`)
        this.log.warn('notifier: the notify stream is not available yet, retrying', {error: errorMessage(err)})
        await sleep(timer, 1000)
      }
    }
    if (this.startSeq === 0) this.caughtUp = true
    this.consuming = this.consumeLoop()
    this.arm(0)
  }

  /** Whether this daemon may send now, by its own clock (the fencing check). */
  isActive(now: number = this.opts.clock.now()): boolean {
    const h = this.ledger.holder
    return this.caughtUp && h !== undefined && h.member === this.opts.member && now < this.validUntil
  }

  // ---------------------------------------------------------------- the sender's gate

  before(row: ClaimedRow): SendStamp | undefined {
    if (!this.isActive()) {
      this.fenced++
      return undefined
    }
    const n = row.notification
    if ((n.kind === 'firing' || n.kind === 'resolved') && n.routeId) {
      const key: DeliveredKey = {routeId: n.routeId, groupKey: n.groupKey, receiver: row.receiver, channel: row.channel}
      const prev = this.ledger.prevOf(key)
      const firing = n.alerts.filter((a) => a.status === 'firing').map((a) => a.fingerprint)
      const resolved = n.alerts.filter((a) => a.status === 'resolved').map((a) => a.fingerprint)
      const dedupKey = transitionDedupKey(key, prev, n.status, firing, resolved)
      const record: DeliveredRecord = {
        type: 'delivered',
        member: this.opts.member,
        term: this.ledger.holder!.term,
        key,
        prev,
        dedupKey,
        kind: n.kind,
        firing: [...firing].sort(),
        resolved: [...resolved].sort(),
        notifiedAt: n.createdAt,
        notificationId: n.id,
      }
      return {dedupKey, record}
    }
    return {dedupKey: n.id}
  }

  /** After a delivery: the record goes to the log, and this returns once it is read back. */
  async after(_row: ClaimedRow, stamp: SendStamp): Promise<void> {
    const record = stamp.record as DeliveredRecord | undefined
    if (!record) return
    const msgID = `${record.member}:${record.term}:${record.dedupKey}`
    for (;;) {
      try {
        const ack = await this.js.publish(this.names.notifyLogSubject, encoder.encode(JSON.stringify(record)), {msgID, timeout: this.leaseMs})
        await this.waitApplied(ack.seq, this.leaseMs)
        return
      } catch (err) {
        if (this.stopped || !this.isActive()) {
          this.log.warn('a delivered notification could not be recorded in the cluster before the lease ran out; the next notifier may send it again (same dedup key)', {
            dedupKey: record.dedupKey,
            error: errorMessage(err),
          })
          return
        }
        await sleep(this.opts.timer, 200).catch(() => {})
      }
    }
  }

  // ---------------------------------------------------------------- lease

  private arm(delay: number): void {
    if (this.stopped) return
    this.tickHandle = this.opts.timer.setTimeout(() => {
      this.tickHandle = undefined
      void this.tick().finally(() => this.arm(Math.max(100, Math.floor(this.leaseMs / 3))))
    }, delay)
  }

  private async tick(): Promise<void> {
    this.evaluate()
    if (!this.caughtUp || this.stopped) return
    const h = this.ledger.holder
    const now = this.opts.clock.now()
    if (h?.member === this.opts.member) await this.publishLease('renew')
    else if (!h || now >= h.expiresAt) await this.publishLease('claim')
    this.evaluate()
  }

  private async publishLease(op: LeaseMessage['op']): Promise<void> {
    const nonce = randomUUID()
    const msg: LeaseMessage & {nonce: string} = {type: 'lease', op, member: this.opts.member, leaseMs: this.leaseMs, nonce}
    this.sentAt.set(nonce, this.opts.clock.now())
    try {
      await this.js.publish(this.names.notifyLeaseSubject, encoder.encode(JSON.stringify(msg)), {timeout: Math.max(500, Math.floor(this.leaseMs / 3))})
      if (this.lastError !== undefined) this.log.info('notifier lease: publishing again')
      this.lastError = undefined
    } catch (err) {
      const error = errorMessage(err)
      if (this.lastError !== error) this.log.warn('notifier lease: cannot publish', {op, error})
      this.lastError = error
      this.sentAt.delete(nonce)
    }
    // forget nonces that never came back
    if (this.sentAt.size > 100) for (const k of [...this.sentAt.keys()].slice(0, 50)) this.sentAt.delete(k)
  }

  /** Recomputes whether this daemon is the notifier and tells the owner of a change. */
  private evaluate(): void {
    const active = this.isActive()
    if (active === this.active) return
    this.active = active
    const h = this.ledger.holder
    this.log.info(active ? 'this daemon is now the notifier' : 'this daemon stopped being the notifier', {notifier: h?.member, term: h?.term})
    this.opts.onActiveChange?.(active)
  }

  // ---------------------------------------------------------------- reading the log

  private async consumeLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        // an ordered push consumer: the client recreates it (from where it got to) when a server
        // dies; nats-server 2.9 does not serve the newer ordered pull consumers
        const opts = consumerOpts().orderedConsumer()
        if (this.ledger.lastSeq > 0) opts.startSequence(this.ledger.lastSeq + 1)
        else opts.deliverAll()
        this.messages = await this.js.subscribe(this.names.notifySubjects, opts)
        if (this.stopped) this.messages.unsubscribe()
        for await (const m of this.messages) {
          let msg: HaNotifyMessage | undefined
          try {
            msg = JSON.parse(decoder.decode(m.data)) as HaNotifyMessage
          } catch {
            msg = undefined
          }
          this.applyOne(m.seq, Math.floor(m.info.timestampNanos / 1_000_000), msg)
        }
      } catch (err) {
        if (this.stopped) return
        const error = errorMessage(err)
        if (this.lastError !== error) this.log.warn('notifier: reading the notify stream failed, retrying', {error})
        this.lastError = error
        await sleep(this.opts.timer, 500).catch(() => {})
      }
    }
  }

  private applyOne(seq: number, at: number, msg: HaNotifyMessage | undefined): void {
    // the log is read again: an earlier error (a publish or read during an election) is over
    this.lastError = undefined
    if (msg === undefined) {
      this.ledger.lastSeq = Math.max(this.ledger.lastSeq, seq)
    } else {
      const result = this.ledger.apply(seq, at, msg)
      if (msg.type === 'lease') {
        const nonce = (msg as {nonce?: string}).nonce
        const sent = nonce === undefined ? undefined : this.sentAt.get(nonce)
        if (nonce !== undefined) this.sentAt.delete(nonce)
        const h = this.ledger.holder
        if (h?.member !== this.opts.member) this.validUntil = 0
        else if (result === 'lease' && msg.member === this.opts.member && sent !== undefined) {
          this.validUntil = Math.max(this.validUntil, sent + msg.leaseMs - this.margin)
        }
      }
    }
    if (!this.caughtUp && this.ledger.lastSeq >= this.startSeq) this.caughtUp = true
    if (this.waiters.length > 0) {
      const done = this.waiters.filter((w) => w.seq <= this.ledger.lastSeq)
      this.waiters = this.waiters.filter((w) => w.seq > this.ledger.lastSeq)
      for (const w of done) w.resolve()
    }
    this.evaluate()
  }

  private waitApplied(seq: number, timeoutMs: number): Promise<void> {
    if (this.ledger.lastSeq >= seq) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const handle = this.opts.timer.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done)
        reject(new Error(`record ${seq} not read back within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = () => {
        this.opts.timer.clearTimeout(handle)
        resolve()
      }
      this.waiters.push({seq, resolve: done})
    })
  }

  // ---------------------------------------------------------------- status, stop

  facts(): NotifierFacts {
    const h = this.ledger.holder
    const last = this.ledger.lastRecord
    return {
      member: this.opts.member,
      active: this.isActive(),
      caughtUp: this.caughtUp,
      ...(h ? {notifier: h.member, term: h.term, leaseExpiresAt: new Date(h.expiresAt).toISOString()} : {}),
      ...(last ? {lastDelivered: deliveredView(last)} : {}),
      recent: this.ledger.recent.map(deliveredView),
      fenced: this.fenced,
      seq: this.ledger.lastSeq,
      ...(this.lastError ? {lastError: this.lastError} : {}),
    }
  }

  /** Stops renewing; hands the lease back (so another daemon takes over at once) when holding it. */
  async stop(): Promise<void> {
    const holding = this.ledger.holder?.member === this.opts.member
    this.stopped = true
    if (this.tickHandle) this.opts.timer.clearTimeout(this.tickHandle)
    this.tickHandle = undefined
    this.validUntil = 0
    this.evaluate()
    if (holding) {
      const msg: LeaseMessage = {type: 'lease', op: 'release', member: this.opts.member, leaseMs: this.leaseMs}
      await this.js.publish(this.names.notifyLeaseSubject, encoder.encode(JSON.stringify(msg)), {timeout: 2000}).catch(() => {})
    }
    this.messages?.unsubscribe()
    await this.consuming?.catch(() => {})
  }
}

/**
 * `mon status`: the notifier as the cluster's log says — read from the start of the notify stream
 * on a connection of the caller's (no daemon needed).
 */
export async function notifierStatus(nc: NatsConnection, cluster: ClusterConfig, now: number): Promise<{notifier: string | null; term: number | null; leaseExpiresAt: string | null; expired: boolean; lastDelivered: NotifierFacts['lastDelivered'] | null; seq: number}> {
  const names = clusterNames(cluster)
  const jsm = await nc.jetstreamManager()
  let last = 0
  try {
    last = (await jsm.streams.info(names.notifyStream)).state.last_seq
  } catch {
    last = 0
  }
  const ledger = new NotifierLedger(recordHorizon(cluster))
  if (last > 0) {
    const messages = await nc.jetstream().subscribe(names.notifySubjects, consumerOpts().orderedConsumer().deliverAll())
    // a stream that stops delivering (no leader) ends the read: what was read so far is the answer
    const giveUp = setTimeout(() => messages.unsubscribe(), 10 * parseDuration(cluster.nats.timeout))
    for await (const m of messages) {
      try {
        ledger.apply(m.seq, Math.floor(m.info.timestampNanos / 1_000_000), JSON.parse(decoder.decode(m.data)) as HaNotifyMessage)
      } catch {}
      if (m.seq >= last) break
    }
    clearTimeout(giveUp)
    messages.unsubscribe()
  }
  const h = ledger.holder
  const r = ledger.lastRecord
  return {
    notifier: h?.member ?? null,
    term: h?.term ?? null,
    leaseExpiresAt: h ? new Date(h.expiresAt).toISOString() : null,
    expired: h ? now >= h.expiresAt : true,
    lastDelivered: r ? deliveredView(r) : null,
    seq: ledger.lastSeq,
  }
}
