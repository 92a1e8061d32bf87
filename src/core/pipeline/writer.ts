/**
 * Drains the spool into the store: batches of up to `batchSize` points, several in flight while
 * the store keeps up, one at a time once it fails. A failed write is retried with exponential
 * backoff and jitter (honouring a Retry-After the store reports) for as long as it takes: the
 * points are on disk, so an outage costs time, not data. A batch is acknowledged to the spool
 * only after the store accepted it. Points the store refuses for good while keeping the others (a
 * field type conflict: the embedded store's and InfluxDB's "partial write") are counted as dropped
 * one by one, per input; the others of the batch are stored. A batch the store rejects whole (bad
 * data, HTTP 400) is dropped and counted, so one poison batch cannot stop the pipeline.
 */
import type {Clock} from '../clock.js'
import {InputError, errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import {parseLineProtocol} from '../model/line-protocol/index.js'
import type {Point} from '../model/point.js'
import {nextDelay, type RetryPolicy} from '../retry.js'
import {sleep, systemTimer, type Timer} from '../scheduler/timer.js'
import type {Store, WriteOutcome} from '../store/types.js'
import {payloadParts, type Spool, type SpoolBatch, type SpoolPrecision, type SpoolRecord} from './spool.js'

/**
 * Optional store capability: take line protocol as it is (no parse + re-serialize). A store that
 * has it gets the spooled text straight through; the others get parsed points.
 */
export interface LineProtocolSink {
  /**
   * `body` in parts: buffers to send one after the other (spooled request bodies as they arrived);
   * `opts.entries`: how many entries (points) it holds, when known (the spool's count), so a body
   * that fits one request need not be walked to be cut into batches.
   */
  writeLineProtocol(body: string | Buffer | readonly Buffer[], precision: SpoolPrecision, opts?: {entries?: number}): Promise<void>
}

export function acceptsLineProtocol(store: Store): store is Store & LineProtocolSink {
  return typeof (store as Partial<LineProtocolSink>).writeLineProtocol === 'function'
}

/**
 * Optional store capability: read spooled line protocol itself, when it can do so faster than
 * through points (the embedded store's columnar fast path, src/core/store/sqlite/write.ts
 * writeColumns). Undefined means "not this batch" (a shape or a case it leaves to the exact path)
 * with nothing written: the writer then gives it parsed points, as to any store.
 */
export interface SpooledLinesSink {
  /** a payload is a record's bytes, or the parts it was appended in ({@link SpoolRecord.parts}: not joined for the sink) */
  writeSpooledLines(payloads: ReadonlyArray<Buffer | readonly Buffer[]>, precision: SpoolPrecision): Promise<WriteOutcome | undefined>
}

export function acceptsSpooledLines(store: Store): store is Store & SpooledLinesSink {
  return typeof (store as Partial<SpooledLinesSink>).writeSpooledLines === 'function'
}

/**
 * A store that reads spooled bytes itself builds no point per line, so the writer gives it up to
 * this many times `batchSize` points a write (when that much waits in the spool): its cost per
 * write is per series field (one chunk row each), and 4× fewer writes of the same points took
 * ~30% less CPU per point in the peer-ingest bench (2.84 → 2.13 µs per line).
 */
export const SPOOLED_LINES_BATCH_FACTOR = 4

/**
 * Optional store capability: take a spool batch whole, records as they are (the cluster's
 * forwarder, src/core/cluster/forward.ts: each record becomes one stream message whose id is
 * derived from it). Resolves once every record is durably taken; throws to have it retried.
 */
export interface SpoolBatchSink {
  writeSpoolBatch(batch: SpoolBatch): Promise<void>
}

export function acceptsSpoolBatch(store: Store): store is Store & SpoolBatchSink {
  return typeof (store as Partial<SpoolBatchSink>).writeSpoolBatch === 'function'
}

/**
 * How a store's error steers the writer: an {@link InputError} (bad data, e.g. InfluxDB's 400
 * partial-write rejection) or an HTTP 400/413/422 `status` drops the batch (retrying cannot help);
 * anything else — unreachable, 5xx, 429, and also 401/403/404, which an operator fixes — is
 * retried, since the points are safe in the spool. `retryAfterMs` sets the least wait.
 */
export interface WriteErrorHints {
  retryAfterMs?: number
  status?: number
  statusCode?: number
}

export function isPermanentWriteError(err: unknown): boolean {
  if (err instanceof InputError) return true
  if (typeof err !== 'object' || err === null) return false
  const e = err as WriteErrorHints
  const status = e.status ?? e.statusCode
  return status === 400 || status === 413 || status === 422
}

export function retryAfterOf(err: unknown): number | undefined {
  const v = typeof err === 'object' && err !== null ? (err as WriteErrorHints).retryAfterMs : undefined
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined
}

/**
 * How many points of a write a store refused while keeping the others (a {@link PartialWriteError},
 * InfluxDB's partial-write 400), when the error says; undefined for any other error.
 */
export function rejectedPointsOf(err: unknown): number | undefined {
  if (!isPermanentWriteError(err) || typeof err !== 'object' || err === null) return undefined
  const n = (err as {rejectedPoints?: unknown}).rejectedPoints
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

export type StoreSource = Store | (() => Promise<Store>)

export interface WriterOptions {
  spool: Spool
  store: StoreSource
  clock: Clock
  timer?: Timer
  log?: Logger
  /** points per store write (at least one spool record) */
  batchSize: number
  /** batches in flight while the store is healthy */
  concurrency?: number
  /** first retry delay and the cap (ms) */
  backoffMs?: {initial: number; max: number}
  random?: () => number
}

export interface WriterStats {
  batches: number
  points: number
  /** failed write attempts */
  errors: number
  /** batches the store rejected for good, whole or in part */
  rejected: number
  /** points the store refused for good (dropped, counted per input in the spool) */
  rejectedPoints: number
  /** values that landed on the same series, field and store timestamp as a later one of their batch */
  mergedPoints: number
  lastError?: string
  lastErrorAt?: number
  lastWriteAt?: number
  /** false after a failed write until the next success */
  storeUp: boolean
  /** points written per input since start */
  writtenByInput: Record<string, number>
  /** write latency since the last {@link Writer.takeLatency} */
  latency: {count: number; sumMs: number; maxMs: number}
}

export class Writer {
  private readonly opts: Required<Omit<WriterOptions, 'log' | 'store'>> & {log: Logger}
  private storeSource: StoreSource
  private store?: Promise<Store>
  private readonly inflight = new Set<Promise<void>>()
  private running?: Promise<void>
  private stopAc = new AbortController()
  private changeWaiters: Array<() => void> = []
  /** the store reads spooled bytes itself ({@link SPOOLED_LINES_BATCH_FACTOR}); known once it is open */
  private readsSpooledLines = false
  private readonly s: WriterStats = {batches: 0, points: 0, errors: 0, rejected: 0, rejectedPoints: 0, mergedPoints: 0, storeUp: true, writtenByInput: {}, latency: {count: 0, sumMs: 0, maxMs: 0}}

  constructor(opts: WriterOptions) {
    this.opts = {
      ...opts,
      timer: opts.timer ?? systemTimer,
      concurrency: opts.concurrency ?? 4,
      backoffMs: opts.backoffMs ?? {initial: 200, max: 15_000},
      random: opts.random ?? Math.random,
      log: opts.log ?? silentLogger,
    }
    this.storeSource = opts.store
  }

  configure(opts: {batchSize?: number; concurrency?: number}): void {
    if (opts.batchSize) this.opts.batchSize = opts.batchSize
    if (opts.concurrency) this.opts.concurrency = opts.concurrency
  }

  start(): void {
    if (this.running) return
    this.stopAc = new AbortController()
    this.running = this.loop()
  }

  /**
   * Stops taking batches and abandons retries; batches not written stay in the spool (a later
   * run replays them). Waits up to `graceMs` for writes already sent to finish.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.stopAc.abort(new Error('writer stopping'))
    this.notify()
    await this.running
    // A store call can hang on its own retries; its batch stays unacknowledged in the spool and
    // is replayed by the next run (the store overwrites duplicates), so do not wait for ever.
    const ac = new AbortController()
    await Promise.race([Promise.all(this.inflight), sleep(this.opts.timer, graceMs, ac.signal).catch(() => {})])
    ac.abort()
    this.running = undefined
    this.opts.spool.rewind()
  }

  /**
   * Waits until everything in the spool is in the store; false when `deadline` (clock ms)
   * passes first. The writer keeps running either way.
   */
  async drain(deadline: number): Promise<boolean> {
    for (;;) {
      if (this.opts.spool.backlog().records <= 0 && this.inflight.size === 0) return true
      const left = deadline - this.opts.clock.now()
      if (left <= 0) return false
      const ac = new AbortController()
      await Promise.race([this.changed(), sleep(this.opts.timer, left, ac.signal).catch(() => {})])
      ac.abort()
    }
  }

  stats(): WriterStats {
    return {...this.s, writtenByInput: {...this.s.writtenByInput}, latency: {...this.s.latency}}
  }

  /** Latency figures since the previous call (for self-metrics), then reset. */
  takeLatency(): WriterStats['latency'] {
    const l = this.s.latency
    this.s.latency = {count: 0, sumMs: 0, maxMs: 0}
    return l
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.changeWaiters.push(resolve))
  }

  private notify(): void {
    const w = this.changeWaiters
    this.changeWaiters = []
    for (const f of w) f()
  }

  private async loop(): Promise<void> {
    const signal = this.stopAc.signal
    while (!signal.aborted) {
      const limit = this.s.storeUp ? this.opts.concurrency : 1
      if (this.inflight.size >= limit) {
        await Promise.race([this.changed(), ...this.inflight])
        continue
      }
      let batch: SpoolBatch | undefined
      try {
        batch = await this.opts.spool.readBatch(this.opts.batchSize * (this.readsSpooledLines ? SPOOLED_LINES_BATCH_FACTOR : 1))
      } catch (err) {
        this.opts.log.error('cannot read the spool', {error: errorMessage(err)})
        await sleep(this.opts.timer, 1000, signal).catch(() => {})
        continue
      }
      if (signal.aborted) break
      if (!batch) {
        // a spool closed under a running writer (stopped out of order, a failed start) has
        // nothing more to give, and waitForData no longer waits: end here rather than spin on it
        if (this.opts.spool.isClosed()) {
          this.opts.log.warn('the spool was closed while the writer ran; the writer stops')
          break
        }
        await Promise.race([this.opts.spool.waitForData(signal), this.changed()])
        continue
      }
      const p = this.send(batch, signal).finally(() => {
        this.inflight.delete(p)
        this.notify()
      })
      this.inflight.add(p)
    }
  }

  private async getStore(): Promise<Store> {
    if (!this.store) {
      const src = this.storeSource
      this.store = typeof src === 'function' ? src() : Promise.resolve(src)
      this.store.then(
        (store) => (this.readsSpooledLines = acceptsSpooledLines(store)),
        () => (this.store = undefined),
      )
    }
    return this.store
  }

  private async send(batch: SpoolBatch, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now()
      try {
        const store = await this.getStore()
        const outcome = await writeBatch(store, batch, this.opts.log)
        if (outcome.refusedPoints > 0) {
          this.opts.spool.reject(batch, outcome.refused)
          this.s.rejected++
          this.s.rejectedPoints += outcome.refusedPoints
          this.opts.log.error('store refused points of a batch; wrote the others', {points: batch.points, refused: outcome.refusedPoints, error: outcome.reason})
        } else this.opts.spool.ack(batch)
        const ms = performance.now() - started
        this.s.batches++
        this.s.points += batch.points - outcome.refusedPoints
        this.s.mergedPoints += outcome.merged
        this.s.lastWriteAt = this.opts.clock.now()
        this.s.latency.count++
        this.s.latency.sumMs += ms
        if (ms > this.s.latency.maxMs) this.s.latency.maxMs = ms
        for (const r of batch.records) this.s.writtenByInput[r.input] = (this.s.writtenByInput[r.input] ?? 0) + r.points
        for (const [input, n] of outcome.refused) this.s.writtenByInput[input] = (this.s.writtenByInput[input] ?? 0) - n
        if (!this.s.storeUp) this.opts.log.info('store is writable again', {afterAttempts: attempt})
        this.s.storeUp = true
        return
      } catch (err) {
        const message = errorMessage(err)
        this.s.errors++
        this.s.lastError = message
        this.s.lastErrorAt = this.opts.clock.now()
        if (isPermanentWriteError(err)) {
          this.opts.spool.reject(batch)
          this.s.rejected++
          this.s.rejectedPoints += batch.points
          this.opts.log.error('store rejected a batch; dropped it', {points: batch.points, error: message})
          return
        }
        if (this.s.storeUp || attempt === 1) this.opts.log.warn('store write failed; retrying', {points: batch.points, error: message})
        this.s.storeUp = false
        if (signal.aborted) return
        const delay = nextDelay(writerRetryPolicy(this.opts.backoffMs), attempt, this.opts.random, retryAfterOf(err))
        try {
          await sleep(this.opts.timer, delay, signal)
        } catch {
          return
        }
      }
    }
  }
}

/**
 * The writer's retry policy: `initial` doubling up to `max` with equal jitter; a Retry-After only
 * lengthens the wait (the loop never gives up, so `Retry-After: 0` must not make it spin). No
 * attempt cap and no deadline: the points are on disk.
 */
export function writerRetryPolicy(backoffMs: {initial: number; max: number}): RetryPolicy {
  return {initialMs: backoffMs.initial, maxMs: backoffMs.max, factor: 2, jitter: 'equal', retryAfter: 'floor', maxRetryAfterMs: Infinity, maxAttempts: Infinity, deadlineMs: Infinity}
}

/** What became of a batch the store took: points refused (per input) and values merged. */
export interface BatchOutcome {
  /** points not stored, per input: refused by the store, or unreadable in the spool */
  refused: Map<string, number>
  refusedPoints: number
  /** why (the first reason), when some were refused */
  reason?: string
  merged: number
}

/**
 * One batch into the store: the text as it is when the store takes line protocol, the bytes when
 * it reads them itself (and says it could), else parsed points. Throws when the store took none of it; a partial write comes back as an outcome whose
 * refused points are attributed to the inputs they came from.
 */
export async function writeBatch(store: Store, batch: SpoolBatch, log: Logger = silentLogger): Promise<BatchOutcome> {
  const outcome: BatchOutcome = {refused: new Map(), refusedPoints: 0, merged: 0}
  const refuse = (input: string, n: number) => {
    outcome.refused.set(input, (outcome.refused.get(input) ?? 0) + n)
    outcome.refusedPoints += n
  }
  if (acceptsSpoolBatch(store)) {
    await store.writeSpoolBatch(batch)
    return outcome
  }
  if (acceptsLineProtocol(store)) {
    // bytes as spooled, in the parts they were appended in: no decode, re-encode or join on the hot path
    const parts = batch.records.length === 1 ? payloadParts(batch.records[0]!) : batch.records.flatMap(payloadParts)
    try {
      await store.writeLineProtocol(parts.length === 1 ? parts[0]! : parts, batch.precision, {entries: batch.points})
    } catch (err) {
      const n = rejectedPointsOf(err)
      if (n === undefined || n >= batch.points) throw err
      // which input sent each refused line: the record holding it (lines are spooled as received)
      const lines = (err as {rejectedLines?: unknown}).rejectedLines
      let placed = 0
      if (Array.isArray(lines)) {
        for (const line of lines.slice(0, n)) {
          const r = typeof line === 'string' ? batch.records.find((rec) => rec.payload.includes(line + '\n')) : undefined
          if (!r) continue
          refuse(r.input, 1)
          placed++
        }
      }
      if (n > placed) refuse(batch.records[0]!.input, n - placed)
      outcome.reason = errorMessage(err)
    }
    return outcome
  }
  if (acceptsSpooledLines(store)) {
    const written = await store.writeSpooledLines(batch.records.map((r) => r.parts ?? r.payload), batch.precision)
    if (written) {
      outcome.merged = written.merged
      return outcome
    }
  }
  const points: Point[] = []
  /** index of the record each point came from */
  const recordOf: number[] = []
  batch.records.forEach((r, k) => {
    const {points: parsed, errors} = parseLineProtocol(r.payload.toString('utf8'), {precision: batch.precision, file: `spool:${r.input}`})
    if (errors.length > 0) {
      log.error('unreadable lines in the spool were skipped', {input: r.input, count: errors.length, first: errors[0]!.message})
      refuse(r.input, errors.length)
      outcome.reason ??= errors[0]!.message
    }
    for (const p of parsed) {
      points.push(p)
      recordOf.push(k)
    }
  })
  if (points.length === 0) return outcome
  try {
    const written = await store.write(points)
    if (written) outcome.merged = written.merged
  } catch (err) {
    const n = rejectedPointsOf(err)
    if (n === undefined || n >= points.length) throw err
    const indexes = (err as {rejectedIndexes?: readonly number[]}).rejectedIndexes ?? []
    for (const i of indexes.slice(0, n)) refuse(batch.records[recordOf[i] ?? 0]!.input, 1)
    if (n > indexes.length) refuse(batch.records[0]!.input, n - indexes.length)
    outcome.reason = errorMessage(err)
  }
  return outcome
}
