/**
 * The one retry policy of every writer and sender (the pipeline's writer, InfluxDB requests, the
 * notification outbox): exponential backoff with jitter, the server's Retry-After, an attempt cap
 * and a deadline. A policy is plain data, so a caller's defaults and overrides merge with a spread;
 * the functions here are pure and take their randomness and time from the caller, so tests pin
 * them without sleeping. Leaf module: it imports nothing of the app but the Clock type.
 */
import type {Clock} from './clock.js'

export interface RetryPolicy {
  /** backoff before the first retry, ms */
  initialMs: number
  /** longest backoff, ms (a longer Retry-After is still honoured, up to `maxRetryAfterMs`) */
  maxMs: number
  /** each retry's backoff is this many times the one before */
  factor: number
  /**
   * 'equal': wait between half and all of the backoff ("equal jitter"), so clients that failed
   * together come back spread out but never later than the backoff says. A number: add up to that
   * many ms to every wait, Retry-After included, so clients told the same instant do not all
   * return at it.
   */
  jitter: 'equal' | number
  /**
   * 'replaces': the server's Retry-After is the wait (plus any added jitter), shorter or longer
   * than the backoff. 'floor': it only lengthens the wait — for a loop that never gives up, where a
   * `Retry-After: 0` must not turn into a busy loop.
   */
  retryAfter: 'replaces' | 'floor'
  /** a longer Retry-After is taken as this (a server asking for a week is wrong) */
  maxRetryAfterMs: number
  /** attempts in all, the first included; Infinity: keep trying */
  maxAttempts: number
  /** give up when the next attempt would start later than this many ms after the first; Infinity: never */
  deadlineMs: number
}

/** Retry-After as delta-seconds or an HTTP date → ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number): number | undefined {
  const first = typeof value === 'string' ? value : value?.[0]
  if (first === undefined) return undefined
  const s = first.trim()
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000)
  const at = Date.parse(s)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * The wait before retry number `retry` (1 after the first failure): `initialMs·factor^(retry-1)`
 * capped at `maxMs`, jittered as the policy says, and the server's Retry-After (ms) as the policy
 * says. `random` is in [0, 1).
 */
export function nextDelay(policy: RetryPolicy, retry: number, random: () => number, retryAfterMs?: number): number {
  // the power overflows to Infinity after ~1000 retries: min() caps it, and 0·Infinity (NaN) is kept out
  const backoff = policy.initialMs > 0 ? Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, retry - 1)) : 0
  const added = policy.jitter === 'equal' ? 0 : Math.floor(random() * policy.jitter)
  const jittered = policy.jitter === 'equal' ? Math.round(backoff / 2 + (random() * backoff) / 2) : backoff + added
  if (retryAfterMs === undefined) return jittered
  const serverWait = Math.min(policy.maxRetryAfterMs, Math.max(0, retryAfterMs))
  return policy.retryAfter === 'floor' ? Math.max(serverWait, jittered) : serverWait + added
}

/** True when `attempts` attempts (the first included) have used up the policy's cap. */
export function outOfAttempts(policy: RetryPolicy, attempts: number): boolean {
  return attempts >= policy.maxAttempts
}

/** True when waiting `delayMs` more, `elapsedMs` after the first attempt, would start the next one past the deadline. */
export function pastDeadline(policy: RetryPolicy, elapsedMs: number, delayMs: number): boolean {
  return elapsedMs + delayMs > policy.deadlineMs
}

/** What {@link withRetry} needs from the outside world. */
export interface RetryEnv {
  clock: Clock
  sleep(ms: number): Promise<void>
  /** in [0, 1) */
  random(): number
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface RetryDecision {
  retry: boolean
  /** the server's Retry-After, ms */
  retryAfter?: number
}

export interface RetryEvent {
  attempt: number
  delay: number
  error: unknown
}

/** The last failure, with how long the loop tried. */
export class RetriesExhausted extends Error {
  constructor(
    readonly last: unknown,
    readonly attempts: number,
    readonly elapsed: number,
    readonly why: 'attempts' | 'deadline',
  ) {
    super(`${(last as Error)?.message ?? String(last)} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${formatMs(elapsed)})`)
    this.name = 'RetriesExhausted'
  }
}

/**
 * Runs `attempt` until it succeeds, fails with something `classify` says is not worth retrying
 * (rethrown as is), or the attempts or the deadline run out ({@link RetriesExhausted}, carrying
 * the last failure). The time the attempts themselves take counts against the deadline.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  env: RetryEnv,
  hooks: {classify: (err: unknown, now: number) => RetryDecision; onRetry?: (e: RetryEvent) => void},
): Promise<T> {
  const started = env.clock.now()
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (error) {
      const now = env.clock.now()
      const decision = hooks.classify(error, now)
      if (!decision.retry) throw error
      if (outOfAttempts(policy, n)) throw new RetriesExhausted(error, n, now - started, 'attempts')
      const delay = nextDelay(policy, n, env.random, decision.retryAfter)
      if (pastDeadline(policy, now - started, delay)) throw new RetriesExhausted(error, n, now - started, 'deadline')
      hooks.onRetry?.({attempt: n, delay, error})
      await env.sleep(delay)
    }
  }
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
}
