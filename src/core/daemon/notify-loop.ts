import type {Clock} from '../clock.js'
import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {Dispatcher} from '../notify/deliver/dispatcher.js'
import {sleep, type Timer, type TimerHandle} from '../scheduler/timer.js'
import type {NotifyFacts} from './types.js'

/**
 * Drives the notifier: `dispatcher.tick()` when something falls due (`nextWakeAt`), right after the
 * engine pushed alerts (`kick`), and at least every `pollMs` — other processes write outbox rows
 * too (`mon alerts ack`, `mon notify outbox retry`) and the daemon's sender delivers them. One tick
 * at a time; a kick during a tick runs another right after it.
 */
export interface NotifyLoopOptions {
  dispatcher: () => Dispatcher
  clock: Clock
  timer: Timer
  log?: Logger
  /** longest sleep between ticks; default 2 s */
  pollMs?: number
}

/** shortest pause between ticks, so a row that stays due cannot make the loop spin */
const MIN_PAUSE_MS = 100

export class NotifyLoop {
  private handle?: TimerHandle
  private running?: Promise<void>
  private again = false
  private stopped = true
  private readonly pollMs: number
  private readonly log: Logger
  readonly facts: Omit<NotifyFacts, 'routes'> = {ticks: 0, delivered: 0, retried: 0, dead: 0, enqueued: 0}

  constructor(private readonly opts: NotifyLoopOptions) {
    this.pollMs = opts.pollMs ?? 2000
    this.log = opts.log ?? silentLogger
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.arm(0)
  }

  /** Tick as soon as possible (alerts were just pushed). */
  kick(): void {
    if (this.stopped) return
    if (this.running) this.again = true
    else this.arm(0)
  }

  /** Stops ticking and waits for the tick in progress (sends are bounded by channel timeouts). */
  async pause(): Promise<void> {
    this.stopped = true
    this.disarm()
    await this.running
  }

  /**
   * Shutdown: lets the tick in progress finish, then sends what is due now, both within the
   * deadline (ms since the epoch); sends still going then are aborted (their rows are retried by
   * the next run: nothing is lost, at worst sent twice).
   */
  async stop(deadline: number): Promise<{finished: boolean}> {
    this.stopped = true
    this.disarm()
    const within = async (p: Promise<unknown> | undefined): Promise<boolean> => {
      if (!p) return true
      const left = deadline - this.opts.clock.now()
      if (left <= 0) return false
      const ac = new AbortController()
      try {
        return await Promise.race([p.then(() => true), sleep(this.opts.timer, left, ac.signal).then(
          () => false,
          () => false,
        )])
      } finally {
        ac.abort()
      }
    }

    let finished = await within(this.running)
    if (finished) finished = await within(this.tickOnce())
    if (!finished) this.log.warn('notifications still being sent at the shutdown deadline: aborted, the next run retries them')
    this.opts.dispatcher().close()
    return {finished}
  }

  private disarm(): void {
    if (this.handle) this.opts.timer.clearTimeout(this.handle)
    this.handle = undefined
  }

  private arm(delay: number): void {
    this.disarm()
    this.handle = this.opts.timer.setTimeout(() => {
      this.handle = undefined
      void this.run()
    }, delay)
  }

  private run(): Promise<void> {
    if (this.running) {
      this.again = true
      return this.running
    }

    this.running = this.tickOnce().finally(() => {
      this.running = undefined
      if (this.stopped) return
      if (this.again) {
        this.again = false
        this.arm(MIN_PAUSE_MS)
      } else {
        this.arm(this.nextDelay())
      }
    })
    return this.running
  }

  private async tickOnce(): Promise<void> {
    const dispatcher = this.opts.dispatcher()
    const now = this.opts.clock.now()
    try {
      const r = await dispatcher.tick(now)
      this.facts.ticks++
      this.facts.lastTickAt = now
      this.facts.delivered += r.delivered
      this.facts.retried += r.retried
      this.facts.dead += r.dead
      this.facts.enqueued += r.enqueued
      if (r.delivered + r.retried + r.dead > 0) this.log.debug('notifications sent', {delivered: r.delivered, retried: r.retried, dead: r.dead})
      if (this.facts.lastError !== undefined) {
        this.log.info('notifier recovered')
        this.facts.lastError = undefined
      }
    } catch (err) {
      const error = errorMessage(err)
      if (this.facts.lastError !== error) this.log.error('notifier tick failed', {error})
      this.facts.lastError = error
    }
  }

  private nextDelay(): number {
    let next: number | undefined
    try {
      next = this.opts.dispatcher().nextWakeAt()
    } catch {
      next = undefined
    }

    const now = this.opts.clock.now()
    const delay = next === undefined ? this.pollMs : next - now
    return Math.min(this.pollMs, Math.max(MIN_PAUSE_MS, delay))
  }
}
