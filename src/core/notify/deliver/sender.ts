import type {Clock} from '../../clock.js'
import {redactString} from '../../config/redact.js'
import {errorMessage} from '../../errors.js'
import {silentLogger, type Logger} from '../../log.js'
import {nextDelay, outOfAttempts, type RetryPolicy} from '../../retry.js'
import type {ClaimedRow, Outbox} from './outbox.js'
import {PermanentDeliveryError, RetryLaterError, type Channel} from '../types.js'

/**
 * Works the outbox: claims due rows, hands each to its channel, and records the outcome —
 * delivered; retried later with exponential backoff and jitter (or when the server's Retry-After
 * says); or dead, at once for a {@link PermanentDeliveryError} and after `maxAttempts` failures
 * otherwise. Dead rows wait in `mon notify outbox` for `retry` or `drop`.
 */

/** How the sender works the outbox (config `outbox`). */
export interface SenderPolicy {
  maxAttempts: number
  backoffMs: number
  maxBackoffMs: number
  leaseMs: number
  concurrency: number
}

/** What a {@link SendGate} lets a send carry: the dedup key, and what it records afterwards. */
export interface SendStamp {
  dedupKey?: string
  record?: unknown
}

/**
 * HA mode (docs/cluster.md#notifications): asked right before each send, synchronously so nothing
 * runs between the check and the send. Undefined: this process may not send now (it does not hold
 * the notifier lease) — the row goes back to pending, untouched. `after` runs once the row is
 * marked delivered (it records the delivery for the other daemons).
 */
export interface SendGate {
  before(row: ClaimedRow): SendStamp | undefined
  after?(row: ClaimedRow, stamp: SendStamp): Promise<void>
}

export interface SenderOptions {
  outbox: Outbox
  /** The channel a row goes to; undefined when the config no longer has it. */
  resolveChannel(receiver: string, channel: string): Channel | undefined
  clock: Clock
  policy: SenderPolicy
  log?: Logger
  /** values scrubbed from recorded errors */
  secrets?: readonly string[]
  /** [0, 1); injectable so backoff is testable */
  random?: () => number
  /** HA mode: the notifier lease's fencing check before each send */
  gate?: SendGate
}

export interface FlushResult {
  delivered: number
  retried: number
  dead: number
}

/**
 * The outbox's retry policy: `backoff` doubling up to `max_backoff` with equal jitter (between
 * half and all of it, so many senders recovering at once spread out); a Retry-After is the wait,
 * up to a day (a server asking for a week is wrong); dead after `max_attempts`. No deadline: a
 * dead row waits for `mon notify outbox retry`.
 */
export function senderRetryPolicy(p: Pick<SenderPolicy, 'maxAttempts' | 'backoffMs' | 'maxBackoffMs'>): RetryPolicy {
  return {initialMs: p.backoffMs, maxMs: p.maxBackoffMs, factor: 2, jitter: 'equal', retryAfter: 'replaces', maxRetryAfterMs: 24 * 3_600_000, maxAttempts: p.maxAttempts, deadlineMs: Infinity}
}

export class Sender {
  private readonly log: Logger
  private readonly random: () => number
  private readonly aborter = new AbortController()

  constructor(private readonly opts: SenderOptions) {
    this.log = opts.log ?? silentLogger
    this.random = opts.random ?? Math.random
  }

  private running: Promise<FlushResult> | undefined

  /**
   * Send everything due at `now`, round after round, until nothing more is due. A call while a
   * flush is still running (a slow channel, a tick timer) joins it instead of starting another.
   */
  async flush(now: number = this.opts.clock.now()): Promise<FlushResult> {
    if (this.running) return this.running
    this.running = this.flushRounds(now)
    try {
      return await this.running
    } finally {
      this.running = undefined
    }
  }

  private async flushRounds(now: number): Promise<FlushResult> {
    const result: FlushResult = {delivered: 0, retried: 0, dead: 0}
    // A stream's next row becomes due when the one before it is delivered: keep claiming until
    // a round finds nothing (bounded, in case something keeps re-queuing itself at `now`).
    for (let round = 0; round < 1000 && !this.aborter.signal.aborted; round++) {
      const rows = this.opts.outbox.claimDue(now, {limit: this.opts.policy.concurrency, leaseMs: this.opts.policy.leaseMs})
      if (rows.length === 0) break
      const outcomes = await Promise.all(rows.map((r) => this.deliver(r)))
      let held = false
      for (const o of outcomes) {
        if (o === 'held') held = true
        else result[o]++
      }
      if (held) break
    }
    return result
  }

  /** Stop: in-flight sends are aborted (their rows are retried, by lease expiry at worst). */
  abort(): void {
    this.aborter.abort()
  }

  private async deliver(row: ClaimedRow): Promise<keyof FlushResult | 'held'> {
    const {outbox, clock, policy} = this.opts
    const log = this.log.child({notification: row.id, receiver: row.receiver, channel: row.channel})
    const channel = this.opts.resolveChannel(row.receiver, row.channel)
    const started = clock.now()
    if (!channel) {
      const error = `receiver '${row.receiver}' has no channel ${row.channel} in the current config`
      outbox.markDead(row, started, {error, durationMs: 0})
      log.warn('notification dead: channel no longer configured', {error})
      return 'dead'
    }

    let stamp: SendStamp | undefined
    if (this.opts.gate) {
      // the fencing check, immediately before the send (nothing awaited in between)
      stamp = this.opts.gate.before(row)
      if (!stamp) {
        outbox.release(row)
        return 'held'
      }
      if (stamp.dedupKey) row.notification.dedupKey = stamp.dedupKey
    }
    const t0 = performance.now()
    try {
      await channel.send(row.notification, this.aborter.signal)
    } catch (err) {
      const durationMs = Math.round(performance.now() - t0)
      const now = clock.now()
      const error = redactString(errorMessage(err), this.opts.secrets ?? [])
      const failures = row.attempts + 1
      const retry = senderRetryPolicy(policy)
      if (err instanceof PermanentDeliveryError || outOfAttempts(retry, failures)) {
        outbox.markDead(row, now, {error, durationMs})
        log.error('notification dead', {error, attempts: failures, permanent: err instanceof PermanentDeliveryError})
        return 'dead'
      }
      const delay = nextDelay(retry, failures, this.random, err instanceof RetryLaterError ? err.retryAfterMs : undefined)
      outbox.markRetry(row, now, {error, retryAt: now + delay, durationMs})
      log.warn('notification failed, will retry', {error, attempts: failures, retryInMs: delay})
      return 'retried'
    }
    const durationMs = Math.round(performance.now() - t0)
    if (!outbox.markDelivered(row, clock.now(), durationMs)) log.warn('notification delivered after its lease ran out; another sender may send it again')
    else log.debug('notification delivered', {durationMs})
    if (stamp && this.opts.gate?.after) {
      try {
        await this.opts.gate.after(row, stamp)
      } catch (err) {
        log.warn('recording the delivery failed', {error: errorMessage(err)})
      }
    }
    return 'delivered'
  }
}
