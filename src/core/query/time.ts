import {InputError} from '../errors.js'
import {DURATION_EXAMPLES, tryParseDuration} from '../config/duration.js'

/**
 * A point in time as users type it: `now`, a duration back from now (`15m`, `-15m`, `now-1h`),
 * RFC 3339 (`2026-11-25T09:00:00Z`, a date `2026-11-25`), or epoch seconds/milliseconds.
 */
export function parseTime(text: string, now: number, flag = 'time'): number {
  const s = text.trim()
  if (s === 'now') return now
  const rel = /^(?:now)?\s*-?\s*(.+)$/.exec(s)
  if (rel && !/^\d{4}-\d\d/.test(s)) {
    const d = tryParseDuration(rel[1])
    if (d !== undefined) return now - d
  }

  if (/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(s)) {
    const iso = s.length === 10 ? `${s}T00:00:00Z` : s.replace(' ', 'T')
    const t = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`)
    if (!Number.isNaN(t)) return t
  }

  if (/^\d{9,13}$/.test(s)) return s.length <= 10 ? Number(s) * 1000 : Number(s)
  throw new InputError(`invalid ${flag} '${text}'`, {
    hint: `use a duration back from now (${DURATION_EXAMPLES}), RFC 3339 (2026-11-25T09:00:00Z) or 'now'`,
  })
}

/** Picks a bucket width giving about `points` buckets over the range, on a human grid. */
export function autoEvery(start: number, end: number, points = 60): number {
  const steps = [1000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000]
  const want = (end - start) / points
  return steps.find((s) => s >= want) ?? steps[steps.length - 1]
}
