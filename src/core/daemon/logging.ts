import type {Clock} from '../clock.js'
import {redactString} from '../config/redact.js'
import {loggerFrom, type LogFields, type Logger} from '../log.js'

/**
 * The daemon's logger: forwards to the edge's logger (text or JSON lines, redacted), which a
 * reload may swap (log.level, log.format), and keeps the last warnings and errors for
 * `mon status` and /api/v1/status.
 */
export interface RecentLogEntry {
  /** ms since the epoch */
  at: number
  level: 'warn' | 'error'
  msg: string
  /** one line: `key=value …` of the event's fields, secrets redacted */
  detail?: string
}

export interface DaemonLogger extends Logger {
  /** Swap where lines go (after a reload changed log.level or log.format). */
  setTarget(target: Logger): void
  setSecrets(secrets: readonly string[]): void
  /** the last warnings and errors, oldest first */
  recent(): RecentLogEntry[]
}

export function daemonLogger(initial: Logger, opts: {clock: Clock; keep?: number; secrets?: readonly string[]}): DaemonLogger {
  let target = initial
  let secrets = opts.secrets ?? []
  const keep = opts.keep ?? 20
  const ring: RecentLogEntry[] = []

  const remember = (level: 'warn' | 'error', msg: string, fields: LogFields) => {
    const detail = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ')
    ring.push({at: opts.clock.now(), level, msg, ...(detail ? {detail: redactString(detail, secrets)} : {})})
    if (ring.length > keep) ring.shift()
  }

  const root = loggerFrom((level, msg, all) => {
    if (level === 'warn' || level === 'error') remember(level, msg, all)
    target[level](msg, all)
  })
  return {
    ...root,
    setTarget(next) {
      target = next
    },
    setSecrets(next) {
      secrets = next
    },
    recent: () => [...ring],
  }
}
