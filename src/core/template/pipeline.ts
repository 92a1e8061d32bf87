import {closest} from '../did-you-mean.js'
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
  if (!(n < min || n > max)) return undefined
  const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`
  return `${name} takes ${want} argument${want === '1' ? '' : 's'}, got ${n}`
}

/** The operands both dialects have: a literal (`V` its values), a function, a parenthesised pipeline (`P`). */
export type SharedOperand<V, P> =
  | {kind: 'literal'; value: V; offset: number}
  | {kind: 'fn'; name: string; offset: number}
  | {kind: 'pipe'; pipeline: P; offset: number}

export interface OperandSyntax<O> {
  fail: Fail
  /** `$x`, `$x.a.b` */
  variable(t: Tok): O
  /** `.` and `.a.b` (token kinds `dot` and `field`) */
  dot(t: Tok): O
  /** whether a name is a function the template may call */
  isFunction(name: string): boolean
  /** every function, for the hint of an unknown one */
  functions: readonly string[]
  /** words that must start their own action (`if`, `end` …), and how the hint writes one */
  keywords: ReadonlySet<string>
  keywordHint(word: string): string
}

/** What a token is as an operand: literals, `true`/`false`/`nil` and functions alike for both dialects; variables and dots as the engine reads them. */
export function tokenOperand<O>(t: Tok, syntax: OperandSyntax<O>): O | SharedOperand<string | number | boolean | null, never> {
  switch (t.kind) {
    case 'string':
    case 'number':
      return {kind: 'literal', value: t.value!, offset: t.offset}
    case 'var':
      return syntax.variable(t)
    case 'dot':
    case 'field':
      return syntax.dot(t)
    case 'ident': {
      if (t.text === 'true' || t.text === 'false') return {kind: 'literal', value: t.text === 'true', offset: t.offset}
      if (t.text === 'nil') return {kind: 'literal', value: null, offset: t.offset}
      if (syntax.keywords.has(t.text)) throw syntax.fail(t.offset, `'${t.text}' must start its own action`, syntax.keywordHint(t.text))
      if (!syntax.isFunction(t.text)) {
        const guess = closest(t.text, syntax.functions)
        throw syntax.fail(t.offset, `unknown function '${t.text}'`, guess ? `did you mean '${guess}'?` : `functions: ${syntax.functions.join(', ')}`)
      }

      return {kind: 'fn', name: t.text, offset: t.offset}
    }

    default:
      throw syntax.fail(t.offset, `unexpected '${t.text}'`)
  }
}

/** A literal, function or parenthesised pipeline in an error message. */
export function describeSharedOperand(o: SharedOperand<unknown, unknown>): string {
  switch (o.kind) {
    case 'literal':
      return JSON.stringify(o.value)
    case 'fn':
      return o.name
    case 'pipe':
      return '(…)'
  }
}
