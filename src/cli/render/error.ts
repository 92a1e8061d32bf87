import {ConfigError} from '../../core/config/problems.js'
import {UserError} from '../../core/errors.js'
import {color} from './color.js'

/** One clear message: `mon: <what>` plus a hint line; a stack only with --debug or for bugs with --debug. */
export function renderError(err: Error & {cause?: unknown}, debug: boolean): string {
  const c = color(process.stderr)
  const lines: string[] = []
  if (err instanceof UserError) {
    lines.push(`${c.red('error:')} ${err.message}`)
    // A config error's details are its other problems, each with its own hint: the first problem's
    // hint goes under it, not after the last one (where it read as that one's did-you-mean).
    const hintFirst = err instanceof ConfigError && err.problems.length > 1
    if (err.hint && hintFirst) lines.push(`${c.dim('hint:')} ${err.hint}`)
    if (err.details) lines.push(err.details)
    if (err.hint && !hintFirst) lines.push(`${c.dim('hint:')} ${err.hint}`)
    if (debug && err.cause instanceof Error) lines.push(c.dim(err.cause.stack ?? String(err.cause)))
    if (debug && err.stack) lines.push(c.dim(err.stack))
    return lines.join('\n')
  }

  const message = err.message.replace(/^Error: /, '')
  lines.push(`${c.red('error:')} ${message}`)
  if (debug) lines.push(c.dim(err.stack ?? ''))
  else if (!(err as {oclif?: unknown}).oclif) lines.push(c.dim('(this looks like a bug in mon; run again with --debug for the stack trace)'))
  return lines.join('\n')
}
