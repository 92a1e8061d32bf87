import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import {serializePoint, serializePoints} from '../model/line-protocol.js'
import type {Point} from '../model/point.js'
import {systemTimer, type Timer, type TimerHandle} from '../scheduler/timer.js'
import {SpoolFullError, type Spool, type SpoolRecordInput} from './spool.js'

export interface BatcherOptions {
  spool: Spool
  /** flush as soon as this many points wait */
  batchSize: number
  /** … or this long after the first one arrived */
  flushIntervalMs: number
  timer?: Timer
  log?: Logger
}

export interface BatcherStats {
  /** points that line protocol cannot carry (NaN, empty names…), per input */
  invalidByInput: Record<string, number>
  /** points lost because the spool could not be written (disk full…), per input */
  failedByInput: Record<string, number>
  lastError?: string
}

/**
 * Collects points from the inputs and appends them to the spool in batches, by size or after
 * `flushIntervalMs`: one spool write (and, with fsync=batch, one fsync) for what several inputs
 * gathered at about the same time. One record per input keeps per-input accounting exact.
 * A spool that refuses appends because it is full (`when_full: reject`) gets them again after
 * `flushIntervalMs`: the points stay here, and {@link holding} tells the inputs to wait for them.
 */
export class Batcher {
  private buffers = new Map<string, Point[]>()
  private count = 0
  private handle?: TimerHandle
  private waiting: Array<{resolve: () => void; reject: (e: unknown) => void}> = []
  private readonly timer: Timer
  private readonly log: Logger
  private readonly s: BatcherStats = {invalidByInput: {}, failedByInput: {}}

  constructor(private readonly opts: BatcherOptions) {
    this.timer = opts.timer ?? systemTimer
    this.log = opts.log ?? silentLogger
  }

  configure(opts: {batchSize?: number; flushIntervalMs?: number}): void {
    if (opts.batchSize) this.opts.batchSize = opts.batchSize
    if (opts.flushIntervalMs !== undefined) this.opts.flushIntervalMs = opts.flushIntervalMs
  }

  /** Queues points; resolves once they are in the spool (rejects if the spool write fails). */
  add(input: string, points: Point[]): Promise<void> {
    if (points.length === 0) return Promise.resolve()
    let buf = this.buffers.get(input)
    if (!buf) this.buffers.set(input, (buf = []))
    for (const p of points) buf.push(p)
    this.count += points.length
    const done = new Promise<void>((resolve, reject) => this.waiting.push({resolve, reject}))
    if (this.count >= this.opts.batchSize) void this.flush().catch(() => {})
    else if (!this.handle) this.handle = this.timer.setTimeout(() => void this.flush().catch(() => {}), this.opts.flushIntervalMs)
    return done
  }

  /** points waiting for the next flush */
  pending(): number {
    return this.count
  }

  /** The spool is full and the points wait here for room: inputs should wait for their points to be taken. */
  holding(): boolean {
    return this.held
  }

  private held = false

  stats(): BatcherStats {
    return {invalidByInput: {...this.s.invalidByInput}, failedByInput: {...this.s.failedByInput}, lastError: this.s.lastError}
  }

  /**
   * Appends everything queued to the spool now. A full spool (`when_full: reject`) keeps the
   * points queued for another try, except on the `final` flush (shutdown): then they are
   * counted as lost and the promises of {@link add} reject.
   */
  async flush(opts: {final?: boolean} = {}): Promise<void> {
    if (this.handle) this.timer.clearTimeout(this.handle)
    this.handle = undefined
    const buffers = this.buffers
    const waiting = this.waiting
    this.buffers = new Map()
    this.waiting = []
    this.count = 0
    if (buffers.size === 0) {
      for (const w of waiting) w.resolve()
      return
    }
    const records: SpoolRecordInput[] = []
    for (const [input, points] of buffers) {
      const {text, count, invalid} = toLineProtocol(points)
      if (invalid > 0) {
        this.s.invalidByInput[input] = (this.s.invalidByInput[input] ?? 0) + invalid
        this.log.warn('points that line protocol cannot carry were dropped', {input, count: invalid})
      }
      if (count > 0) records.push({input, points: count, precision: 'ms', payload: text})
    }
    try {
      await this.opts.spool.append(records)
      this.held = false
      for (const w of waiting) w.resolve()
    } catch (err) {
      if (err instanceof SpoolFullError && !opts.final) {
        this.holdForRoom(buffers, waiting)
        return
      }
      this.s.lastError = errorMessage(err)
      for (const r of records) this.s.failedByInput[r.input] = (this.s.failedByInput[r.input] ?? 0) + r.points
      this.log.error('cannot append to the spool; points lost', {error: errorMessage(err)})
      for (const w of waiting) w.reject(err)
      throw err
    }
  }

  /** The spool refused these for want of room: back to the front of the queue, tried again later. */
  private holdForRoom(buffers: Map<string, Point[]>, waiting: Batcher['waiting']): void {
    if (!this.held) this.log.warn('spool is full (when_full: reject): collected points wait for room')
    this.held = true
    for (const [input, points] of this.buffers) {
      const before = buffers.get(input)
      buffers.set(input, before ? before.concat(points) : points)
    }
    this.buffers = buffers
    this.count = 0
    for (const points of buffers.values()) this.count += points.length
    this.waiting = [...waiting, ...this.waiting]
    this.retryWhenRoom()
  }

  /** Every `flushIntervalMs`: flush once the spool has made room (no refused append per tick). */
  private retryWhenRoom(): void {
    if (this.handle) return
    this.handle = this.timer.setTimeout(() => {
      this.handle = undefined
      if (this.opts.spool.isFull()) this.retryWhenRoom()
      else void this.flush().catch(() => {})
    }, this.opts.flushIntervalMs)
  }
}

/** Line protocol (ms precision) for the points that have a spelling in it; the rest are counted. */
export function toLineProtocol(points: readonly Point[]): {text: string; count: number; invalid: number} {
  try {
    return {text: serializePoints(points, 'ms'), count: points.length, invalid: 0}
  } catch {
    const lines: string[] = []
    let invalid = 0
    for (const p of points) {
      try {
        lines.push(serializePoint(p, 'ms'))
      } catch {
        invalid++
      }
    }
    return {text: lines.length > 0 ? lines.join('\n') + '\n' : '', count: lines.length, invalid}
  }
}
