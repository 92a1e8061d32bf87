import chalk, {Chalk, type ChalkInstance} from 'chalk'

/**
 * Colour is for people: off when NO_COLOR is set (https://no-color.org), when the stream is not a
 * TTY, or with TERM=dumb. FORCE_COLOR still wins, as chalk documents.
 */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  if (process.env.TERM === 'dumb') return false
  return Boolean(stream.isTTY)
}

let cached: ChalkInstance | undefined
export function color(stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  if (stream !== process.stdout) return new Chalk({level: colorEnabled(stream) ? chalk.level || 1 : 0})
  cached ??= new Chalk({level: colorEnabled(stream) ? chalk.level || 1 : 0})
  return cached
}

export type Severity = 'critical' | 'error' | 'warning' | 'info' | string

export function severityColor(severity: Severity, c: ChalkInstance = color()): (s: string) => string {
  switch (severity) {
    case 'critical':
    case 'page':
      return (s) => c.bold.red(s)
    case 'error':
    case 'high':
      return (s) => c.red(s)
    case 'warning':
    case 'warn':
      return (s) => c.yellow(s)
    case 'info':
      return (s) => c.cyan(s)
    default:
      return (s) => s
  }
}
