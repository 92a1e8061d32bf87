import {cronParser} from './cron.js'
import {formatDuration, parseDuration} from '../config/duration.js'
import {isCronExpression} from '../config/common.js'
import {InputError} from '../errors.js'

/** When something runs: every N ms aligned to the epoch, or at the times of a cron expression. */
export interface Schedule {
  /** the first run time strictly after `after` (ms since the epoch) */
  next(after: number): number
  /** the interval in ms, when there is one (cron schedules have none) */
  readonly period?: number
  /** `every 10s` or `cron "0 3 * * *" (Europe/Berlin)` */
  describe(): string
}

/**
 * Reads an interval as the config writes it: a duration (`10s`) or a cron expression (5 fields,
 * 6 with seconds first, or `@hourly`…), evaluated in `timezone` (an IANA name; default: the local zone).
 */
export function parseSchedule(spec: string, opts: {timezone?: string} = {}): Schedule {
  const text = spec.trim()
  if (isCronExpression(text)) return cronSchedule(text, opts.timezone)
  const period = parseDuration(text)
  if (period <= 0) throw new InputError(`invalid interval ${JSON.stringify(spec)}: must be longer than 0`)
  return intervalSchedule(period)
}

/** Runs at every multiple of `period` since the epoch (as Telegraf's round_interval), so series line up. */
export function intervalSchedule(period: number): Schedule {
  return {
    period,
    next: (after) => (Math.floor(after / period) + 1) * period,
    describe: () => `every ${formatDuration(period)}`,
  }
}

export function cronSchedule(expression: string, timezone?: string): Schedule {
  const tz = timezone || undefined
  try {
    cronParser().parse(expression, {tz})
  } catch (err) {
    throw new InputError(`invalid cron expression ${JSON.stringify(expression)}: ${(err as Error).message}`)
  }
  return {
    next(after) {
      // cron-parser's next() is strictly after currentDate at second resolution: start from the
      // last whole second so a run due at :00.000 is not skipped when `after` is :00.000.
      const it = cronParser().parse(expression, {currentDate: new Date(Math.floor(after / 1000) * 1000), tz})
      let t = it.next().getTime()
      while (t <= after) t = it.next().getTime()
      return t
    },
    describe: () => `cron ${JSON.stringify(expression)}${tz ? ` (${tz})` : ''}`,
  }
}
