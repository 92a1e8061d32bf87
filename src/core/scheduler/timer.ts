import {ManualClock} from '../clock.js'

/**
 * Timers are injected next to the {@link Clock} so that scheduling, batching and retry logic run in
 * tests without sleeping: {@link ManualTimer} fires callbacks when a test moves its clock.
 */
export interface Timer {
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export type TimerHandle = {readonly __timer: unique symbol} | object

export const systemTimer: Timer = {
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/**
 * A timer re-armed at each use, for a helper that stops when idle (the store's write thread, the
 * daemon's query thread): `onIdle` runs once `ms` pass after the last {@link IdleTimer.arm} without
 * a {@link IdleTimer.clear}. Its handle does not keep the process alive. `ms` ≤ 0: never.
 */
export class IdleTimer {
  private handle?: TimerHandle

  constructor(
    private readonly timer: Timer,
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {}

  arm(): void {
    this.clear()
    if (this.ms <= 0) return
    const handle = this.timer.setTimeout(() => {
      this.handle = undefined
      this.onIdle()
    }, this.ms)
    ;(handle as {unref?: () => void}).unref?.()
    this.handle = handle
  }

  clear(): void {
    if (this.handle === undefined) return
    this.timer.clearTimeout(this.handle)
    this.handle = undefined
  }
}

/** Resolves after `ms` on `timer`, or rejects with the signal's reason when it aborts first. */
export function sleep(timer: Timer, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      timer.clearTimeout(handle)
      reject(signal!.reason)
    }
    const handle = timer.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

interface Pending {
  at: number
  seq: number
  fn: () => void
}

/**
 * A clock and timer that tests move by hand: `advance(ms)` moves the clock and runs every timer
 * that falls due, in time order, letting promises settle between them.
 */
export class ManualTimer extends ManualClock implements Timer {
  private pending = new Map<object, Pending>()
  private seq = 0
  /** timers run on a monotonic time, as real ones do: a {@link jump} of the wall clock does not move it */
  private mono = 0

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = {}
    this.pending.set(handle, {at: this.mono + Math.max(0, ms), seq: this.seq++, fn})
    return handle
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending.delete(handle)
  }

  /** number of armed timers */
  get armed(): number {
    return this.pending.size
  }

  /** ms until the next timer is due (undefined if none is armed) */
  nextDelay(): number | undefined {
    let best: number | undefined
    for (const p of this.pending.values()) if (best === undefined || p.at < best) best = p.at
    return best === undefined ? undefined : best - this.mono
  }

  /** Moves time (wall clock and timers) forward by `ms`, firing due timers in order. */
  override async advance(ms: number): Promise<void> {
    const target = this.mono + ms
    for (;;) {
      await settle()
      let next: [object, Pending] | undefined
      for (const e of this.pending) if (e[1].at <= target && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq))) next = e
      if (!next) break
      this.pending.delete(next[0])
      if (next[1].at > this.mono) {
        this.set(this.now() + (next[1].at - this.mono))
        this.mono = next[1].at
      }
      next[1].fn()
    }
    this.set(this.now() + (target - this.mono))
    this.mono = target
    await settle()
  }

  /**
   * Steps the wall clock by `ms` (NTP step, or a suspend when the timers do not notice) without
   * moving the timers, as CLOCK_MONOTONIC timers behave.
   */
  jump(ms: number): void {
    this.set(this.now() + ms)
  }
}

/** Lets queued promise callbacks and I/O callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}
