/**
 * Failed logins per source address, for every server socket that checks a token (the push
 * listener, the daemon API). The first `maxFailures` within `windowMs` are answered 401 (and
 * audited by the caller); the one that reaches `maxFailures` locks the source out for
 * `lockoutMs`. During a lockout every request from that source that needs the token gets 429
 * with Retry-After — the right token too, so a guess that happens to be right is no use, and the
 * guessing stops being cheaper than waiting.
 */
export interface AuthThrottleOptions {
  maxFailures: number
  windowMs: number
  lockoutMs: number
  /** sources remembered at once; beyond it the oldest that are not locked out are forgotten (lockouts: up to twice as many) */
  maxSources: number
}

export const DEFAULT_AUTH_THROTTLE: AuthThrottleOptions = {maxFailures: 10, windowMs: 60_000, lockoutMs: 60_000, maxSources: 10_000}

interface SourceState {
  failures: number
  windowStart: number
  lockedUntil: number
}

export class AuthThrottle {
  private readonly sources = new Map<string, SourceState>()

  constructor(readonly opts: AuthThrottleOptions = DEFAULT_AUTH_THROTTLE) {}

  /** How long (ms) the source is still locked out; 0 when it may try. A Map lookup, so it can run on every request. */
  lockedFor(source: string, now: number): number {
    if (this.sources.size === 0) return 0
    const s = this.sources.get(source)
    return s !== undefined && s.lockedUntil > now ? s.lockedUntil - now : 0
  }

  /** Records a failed login; `lockedOut` when this one locked the source out (for `lockoutMs`). */
  fail(source: string, now: number): {failures: number; lockedOut: boolean} {
    let s = this.sources.get(source)
    if (s === undefined || now - s.windowStart >= this.opts.windowMs || (s.lockedUntil > 0 && s.lockedUntil <= now)) {
      s = {failures: 0, windowStart: now, lockedUntil: 0}
      this.sources.delete(source) // re-inserted at the end: the Map's order is oldest first
      this.sources.set(source, s)
      if (this.sources.size > this.opts.maxSources) this.forgetQuiet(now)
    }
    s.failures++
    const lockedOut = s.failures >= this.opts.maxFailures && s.lockedUntil === 0
    if (lockedOut) s.lockedUntil = now + this.opts.lockoutMs
    return {failures: s.failures, lockedOut}
  }

  private forgetQuiet(now: number): void {
    for (const [source, s] of this.sources) if (s.lockedUntil <= now && now - s.windowStart >= this.opts.windowMs) this.sources.delete(source)
    // still too many (a spray from many addresses): forget the oldest that are not locked out …
    for (const [source, s] of this.sources) {
      if (this.sources.size <= this.opts.maxSources) break
      if (s.lockedUntil <= now) this.sources.delete(source)
    }
    // … and, only when even the lockouts are twice too many, the oldest lockouts: memory stays bounded
    for (const source of this.sources.keys()) {
      if (this.sources.size <= 2 * this.opts.maxSources) break
      this.sources.delete(source)
    }
  }
}

/** Retry-After in whole seconds (at least 1) for a lockout that has `ms` left. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}
