import {InputError} from '../errors.js'

/**
 * Durations and sizes as people write them in config files: `250ms`, `10s`, `1h30m`, `7d`, `1y`;
 * `512MB`, `1GiB`. Config values stay strings (so `mon config show` prints what was written);
 * consumers convert with these functions at the point of use.
 */

const MS_PER_UNIT: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
}

const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d|w|y)/y
export const DURATION_EXAMPLES = '250ms, 10s, 5m, 1h30m, 7d, 1y'

/** Milliseconds for `10s`, `1h30m`, `250ms`, `7d`, `1y` (= 365d), `0`. Throws {@link InputError} on anything else. */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text)
  if (ms === undefined) {
    throw new InputError(`invalid duration ${JSON.stringify(text)}`, {hint: `write a number and a unit (ms, s, m, h, d, w, y), e.g. ${DURATION_EXAMPLES}`})
  }
  return ms
}

/** Unit words people write after a number: `10 seconds`, `5 min`, `1 h`. */
const SPELLED_UNITS = new Set(
  'ms millisecond milliseconds msec msecs s sec secs second seconds m min mins minute minutes h hr hrs hour hours d day days w wk week weeks y yr year years'.split(' '),
)

/**
 * A duration written out in words or with a space (`10 seconds`, `5 min`, `1 h`): meant as a
 * duration, so it gets a duration's message rather than a cron expression's.
 */
export function isSpelledDuration(text: string): boolean {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$/.exec(text)
  return m !== null && SPELLED_UNITS.has(m[2]!.toLowerCase()) && tryParseDuration(text) === undefined
}

/** Like {@link parseDuration} but returns undefined instead of throwing. */
export function tryParseDuration(text: string): number | undefined {
  if (typeof text !== 'string') return undefined
  const s = text.trim()
  if (s === '0') return 0
  if (s === '') return undefined
  DURATION_PART.lastIndex = 0
  let total = 0
  let pos = 0
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos
    const m = DURATION_PART.exec(s)
    if (!m) return undefined
    total += Number(m[1]) * MS_PER_UNIT[m[2]!]!
    pos = DURATION_PART.lastIndex
  }
  return Math.round(total)
}

const FORMAT_UNITS: Array<[string, number]> = [
  ['y', MS_PER_UNIT.y!],
  ['d', MS_PER_UNIT.d!],
  ['h', MS_PER_UNIT.h!],
  ['m', MS_PER_UNIT.m!],
  ['s', MS_PER_UNIT.s!],
  ['ms', 1],
]

/** The compact form parseDuration reads back: 90000 → `1m30s`, 0 → `0s`, 250 → `250ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms)
  if (ms < 0) return '-' + formatDuration(-ms)
  let rest = Math.round(ms)
  if (rest === 0) return '0s'
  let out = ''
  for (const [unit, size] of FORMAT_UNITS) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`
      rest %= size
    }
  }
  return out
}

const BYTES_PER_UNIT: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1000 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
}

export const SIZE_EXAMPLES = '4096, 512KB, 32MiB, 1GiB'

/** Bytes for `512MB` (10^6), `32MiB` (2^20), `1.5GiB`, a bare number of bytes. Throws {@link InputError} on anything else. */
export function parseSize(text: string | number): number {
  const bytes = tryParseSize(text)
  if (bytes === undefined) {
    throw new InputError(`invalid size ${JSON.stringify(text)}`, {hint: `write a number and a unit (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB), e.g. ${SIZE_EXAMPLES}`})
  }
  return bytes
}

export function tryParseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : undefined
  if (typeof text !== 'string') return undefined
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i.exec(text.trim())
  if (!m) return undefined
  const factor = BYTES_PER_UNIT[m[2]!.toLowerCase()]
  if (factor === undefined) return undefined
  return Math.floor(Number(m[1]) * factor)
}

/** Exact binary units when they fit: 1073741824 → `1GiB`, 1000 → `1000B`. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`
  }
  return `${bytes}B`
}
