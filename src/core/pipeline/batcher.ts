import {isDiskFull} from '../disk.js'
import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import {serializePoint, serializePoints} from '../model/line-protocol/index.js'
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
  /**
   * Most points kept in memory while the disk is full (the oldest go beyond it, counted as
   * failed). Default {@link HELD_POINTS}.
   */
  maxHeldPoints?: number
}

type HeldFor = 'spool_full' | 'disk_full'

interface Waiter {
  resolve: () => void
  reject: (e: unknown) => void
}

/** Default bound of the points kept in memory while the spool cannot be written for want of space. */
export const HELD_POINTS = 200_000
/** How soon (ms, at least) a flush that failed on a full disk is tried again. */
const DISK_FULL_RETRY_MS = 1000

export interface BatcherStats {
  /** points that line protocol cannot carry (NaN, empty names…), per input */
  invalidByInput: Record<string, number>
  /** points lost because the spool could not be written (disk full…), per input */
  failedByInput: Record<string, number>
  /** points kept in memory because the disk is full, appended once there is room */
  held: number
  lastError?: string
}

/**
 * Collects points from the inputs and appends them to the spool in batches, by size or after
 * `flushIntervalMs`: one spool write (and, with fsync=batch, one fsync) for what several inputs
 * gathered at about the same time. One record per input keeps per-input accounting exact.
 *
 * A full spool (`when_full: reject`) or a full disk loses nothing at first: the points stay
 * queued (a full disk: up to `maxHeldPoints`) and the flush is tried again until the spool takes
 * them. Only a final flush (stopping) gives up, and counts what it could not append.
 */
export class Batcher {
  private buffers = new Map<string, Point[]>()
  private count = 0
  private handle?: TimerHandle
  private waiting: Waiter[] = []
  private readonly timer: Timer
  private readonly log: Logger
  private readonly s: Omit<BatcherStats, 'held'> = {invalidByInput: {}, failedByInput: {}}
  /** records the spool refused (a full spool or a full disk), tried again later, oldest first */
  private held = noneHeld()
  private heldFor?: HeldFor

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
    return this.count + this.held.points
  }

  /** The spool is full (when_full: reject) and points wait here for room: inputs should wait for them to be taken. */
  holding(): boolean {
    return this.heldFor === 'spool_full'
  }

  stats(): BatcherStats {
    return {invalidByInput: {...this.s.invalidByInput}, failedByInput: {...this.s.failedByInput}, held: this.held.points, lastError: this.s.lastError}
  }

  /**
   * Appends everything queued to the spool now. Points a full spool (`when_full: reject`) or a
   * full disk refuses are kept for another try, except on the `final` flush (stopping): then they
   * are counted as failed and the promises of {@link add} reject.
   */
  async flush(opts: {final?: boolean} = {}): Promise<void> {
    if (this.handle) this.timer.clearTimeout(this.handle)
    this.handle = undefined
    const buffers = this.buffers
    const held = this.held
    const waiting = [...held.waiting, ...this.waiting]
    this.buffers = new Map()
    this.waiting = []
    this.count = 0
    this.held = noneHeld()
    const records = [...held.records]
    for (const [input, points] of buffers) {
      const {text, count, invalid} = toLineProtocol(points)
      if (invalid > 0) {
        this.s.invalidByInput[input] = (this.s.invalidByInput[input] ?? 0) + invalid
        this.log.warn('points that line protocol cannot carry were dropped', {input, count: invalid})
      }
      if (count > 0) records.push({input, points: count, precision: 'ms', payload: text})
    }
    if (records.length === 0) {
      for (const w of waiting) w.resolve()
      return
    }
    try {
      await this.opts.spool.append(records)
      if (held.points > 0 && this.heldFor === 'disk_full') this.log.info('disk space returned: the points kept in memory are in the spool', {points: held.points})
      this.heldFor = undefined
      for (const w of waiting) w.resolve()
    } catch (err) {
      if (!opts.final && err instanceof SpoolFullError) return this.holdBack(records, waiting, 'spool_full')
      this.s.lastError = errorMessage(err)
      if (!opts.final && isDiskFull(err)) return this.holdBack(records, waiting, 'disk_full')
      for (const r of records) this.s.failedByInput[r.input] = (this.s.failedByInput[r.input] ?? 0) + r.points
      this.log.error('cannot append to the spool; points lost', {error: errorMessage(err)})
      for (const w of waiting) w.reject(err)
      throw err
    }
  }

  /**
   * Keeps the records the spool refused (already in line protocol: nothing is serialized or
   * counted twice), oldest first, and tries them again later. A full spool holds the inputs (they
   * wait, see {@link holding}); a full disk may last while inputs go on, so beyond maxHeldPoints
   * the oldest go, counted.
   */
  private holdBack(records: SpoolRecordInput[], waiting: Waiter[], why: HeldFor): void {
    const first = this.heldFor !== why
    this.heldFor = why
    const held = this.held // what another flush held meanwhile: newer
    this.held = {records: [...records, ...held.records], waiting: [...waiting, ...held.waiting], points: held.points}
    for (const r of records) this.held.points += r.points
    if (first && why === 'spool_full') this.log.warn('spool is full (when_full: reject): collected points wait for room', {points: this.held.points})
    if (first && why === 'disk_full') this.log.warn('disk full: keeping the points in memory until the spool can take them', {points: this.held.points})
    const limit = why === 'disk_full' ? (this.opts.maxHeldPoints ?? HELD_POINTS) : Infinity
    while (this.held.points > limit && this.held.records.length > 1) {
      const oldest = this.held.records.shift()!
      this.held.points -= oldest.points
      this.s.failedByInput[oldest.input] = (this.s.failedByInput[oldest.input] ?? 0) + oldest.points
      this.log.warn('disk full for long: dropped the oldest points kept in memory', {input: oldest.input, points: oldest.points})
    }
    if (why === 'spool_full') return this.retryWhenRoom()
    if (this.handle) this.timer.clearTimeout(this.handle)
    this.handle = this.timer.setTimeout(() => void this.flush().catch(() => {}), Math.max(DISK_FULL_RETRY_MS, this.opts.flushIntervalMs))
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

const noneHeld = (): {records: SpoolRecordInput[]; waiting: Waiter[]; points: number} => ({records: [], waiting: [], points: 0})

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
