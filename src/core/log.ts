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
