/**
 * The one "did you mean …?" helper: every typo suggestion (config keys, receivers, rule names, query
 * functions, template variables, measurements) ranks candidates by the same edit distance.
 */

/** Optimal string alignment distance (Levenshtein plus transpositions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  const d: number[][] = Array.from({length: s.length + 1}, (_, i) => Array.from({length: t.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[s.length]![t.length]!
}

/** The candidate nearest to `word` and its distance (the first one on ties). */
function nearest(word: string, candidates: readonly string[]): {best: string | undefined; distance: number} {
  let best: string | undefined
  let distance = Infinity
  for (const c of candidates) {
    const d = editDistance(word, c)
    if (d < distance) {
      best = c
      distance = d
    }
  }
  return {best, distance}
}

/** The closest candidate if it is close enough to be a likely typo (≤1 edit for short words, ≤2 otherwise). */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const {best, distance} = nearest(word, candidates)
  const limit = Math.max(word.length, best?.length ?? 0) <= 4 ? 1 : 2
  if (best !== undefined && distance <= limit) return best
  // `max_bytes` for `bytes`, `tls` for `tls_verify`: a candidate containing the word (or vice versa).
  const lower = word.toLowerCase()
  if (lower.length >= 3) return candidates.find((c) => c.toLowerCase().includes(lower) || lower.includes(c.toLowerCase()))
  return undefined
}

/**
 * The looser guess the query language and templates use for function and variable names: the
 * nearest candidate within max(2, ⌊length/3⌋) edits, no substring fallback.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const {best, distance} = nearest(word, candidates)
  return distance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}
