import type {Fail, Tok} from './scan.js'

/**
 * The pipeline grammar both template dialects share: `arg arg | fn arg | fn` with parenthesised
 * pipelines as operands. Each engine builds its own operands (what a token means differs: rule
 * annotations know `$labels` / `$value`, notification templates fields of the notification) and
 * checks what it checks; the shapes, messages and offsets of the errors are common.
 */

export interface CommandOf<O> {
  operands: O[]
  offset: number
}

export interface PipelineSyntax<O extends {kind: string; offset: number}> {
  fail: Fail
  /** the operand a token is (a function is one of kind `fn`) */
  operand(t: Tok): O
  /** the operand a parenthesised pipeline is, its `(` at `offset` */
  group(commands: Array<CommandOf<O>>, offset: number): O
  /** runs the parse of a parenthesised pipeline, refusing nesting past the engine's limit */
  nested<T>(offset: number, parse: () => T): T
  /** an operand in an error message */
  describe(o: O): string
  /** called on each command as it is parsed; `piped`: a command before it in the outermost pipeline */
  command?(cmd: CommandOf<O>, piped: boolean): void
  /** examples for the hints: a function call, and a pipe into a function */
  examples: {call: string; pipe: string}
}

/** The commands of the pipeline in `toks` from `from` (`start`: the offset for an empty one). */
export function parseCommands<O extends {kind: string; offset: number}>(toks: Tok[], from: number, start: number, syntax: PipelineSyntax<O>): Array<CommandOf<O>> {
  const {fail, describe, examples} = syntax
  const commands: Array<CommandOf<O>> = []
  let i = from
  const parseCommand = (): CommandOf<O> => {
    const operands: O[] = []
    const offset = toks[i]?.offset ?? start
    while (i < toks.length && toks[i]!.kind !== 'pipe' && toks[i]!.kind !== 'rparen') {
      const t = toks[i]!
      if (t.kind === 'lparen') {
        i++
        const inner = syntax.nested(t.offset, () => {
          const cmds = [parseCommand()]
          while (toks[i]?.kind === 'pipe') {
            i++
            cmds.push(parseCommand())
          }

          return cmds
        })
        if (toks[i]?.kind !== 'rparen') throw fail(t.offset, "unclosed '(' in template action")
        i++
        operands.push(syntax.group(inner, t.offset))
        continue
      }

      operands.push(syntax.operand(t))
      i++
    }

    if (operands.length === 0) throw fail(toks[i]?.offset ?? start, toks[i]?.kind === 'pipe' ? "missing value before '|'" : 'missing value in template action')
    const first = operands[0]!
    if (first.kind !== 'fn' && operands.length > 1) {
      throw fail(operands[1]!.offset, `unexpected ${describe(operands[1]!)} after ${describe(first)}`, `call a function first, e.g. ${examples.call}, or pipe with '|'`)
    }

    const cmd = {operands, offset}
    syntax.command?.(cmd, commands.length > 0)
    return cmd
  }

  commands.push(parseCommand())
  while (i < toks.length) {
    const t = toks[i]!
    if (t.kind === 'rparen') throw fail(t.offset, "unexpected ')'")
    i++ // the pipe
    if (i >= toks.length) throw fail(t.offset, "missing function after '|'", `e.g. ${examples.pipe}`)
    const cmd = parseCommand()
    if (cmd.operands[0]!.kind !== 'fn') throw fail(cmd.offset, `cannot pipe into ${describe(cmd.operands[0]!)}: expected a function`, `e.g. ${examples.pipe}`)
    commands.push(cmd)
  }

  return commands
}

/** The problem with calling `name` (taking `min` to `max` arguments) with `n`, if any. */
export function arityProblem(name: string, min: number, max: number, n: number): string | undefined {
  if (n >= min && n <= max) return undefined
  const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`
  return `${name} takes ${want} argument${want === '1' ? '' : 's'}, got ${n}`
}
