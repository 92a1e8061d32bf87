/**
 * Short alert ids, git style: the shortest prefix of the fingerprint (at least 4 hex digits) that
 * no other known fingerprint shares. What people type is matched the same way: a unique prefix is
 * enough, an ambiguous one lists the candidates. Pure, so it is table-tested.
 */
export const MIN_ID_LENGTH = 4

/** Shortest unique prefix (≥ {@link MIN_ID_LENGTH}) of each fingerprint among all of them. */
export function shortIds(fingerprints: readonly string[]): Map<string, string> {
  const sorted = [...new Set(fingerprints)].sort()
  const out = new Map<string, string>()
  sorted.forEach((fp, i) => {
    // in sorted order the longest shared prefix is always with a neighbour
    const shared = Math.max(commonPrefix(fp, sorted[i - 1]), commonPrefix(fp, sorted[i + 1]))
    out.set(fp, fp.slice(0, Math.min(fp.length, Math.max(MIN_ID_LENGTH, shared + 1))))
  })
  return out
}

function commonPrefix(a: string, b: string | undefined): number {
  if (b === undefined) return 0
  let n = 0
  while (n < a.length && n < b.length && a[n] === b[n]) n++
  return n
}

export type PrefixMatch =
  | {kind: 'found'; fingerprint: string}
  | {kind: 'none'}
  | {kind: 'ambiguous'; candidates: string[]}
  | {kind: 'invalid'; reason: string}

/** What an id typed by a person refers to. Case does not matter; an exact fingerprint always wins. */
export function matchPrefix(typed: string, fingerprints: readonly string[]): PrefixMatch {
  const prefix = typed.trim().toLowerCase()
  if (!/^[0-9a-f]+$/.test(prefix)) return {kind: 'invalid', reason: `'${typed}' is not an alert id (ids are hex digits, as in mon alerts list)`}
  if (prefix.length < MIN_ID_LENGTH) return {kind: 'invalid', reason: `alert id '${typed}' is too short: give at least ${MIN_ID_LENGTH} characters`}
  if (fingerprints.includes(prefix)) return {kind: 'found', fingerprint: prefix}
  const candidates = [...new Set(fingerprints.filter((fp) => fp.startsWith(prefix)))].sort()
  if (candidates.length === 0) return {kind: 'none'}
  if (candidates.length === 1) return {kind: 'found', fingerprint: candidates[0]!}
  return {kind: 'ambiguous', candidates}
}
