import * as crypto from 'node:crypto'

/**
 * Bearer-token checks for the daemon API. Both sides are hashed first so the comparison is
 * constant-time whatever the lengths (timingSafeEqual needs equal lengths, and comparing the raw
 * strings would leak the token's length).
 */
export function tokenMatches(given: string | undefined, expected: string | undefined): boolean {
  return tokenChecker(expected)(given)
}

/**
 * {@link tokenMatches} against one expected token, its hash computed once: a server checks every
 * request against the same token, and hashing it again each time was half the check's cost.
 */
export function tokenChecker(expected: string | undefined): (given: string | undefined) => boolean {
  if (!expected) return () => false
  const b = sha256(expected)
  return (given) => {
    const a = sha256(given ?? '')
    return crypto.timingSafeEqual(a, b) && given !== undefined
  }
}

/** crypto.hash (node ≥ 20.12) is the one-shot digest, without a Hash object per call; createHash on older nodes. */
const oneShot = (crypto as {hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer}).hash

function sha256(text: string): Buffer {
  return oneShot ? oneShot('sha256', text, 'buffer') : crypto.createHash('sha256').update(text).digest()
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive). */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(value ?? '')
  return m ? m[1] : undefined
}
