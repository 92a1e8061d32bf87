import {Command, Flags, Interfaces} from '@oclif/core'
import {EXIT_RUNTIME, EXIT_USAGE, UserError, errorMessage} from '../core/errors.js'

/**
 * The error renderer, imported on the first error: it brings the YAML parser (config problems point
 * into the file) and chalk, which a command that succeeds never needs at start (docs/startup.md).
 */
async function renderer(): Promise<typeof import('./render/error.js').renderError> {
  return (await import('./render/error.js')).renderError
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/**
 * Every `mon` command extends this: shared `--config`/`--debug` flags and the one `catch` that turns
 * user errors into one clear line (exit 2 for bad input, 1 for runtime failures) and bugs into a
 * stack trace when `--debug` is given.
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      description: 'Config file (default: $MON_CONFIG, ./mon.yaml, then $XDG_CONFIG_HOME/mon/config.yaml).',
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({description: 'Show stack traces and the queries sent to the backend.', helpGroup: 'GLOBAL'}),
  }

  protected debugEnabled(): boolean {
    return this.argv.includes('--debug') || process.env.MON_DEBUG === '1'
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing arg) are usage errors: exit 2, no stack.
    const oclifExit = err.oclif?.exit
    if (oclifExit !== undefined && !(err instanceof UserError)) {
      if (oclifExit === 0) throw err // this.exit(0)
      const parseError = /Parse|Flag|Arg|Nonexistent|Required|Unexpected/i.test(err.name + ' ' + err.constructor?.name)
      process.stderr.write((await renderer())(err, this.debugEnabled()) + '\n')
      process.exitCode = parseError ? EXIT_USAGE : oclifExit
      return
    }

    process.stderr.write((await renderer())(err, this.debugEnabled()) + '\n')
    process.exitCode = err instanceof UserError ? err.exitCode : EXIT_RUNTIME
  }

  protected warnLine(message: string): void {
    process.stderr.write(message + '\n')
  }

  /** Log a line on stderr only when --debug is given. */
  protected debugLine(message: string): void {
    if (this.debugEnabled()) process.stderr.write(`debug: ${message}\n`)
  }

  protected static errorText(err: unknown): string {
    return errorMessage(err)
  }
}
