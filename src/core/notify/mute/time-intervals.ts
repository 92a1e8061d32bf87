import {didYouMean} from '../../did-you-mean.js'

/**
 * Time intervals for muting routes, with Alertmanager's `time_intervals` syntax and semantics:
 * an interval matches when every field it sets matches (times, weekdays, days_of_month, months,
 * years, all in `location`, default UTC); a named interval is a list of these and matches when any
 * of them does. Times are `HH:MM`, the end excluded; days of the month may count from the end
 * (`-1` is the last day); ranges are written `start:end`.
 */

export interface TimeRangeSpec {
  start_time: string
  end_time: string
}

export interface TimeIntervalSpec {
  times?: TimeRangeSpec[]
  weekdays?: string[]
  days_of_month?: string[]
  months?: string[]
  years?: string[]
  location?: string
}

interface Range {
  start: number
  end: number
}

export interface CompiledTimeInterval {
  times?: Range[] // minutes of the day, end exclusive
  weekdays?: Range[] // 0 = sunday
  daysOfMonth?: Range[] // may be negative
  months?: Range[] // 1-12
  years?: Range[]
  location: string
}

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const
export const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'] as const

/** Thrown by the parsers with a message fit for a config error. */
export class TimeIntervalError extends Error {}

export function parseClock(text: string, what: string): number {
  const m = /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(text.trim())
  if (!m) throw new TimeIntervalError(`invalid ${what} ${JSON.stringify(text)}: expected HH:MM (00:00 to 24:00)`)
  const minutes = Number(m[1]) * 60 + Number(m[2])
  if (minutes > 24 * 60) throw new TimeIntervalError(`invalid ${what} ${JSON.stringify(text)}: after 24:00`)
  return minutes
}

export function parseTimeRange(spec: TimeRangeSpec): Range {
  const start = parseClock(spec.start_time, 'start_time')
  const end = parseClock(spec.end_time, 'end_time')
  if (start >= end) throw new TimeIntervalError(`start_time ${spec.start_time} must be before end_time ${spec.end_time} (split a range across midnight into two)`)
  return {start, end}
}

function splitRange(text: string): [string, string] {
  const t = text.trim().toLowerCase()
  // a leading minus belongs to the number (`-3:-1`), so split on the colon that separates two parts
  const i = t.indexOf(':', t.startsWith('-') ? 1 : 0)
  return i === -1 ? [t, t] : [t.slice(0, i), t.slice(i + 1)]
}

function nameOrNumber(word: string, names: readonly string[], min: number, max: number, what: string, offset: number): number {
  const byName = names.indexOf(word)
  if (byName !== -1) return byName + offset
  if (/^\d+$/.test(word)) {
    const n = Number(word)
    if (n >= min && n <= max) return n
  }
  const close = didYouMean(word, names)
  throw new TimeIntervalError(`invalid ${what} ${JSON.stringify(word)}${close ? `; did you mean "${close}"?` : `: expected ${names[0]} … ${names.at(-1)}${max > 7 ? ` or ${min}-${max}` : ''}`}`)
}

export function parseWeekdayRange(text: string): Range {
  const [a, b] = splitRange(text)
  const start = nameOrNumber(a, WEEKDAYS, 99, -1, 'weekday', 0)
  const end = nameOrNumber(b, WEEKDAYS, 99, -1, 'weekday', 0)
  if (start > end) throw new TimeIntervalError(`weekday range ${JSON.stringify(text)} runs backwards (write sunday:saturday order, e.g. monday:friday)`)
  return {start, end}
}

export function parseMonthRange(text: string): Range {
  const [a, b] = splitRange(text)
  const start = nameOrNumber(a, MONTHS, 1, 12, 'month', 1)
  const end = nameOrNumber(b, MONTHS, 1, 12, 'month', 1)
  if (start > end) throw new TimeIntervalError(`month range ${JSON.stringify(text)} runs backwards`)
  return {start, end}
}

export function parseDayOfMonthRange(text: string): Range {
  const [a, b] = splitRange(text)
  const day = (s: string) => {
    if (!/^-?\d+$/.test(s)) throw new TimeIntervalError(`invalid day of month ${JSON.stringify(s)}: expected 1 to 31, or -1 (the last day) to -31`)
    const n = Number(s)
    if (n === 0 || n < -31 || n > 31) throw new TimeIntervalError(`invalid day of month ${n}: expected 1 to 31, or -1 (the last day) to -31`)
    return n
  }
  const start = day(a)
  const end = day(b)
  if (Math.sign(start) === Math.sign(end) && start > end) throw new TimeIntervalError(`day range ${JSON.stringify(text)} runs backwards`)
  if (start < 0 && end > 0) throw new TimeIntervalError(`day range ${JSON.stringify(text)}: a range that starts counting from the end must end there too`)
  return {start, end}
}

export function parseYearRange(text: string): Range {
  const [a, b] = splitRange(text)
  if (!/^\d{4}$/.test(a) || !/^\d{4}$/.test(b)) throw new TimeIntervalError(`invalid year range ${JSON.stringify(text)}: expected e.g. 2026 or 2026:2027`)
  const start = Number(a)
  const end = Number(b)
  if (start > end) throw new TimeIntervalError(`year range ${JSON.stringify(text)} runs backwards`)
  return {start, end}
}

export function checkLocation(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: tz})
  } catch {
    throw new TimeIntervalError(`unknown time zone ${JSON.stringify(tz)}: expected an IANA name such as Europe/Berlin, America/New_York or UTC`)
  }
}

export function compileTimeInterval(spec: TimeIntervalSpec): CompiledTimeInterval {
  const location = spec.location ?? 'UTC'
  checkLocation(location)
  return {
    times: spec.times?.map(parseTimeRange),
    weekdays: spec.weekdays?.map(parseWeekdayRange),
    daysOfMonth: spec.days_of_month?.map(parseDayOfMonthRange),
    months: spec.months?.map(parseMonthRange),
    years: spec.years?.map(parseYearRange),
    location,
  }
}

interface LocalTime {
  year: number
  month: number
  day: number
  weekday: number
  minutes: number
  daysInMonth: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()
const SHORT_WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

export function localTime(at: number, tz: string): LocalTime {
  let f = formatters.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {timeZone: tz, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short', hourCycle: 'h23'})
    formatters.set(tz, f)
  }
  const parts: Record<string, string> = {}
  for (const p of f.formatToParts(new Date(at))) parts[p.type] = p.value
  const year = Number(parts.year)
  const month = Number(parts.month)
  return {
    year,
    month,
    day: Number(parts.day),
    weekday: SHORT_WEEKDAYS.indexOf(parts.weekday!),
    minutes: (Number(parts.hour) % 24) * 60 + Number(parts.minute),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  }
}

const inRanges = (ranges: Range[] | undefined, v: number) => ranges === undefined || ranges.some((r) => v >= r.start && v <= r.end)

export function timeIntervalContains(ti: CompiledTimeInterval, at: number): boolean {
  const t = localTime(at, ti.location)
  if (ti.times && !ti.times.some((r) => t.minutes >= r.start && t.minutes < r.end)) return false
  if (!inRanges(ti.weekdays, t.weekday)) return false
  if (!inRanges(ti.months, t.month)) return false
  if (!inRanges(ti.years, t.year)) return false
  if (ti.daysOfMonth) {
    const ok = ti.daysOfMonth.some((r) => {
      const start = r.start < 0 ? t.daysInMonth + 1 + r.start : r.start
      const end = r.end < 0 ? t.daysInMonth + 1 + r.end : r.end
      return t.day >= Math.max(1, start) && t.day <= Math.min(t.daysInMonth, end)
    })
    if (!ok) return false
  }
  return true
}

/** A named interval (a list of intervals) contains `at` when any of its intervals does. */
export function anyIntervalContains(list: readonly CompiledTimeInterval[], at: number): boolean {
  return list.some((ti) => timeIntervalContains(ti, at))
}
