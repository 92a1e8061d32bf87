/** Number formatting for the dashboard: short, fixed-ish width, no colour (monitors add that). */

import {BYTE_UNITS, formatBytes} from '../../core/format.js'

// human sizes are shared with the CLI (mon store info, archive summaries)
export {formatBytes}

/** Bytes per second: "1.5 KB/s". */
export function formatRate(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '–' : `${formatBytes(n)}/s`
}

/** Bytes per second in at most five characters: "1.5M", "200K", "12B". */
export function formatRateShort(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–'
  const units = ['B', 'K', 'M', 'G', 'T']
  let v = Math.abs(n)
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1024
    i++
  }

  return `${v >= 10 || i === 0 ? v.toFixed(0) : v.toFixed(1)}${units[i]}`
}

/**
 * The unit a whole chart is drawn in, picked from its largest value so the y axis reads in
 * small numbers: {unit: 'MB/s', divisor: 1048576}.
 */
export function rateScale(max: number): {unit: string; divisor: number} {
  let divisor = 1
  let i = 0
  while (max / divisor >= 1024 && i < BYTE_UNITS.length - 1) {
    divisor *= 1024
    i++
  }

  return {unit: `${BYTE_UNITS[i]}/s`, divisor}
}

export function formatPercent(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(digits)}%`
}

/** Seconds (the checks' response_time) as milliseconds: 0.0412 → "41 ms". */
export function formatLatency(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–'
  const ms = seconds * 1000
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`
  return `${ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(0) : ms.toFixed(1)} ms`
}

/** An age as one or two units (42s, 5m, 2h5m, 3d4h), the same as `mon alerts list` prints. */
export {formatAge} from '../../cli/render/alerts.js'

/** A compact duration for the header: 1000 → "1s", 900000 → "15m", 500 → "500ms". */
export function formatInterval(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ]
  for (const [u, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${u}`
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)}s`
  return `${ms}ms`
}

/** HH:MM:SS in local time (the clock in the header) or HH:MM for chart labels. */
export function clockTime(ms: number, seconds = true): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return seconds ? `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` : `${p(d.getHours())}:${p(d.getMinutes())}`
}

/** Cuts a string to `width` columns, ending in "…" when cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return ''
  if (s.length <= width) return s
  return width === 1 ? '…' : `${s.slice(0, width - 1)}…`
}

export function padEnd(s: string, width: number): string {
  const t = truncate(s, width)
  return t + ' '.repeat(Math.max(0, width - t.length))
}

export function padStart(s: string, width: number): string {
  const t = truncate(s, width)
  return ' '.repeat(Math.max(0, width - t.length)) + t
}

/** A horizontal bar of `width` cells for a 0–100 percentage: "█████░░░░░". */
export function bar(percent: number | undefined, width: number, fill = '█', empty = '░'): string {
  if (width <= 0) return ''
  const p = percent === undefined || !Number.isFinite(percent) ? 0 : Math.min(100, Math.max(0, percent))
  const full = Math.round((p / 100) * width)
  return fill.repeat(full) + empty.repeat(width - full)
}

/** `{host="web-01", path="/"}` without the keys already shown elsewhere. */
export function formatLabels(labels: Record<string, string>, omit: readonly string[] = []): string {
  return Object.entries(labels)
    .filter(([k]) => !omit.includes(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
}
