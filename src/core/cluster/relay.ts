/**
 * A writer of the cluster pipeline (`mon relay`, docs/cluster.md#pipeline): fetches batches of
 * messages from the writers' shared durable consumer, writes each batch to the configured store and
 * acknowledges the messages only after the store accepted them.
 *
 * - Store down (unreachable, 5xx, 429): the batch is retried here with the agent Writer's backoff
 *   while `working()` keeps the messages this writer's (no redelivery to another writer that would
 *   fail the same way); fewer batches at once until it is back. Stopping naks them: redelivered.
 * - Store refuses a batch for good (400: bad data): the messages are terminated and counted, so one
 *   poison message cannot stop the pipeline. A partial write (some points refused) acks the batch.
 * - Killed mid-batch: nothing was acked, the stream redelivers after `writer.ack_wait`; the store
 *   overwrites the points it already had (same series + field + timestamp).
 */
import type {Clock} from '../clock.js'
import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {SpoolBatch, SpoolPrecision, SpoolRecord} from '../pipeline/spool.js'
import {isPermanentWriteError, retryAfterOf, writeBatch, writerRetryPolicy, type StoreSource} from '../pipeline/writer.js'
import {nextDelay} from '../retry.js'
import {sleep, systemTimer, type Timer} from '../scheduler/timer.js'
import type {Point} from '../model/point.js'
import type {Store} from '../store/types.js'
import type {Delivery, PointsConsumer} from './queue.js'

export interface RelayOptions {
  consumer: PointsConsumer
  store: StoreSource
  clock: Clock
  timer?: Timer
  log?: Logger
  random?: () => number
  /** messages per fetch (`cluster.writer.batch`) */
  batch: number
  /** batches stored at once while the store is healthy (`cluster.writer.concurrency`) */
  concurrency: number
  /** the consumer's ack wait: `working()` is sent well within it while a batch is retried */
  ackWaitMs: number
  /** how long one fetch waits for messages */
  fetchWaitMs?: number
  backoffMs?: {initial: number; max: number}
  /** called after a failed fetch, before the next (re-creates a missing stream or consumer) */
  recover?: () => Promise<void>
}

export interface RelayStats {
  /** messages stored and acknowledged */
  messages: number
  points: number
  batches: number
  /** deliveries that were redeliveries (a writer died or gave back its batch before) */
  redeliveries: number
  /** failed store writes (each retried) */
  storeErrors: number
  /** failed fetches (NATS down, no leader) */
  fetchErrors: number
  /** messages the store refused for good (terminated) */
  rejectedMessages: number
  /** points the store refused for good */
  rejectedPoints: number
  storeUp: boolean
  inflight: number
  lastError?: string
  lastErrorAt?: number
  lastWriteAt?: number
  /** stored points per agent (message subject member) */
  byMember: Record<string, number>
}

export class Relay {
  private readonly o: Required<Omit<RelayOptions, 'recover' | 'store'>> & Pick<RelayOptions, 'recover'>
  private store?: Promise<Store>
  private readonly inflight = new Map<Promise<void>, Delivery[]>()
  private readonly done = new WeakSet<Delivery>()
  private running?: Promise<void>
  private ac = new AbortController()
  private readonly s: RelayStats = {messages: 0, points: 0, batches: 0, redeliveries: 0, storeErrors: 0, fetchErrors: 0, rejectedMessages: 0, rejectedPoints: 0, storeUp: true, inflight: 0, byMember: {}}

  constructor(private readonly opts: RelayOptions) {
    this.o = {
      timer: systemTimer,
      log: silentLogger,
      random: Math.random,
      fetchWaitMs: 1000,
      // a writer has nothing else to do: look for the store again at least every 5 s
      backoffMs: {initial: 200, max: 5000},
      ...opts,
    }
  }

  start(): void {
    if (this.running) return
    this.ac = new AbortController()
    this.running = this.loop()
  }

  /**
   * Stops fetching; batches being written get up to `graceMs` to finish (and be acked), the others
   * are given back (nak: redelivered at once to another writer).
   */
  async stop(graceMs = 5000): Promise<void> {
    this.ac.abort(new Error('relay stopping'))
    // the loop ends at once (a fetch or a wait for room gives way to the abort); batches in flight get the grace
    const wait = new AbortController()
    await Promise.race([Promise.all([this.running, ...this.inflight.keys()]), sleep(this.o.timer, graceMs, wait.signal).catch(() => {})])
    wait.abort()
    if (this.inflight.size > 0) this.o.log.warn('batches still being stored at the stop deadline: given back for redelivery', {batches: this.inflight.size})
    for (const ds of this.inflight.values()) for (const d of ds) if (!this.done.has(d)) d.nak()
    await bounded(this.o.consumer.flush(), 2000, this.o.timer)
    this.running = undefined
  }

  stats(): RelayStats {
    return {...this.s, inflight: this.inflight.size, byMember: {...this.s.byMember}}
  }

  private async getStore(): Promise<Store> {
    if (!this.store) {
      const src = this.opts.store
      this.store = typeof src === 'function' ? src() : Promise.resolve(src)
      this.store.catch(() => (this.store = undefined))
    }
    return this.store
  }

  private async loop(): Promise<void> {
    const signal = this.ac.signal
    const stopping = aborted(signal)
    let failures = 0
    while (!signal.aborted) {
      const limit = this.s.storeUp ? this.o.concurrency : 1
      if (this.inflight.size >= limit) {
        await Promise.race([...this.inflight.keys(), stopping])
        continue
      }
      let got: Delivery[]
      try {
        got = await this.o.consumer.fetch(this.o.batch, this.o.fetchWaitMs, signal)
        if (failures > 0) this.o.log.info('fetching from the stream again', {afterFailures: failures})
        failures = 0
      } catch (err) {
        if (signal.aborted) break
        failures++
        this.s.fetchErrors++
        this.s.lastError = errorMessage(err)
        this.s.lastErrorAt = this.o.clock.now()
        if (failures === 1) this.o.log.warn('cannot fetch from the points stream; retrying', {error: errorMessage(err)})
        const delay = nextDelay(writerRetryPolicy(this.o.backoffMs), failures, this.o.random)
        await sleep(this.o.timer, Math.min(delay, 5000), signal).catch(() => {})
        if (!signal.aborted) await this.o.recover?.().catch(() => {})
        continue
      }
      if (got.length === 0) continue
      if (signal.aborted) {
        for (const d of got) d.nak()
        break
      }
      const p: Promise<void> = this.process(got, signal).finally(() => this.inflight.delete(p))
      this.inflight.set(p, got)
    }
  }

  /** Keeps the batch's messages ours while it is retried: `working()` at a third of the ack wait. */
  private keepAlive(ds: Delivery[]): () => void {
    let handle: ReturnType<Timer['setTimeout']> | undefined
    const every = Math.max(100, Math.floor(this.o.ackWaitMs / 3))
    const tick = () => {
      for (const d of ds) if (!this.done.has(d)) d.working()
      handle = this.o.timer.setTimeout(tick, every)
    }
    handle = this.o.timer.setTimeout(tick, every)
    return () => {
      if (handle !== undefined) this.o.timer.clearTimeout(handle)
      handle = undefined
    }
  }

  private async process(ds: Delivery[], signal: AbortSignal): Promise<void> {
    for (const d of ds) if (d.redeliveries > 0) this.s.redeliveries++
    const stopKeepAlive = this.keepAlive(ds)
    try {
      // one store write per precision (agents spool one precision per record; usually all alike)
      const groups = new Map<SpoolPrecision, Delivery[]>()
      for (const d of ds) {
        const g = groups.get(d.message.precision)
        if (g) g.push(d)
        else groups.set(d.message.precision, [d])
      }
      for (const [precision, group] of groups) await this.writeGroup(precision, group, signal)
    } finally {
      stopKeepAlive()
    }
  }

  private async writeGroup(precision: SpoolPrecision, ds: Delivery[], signal: AbortSignal): Promise<void> {
    const records: SpoolRecord[] = ds.map((d) => ({input: d.message.input, points: d.message.points, precision, appendedAt: 0, payload: d.message.body}))
    const points = records.reduce((n, r) => n + r.points, 0)
    const batch: SpoolBatch = {id: 0, records, points, bytes: records.reduce((n, r) => n + r.payload.length, 0), precision, start: {segment: 0, offset: 0}, end: {segment: 0, offset: 0}, firstAppendedAt: 0}
    this.o.log.debug('storing a batch', {messages: ds.length, points, redelivered: ds.filter((d) => d.redeliveries > 0).length})
    for (let attempt = 1; ; attempt++) {
      try {
        const store = await this.getStore()
        const outcome = await writeBatch(store, batch, this.o.log)
        for (const d of ds) {
          d.ack()
          this.done.add(d)
        }
        if (outcome.refusedPoints > 0) {
          this.s.rejectedPoints += outcome.refusedPoints
          this.o.log.error('store refused points of a batch; wrote the others', {points, refused: outcome.refusedPoints, error: outcome.reason})
        }
        this.s.batches++
        this.s.messages += ds.length
        this.s.points += points - outcome.refusedPoints
        for (const d of ds) this.s.byMember[d.message.member] = (this.s.byMember[d.message.member] ?? 0) + d.message.points
        this.s.lastWriteAt = this.o.clock.now()
        if (!this.s.storeUp) this.o.log.info('store is writable again', {afterAttempts: attempt})
        this.s.storeUp = true
        return
      } catch (err) {
        const message = errorMessage(err)
        this.s.storeErrors++
        this.s.lastError = message
        this.s.lastErrorAt = this.o.clock.now()
        if (isPermanentWriteError(err)) {
          for (const d of ds) {
            d.term()
            this.done.add(d)
          }
          this.s.rejectedMessages += ds.length
          this.s.rejectedPoints += points
          this.o.log.error('store rejected a batch; dropped its messages', {messages: ds.length, points, error: message})
          return
        }
        if (this.s.storeUp || attempt === 1) this.o.log.warn('store write failed; retrying', {points, error: message})
        this.s.storeUp = false
        const delay = nextDelay(writerRetryPolicy(this.o.backoffMs), attempt, this.o.random, retryAfterOf(err))
        try {
          await sleep(this.o.timer, delay, signal)
        } catch {
          // stopping: give them back, another writer (or the next run) stores them
          for (const d of ds) {
            d.nak()
            this.done.add(d)
          }
          return
        }
      }
    }
  }
}

/**
 * The relay's own counters as a point of `mon_internal` (component=relay, host, member), written
 * straight to the store beside what it relays: messages, points, redeliveries, store_errors,
 * fetch_errors, rejected_points (cumulative since start), store_up, inflight.
 */
export function relayPoint(s: RelayStats, tags: {host: string; member: string}, now: number): Point {
  const int = (n: number) => BigInt(Math.max(0, Math.round(n)))
  return {
    measurement: 'mon_internal',
    tags: {component: 'relay', host: tags.host, member: tags.member},
    fields: {messages: int(s.messages), points: int(s.points), batches: int(s.batches), redeliveries: int(s.redeliveries), store_errors: int(s.storeErrors), fetch_errors: int(s.fetchErrors), rejected_points: int(s.rejectedPoints), store_up: s.storeUp, inflight: int(s.inflight)},
    ts: now,
  }
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), {once: true}))
}

/** Waits for `p` at most `ms`; a failure or a timeout is not the caller's problem (shutdown). */
async function bounded(p: Promise<unknown>, ms: number, timer: Timer): Promise<void> {
  const ac = new AbortController()
  await Promise.race([p.catch(() => {}), sleep(timer, ms, ac.signal).catch(() => {})])
  ac.abort()
}
