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
