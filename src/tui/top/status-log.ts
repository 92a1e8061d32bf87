import type {LogFields, Logger} from '../../core/log.js'

/**
 * A Logger for core modules used while the dashboard owns the terminal (the incident service
 * warns when an event cannot be written): warnings and errors go to the status line instead of
 * stderr, which would scribble over the screen. Messages before the dashboard is up are kept.
 */
export class StatusLog implements Logger {
  private sink?: (text: string) => void
  private readonly pending: string[] = []

  attach(sink: (text: string) => void): void {
    this.sink = sink
    for (const text of this.pending.splice(0)) sink(text)
  }

  detach(): void {
    this.sink = undefined
  }

  /** What arrived while no dashboard was attached (printed once the terminal is back). */
  drain(): string[] {
    return this.pending.splice(0)
  }

  debug(): void {}
  info(): void {}

  warn(msg: string, fields?: LogFields): void {
    this.emit(`warning: ${line(msg, fields)}`)
  }

  error(msg: string, fields?: LogFields): void {
    this.emit(`error: ${line(msg, fields)}`)
  }

  child(): Logger {
    return this
  }

  private emit(text: string): void {
    if (this.sink) this.sink(text)
    else this.pending.push(text)
  }
}

function line(msg: string, fields?: LogFields): string {
  const extra = fields ? Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`) : []
  return [msg, ...extra].join(' ')
}
