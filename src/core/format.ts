import {formatDuration} from './config/duration.js'

/**
 * Small wording helpers every message shares, so counts, relative times and measured durations read
 * the same in every command (a leaf module: it imports nothing of the app but the duration format).
 */

/** `1 point`, `2 points`, `0 points`; `plural(3, 'series', 'series')` for irregular words. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`
}

/**
 * A time relative to `now`: `7s ago` in the past, `in 7s` in the future, `now` within half a second
 * (a time just due never reads "0s ago"). Seconds under a minute, then minutes up to two days, then
 * hours: `14d10h ago`, not `14d9h38m41s ago`.
 */
export function relativeTime(at: number, now: number): string {
  const seconds = Math.round((now - at) / 1000)
  if (seconds === 0) return 'now'
  const abs = Math.abs(seconds)
  const unit = abs < 60 ? 1 : abs < 172_800 ? 60 : 3600
  const span = formatDuration(Math.round(abs / unit) * unit * 1000)
  return seconds > 0 ? `${span} ago` : `in ${span}`
}

/** A measured duration in ms to the microsecond (0.755 rather than 0.7551780000000008), for JSON. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

export const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']

/** 1536 → "1.5 KB", 0 → "0 B" (powers of 1024, as free(1) and htop show memory). */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–'
  let v = Math.abs(n)
  let i = 0
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024
    i++
  }

  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2
  // 16 GB and 1.5 KB, not 16.0 GB and 1.50 KB
  const text = v.toFixed(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '')
  return `${n < 0 ? '-' : ''}${text} ${BYTE_UNITS[i]}`
}
