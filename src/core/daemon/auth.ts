import {createHash, timingSafeEqual} from 'node:crypto'

/**
 * Bearer-token checks for the daemon API. Both sides are hashed first so the comparison is
 * constant-time whatever the lengths (timingSafeEqual needs equal lengths, and comparing the raw
 * strings would leak the token's length).
 */
export function tokenMatches(given: string | undefined, expected: string | undefined): boolean {
  if (!expected) return false
  const a = createHash('sha256').update(given ?? '').digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b) && given !== undefined
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive). */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(value ?? '')
  return m ? m[1] : undefined
}

/**
 * Failed logins per source address in a sliding minute. The first `max` of a minute are answered
 * 401 and audited; beyond that the source gets 429 and is not audited row by row (a password
 * sprayer must not fill state.db) — the log says how many were suppressed.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>()

  constructor(
    private readonly max = 10,
    private readonly windowMs = 60_000,
  ) {}

  /** Record a failure; false when the source is over its limit. */
  record(source: string, now: number): boolean {
    const recent = (this.failures.get(source) ?? []).filter((t) => now - t < this.windowMs)
    recent.push(now)
    this.failures.set(source, recent)
    if (this.failures.size > 10_000) this.prune(now)
    return recent.length <= this.max
  }

  private prune(now: number): void {
    for (const [source, times] of this.failures) if (times.every((t) => now - t >= this.windowMs)) this.failures.delete(source)
  }
}
