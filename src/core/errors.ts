/**
 * Errors in kinds. A {@link UserError} is something the user can fix (bad input, bad config, an
 * unreachable server): it carries what to try next and exits without a stack trace. Anything else
 * is a bug and shows its stack with `--debug`. The one catch in the base command renders them all.
 */
export const EXIT_OK = 0
export const EXIT_RUNTIME = 1
export const EXIT_USAGE = 2

export class UserError extends Error {
  readonly hint?: string
  readonly exitCode: number
  readonly details?: string

  constructor(message: string, opts: {hint?: string; exitCode?: number; details?: string; cause?: unknown} = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = 'UserError'
    this.hint = opts.hint
    this.exitCode = opts.exitCode ?? EXIT_RUNTIME
    this.details = opts.details
  }
}

/** Bad input: config, rule, query, flag, line protocol. Exit code 2. */
export class InputError extends UserError {
  constructor(message: string, opts: {hint?: string; details?: string; cause?: unknown} = {}) {
    super(message, {...opts, exitCode: EXIT_USAGE})
    this.name = 'InputError'
  }
}

/**
 * A write that stored every point but `rejectedPoints` of them (InfluxDB's "partial write"): the
 * store refused those (a field type conflict, a value it cannot hold…) and kept the others.
 * `rejectedIndexes` are the positions of the refused points in the array that was written.
 */
export class PartialWriteError extends InputError {
  constructor(
    message: string,
    readonly rejectedPoints: number,
    readonly rejectedIndexes: readonly number[] = [],
    opts: {hint?: string; details?: string} = {},
  ) {
    super(message, opts)
    this.name = 'PartialWriteError'
  }

  /** read by droppedByPartialWrite (store/types.ts): the rest of the write was stored */
  get partialWriteDropped(): number {
    return this.rejectedPoints
  }
}

/** A located problem in a text: file (or "<stdin>", "<query>"), 1-based line and column. */
export interface SourcePosition {
  file: string
  line: number
  col: number
}

export class LocatedError extends InputError {
  readonly position: SourcePosition

  constructor(position: SourcePosition, reason: string, opts: {hint?: string; details?: string} = {}) {
    super(`${position.file}:${position.line}:${position.col}: ${reason}`, opts)
    this.name = 'LocatedError'
    this.position = position
  }
}

/**
 * Why a regular expression did not compile, without V8's prefix: `Unterminated group`, not
 * `Invalid regular expression: /^(?:a(b)$/u: Unterminated group` — that shows the form mon compiled
 * (anchored, wrapped), not what the user wrote. Callers put the user's own text beside it.
 */
export function regexErrorReason(err: unknown): string {
  // JavaScript's RegExp ("Invalid regular expression: /…/u: …") and RE2's ("error parsing regexp: …")
  // (RE2 ends with the pattern it compiled, which for a matcher is the anchored form: left out)
  return errorMessage(err)
    .replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')
    .replace(/^error parsing regexp: (.*?)(?:: `.*`)?$/s, '$1')
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
