import type {Clock} from './clock.js'

/**
 * Core modules log through this small interface; the edge (commands, daemon) decides the format
 * (text on a TTY, JSON lines otherwise) and redacts secrets before anything is written.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  child(fields: LogFields): Logger
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}

/**
 * A Logger from one emit function: the four levels call it, and `child` merges its fields into
 * every later call (the shape every logger implementation here shares).
 */
export function loggerFrom(emit: (level: LogLevel, msg: string, fields: LogFields) => void, base: LogFields = {}): Logger {
  const at = (level: LogLevel) => (msg: string, fields?: LogFields) => emit(level, msg, fields ? {...base, ...fields} : base)
  return {debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => loggerFrom(emit, {...base, ...f})}
}

/**
 * Lets the first of a repeated event be logged at once and then at most once per `intervalMs`,
 * with the number left unlogged in between: a flood of the same failure (a 503 for every push
 * while the disk is full, hostile clients) stays a few lines instead of filling the disk further.
 */
export class RepeatLimiter {
  private readonly seen = new Map<string, {loggedAt: number; unlogged: number}>()

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 60_000,
    /** distinct keys remembered; beyond it the oldest is forgotten (logged again next time) */
    private readonly maxKeys = 100,
  ) {}

  /** `undefined`: stay quiet (counted); a number: log now, saying how many were not logged since the last time. */
  take(key: string): number | undefined {
    const now = this.clock.now()
    const entry = this.seen.get(key)
    if (entry && now - entry.loggedAt < this.intervalMs) {
      entry.unlogged++
      return undefined
    }
    this.seen.delete(key)
    if (this.seen.size >= this.maxKeys) this.seen.delete(this.seen.keys().next().value!)
    this.seen.set(key, {loggedAt: now, unlogged: 0})
    return entry?.unlogged ?? 0
  }
}
