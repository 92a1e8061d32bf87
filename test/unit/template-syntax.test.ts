import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import ts from 'typescript'
import {compareNumbers, compareStrings} from '../../src/core/template/compare.js'
import {arityProblem, parseCommands, tokenOperand, type OperandSyntax, type PipelineSyntax} from '../../src/core/template/pipeline.js'
import {scanTemplate, type Item, type ScanOptions} from '../../src/core/template/scan.js'

// The Go-template syntax shared by rule annotations (alerting/template.ts) and notification
// templates (notify/template/engine.ts); both engines' own tests cover it through them, these pin
// the two dialect switches and the error factory.

class Problem extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(reason)
  }
}

const fail = (offset: number, reason: string, hint?: string) => new Problem(offset, reason, hint)
const GO: ScanOptions = {declarations: true, goDots: true}
const LABELS: ScanOptions = {declarations: false, goDots: false}

const toks = (src: string, opts: ScanOptions) =>
  scanTemplate(src, opts, fail).flatMap((item) => (item.kind === 'action' ? item.action.toks.map((t) => `${t.kind}:${t.text}`) : []))

function problem(run: () => unknown): {offset: number; reason: string; hint?: string} {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof Problem, `expected the caller's error, got ${String(error)}`)
    return {offset: error.offset, reason: error.reason, ...(error.hint === undefined ? {} : {hint: error.hint})}
  }

  assert.fail('expected a problem')
}

describe('template scanner', () => {
  it('cuts text and actions, trims around {{- -}} and marks comments', () => {
    const items: Item[] = scanTemplate('a  {{- .x -}}  b{{/* note */}}c{{-3}}', GO, fail)
    assert.deepEqual(
      items.map((item) => (item.kind === 'text' ? item.text : `${item.action.start}${item.action.comment ? ' comment' : ''}:${item.action.toks.map((t) => t.text).join(' ')}`)),
      ['a', '3:.x', 'b', '16 comment:', 'c', '31:-3'],
    )
  })

  it('Go dots: `.5` is a number and field names start with a letter; label dots read every `.name` run as a path', () => {
    assert.deepEqual(toks('{{ .5 }}{{ .Labels.5xx }}', GO), ['number:.5', 'field:.Labels', 'number:.5', 'ident:xx'])
    assert.deepEqual(toks('{{ .5 }}{{ .Labels.5xx }}', LABELS), ['field:.5', 'field:.Labels.5xx'])
  })

  it('declarations lex `:=` and `,` only where the dialect has them', () => {
    assert.deepEqual(toks('{{ range $i, $a := .Alerts }}', GO), ['ident:range', 'var:$i', 'comma:,', 'var:$a', 'declare::=', 'field:.Alerts'])
    assert.deepEqual(problem(() => toks('{{ $x := 1 }}', LABELS)), {offset: 6, reason: "unexpected ':' in template action"})
  })

  it('strings: escapes, raw strings, and a }} inside a string does not close the action', () => {
    const [item] = scanTemplate('{{ "a\\"}}" `b}}` }}', GO, fail)
    assert.ok(item?.kind === 'action')
    assert.deepEqual(item.action.toks.map((t) => t.value), ['a"}}', 'b}}'])
  })

  it('errors go through the caller factory with their offsets', () => {
    assert.deepEqual(problem(() => scanTemplate('ab{{ .x', GO, fail)), {offset: 2, reason: "unclosed action: '{{' without '}}'", hint: 'close it with }}'})
    assert.deepEqual(problem(() => scanTemplate('{{ "abc }}', GO, fail)), {offset: 3, reason: 'unterminated string in template', hint: 'close it with "'})
    assert.deepEqual(problem(() => scanTemplate('{{ `abc }}', GO, fail)), {offset: 3, reason: 'unterminated string in template', hint: 'close it with `'})
    assert.deepEqual(problem(() => scanTemplate('x{{/* open }}', GO, fail)), {offset: 1, reason: 'unclosed comment', hint: 'close it with */}}'})
    assert.deepEqual(problem(() => scanTemplate('{{ }}', GO, fail)), {offset: 0, reason: 'empty action {{ }}'})
    assert.deepEqual(problem(() => scanTemplate('{{ a } }}', GO, fail)), {offset: 5, reason: "unexpected '}' in template action", hint: 'actions close with }}'})
    assert.deepEqual(problem(() => scanTemplate('{{ "\\q" }}', GO, fail)), {offset: 3, reason: 'invalid string "\\q"'})
  })
})

type Op = {kind: 'fn'; name: string; offset: number} | {kind: 'literal'; value: unknown; offset: number} | {kind: 'var'; text: string; offset: number} | {kind: 'pipe'; pipeline: unknown; offset: number}

const operands: OperandSyntax<Op> = {
  fail,
  variable: (t) => ({kind: 'var', text: t.text, offset: t.offset}),
  dot: (t) => ({kind: 'var', text: t.text, offset: t.offset}),
  isFunction: (name) => ['upper', 'join'].includes(name),
  functions: ['upper', 'join'],
  keywords: new Set(['if', 'end']),
  keywordHint: (word) => `write {{ ${word} }}`,
}

function commands(src: string, seen: string[] = []) {
  const [item] = scanTemplate(src, GO, fail)
  assert.ok(item?.kind === 'action')
  const syntax: PipelineSyntax<Op> = {
    fail,
    operand: (t) => tokenOperand(t, operands),
    group: (pipeline, offset) => ({kind: 'pipe', pipeline, offset}),
    nested: (_offset, parse) => parse(),
    describe: (o) => (o.kind === 'fn' ? o.name : o.kind === 'var' ? o.text : o.kind === 'literal' ? JSON.stringify(o.value) : '(…)'),
    command: (cmd, piped) => seen.push(`${cmd.operands.length}${piped ? ' piped' : ''}`),
    examples: {call: '{{ join "," .x }}', pipe: '{{ .x | upper }}'},
  }
  return parseCommands(item.action.toks, 0, item.action.start, syntax)
}

describe('template pipelines', () => {
  it('parses commands, pipes and parenthesised pipelines', () => {
    const seen: string[] = []
    const cmds = commands('{{ join "," (upper $x) nil | upper }}', seen)
    assert.deepEqual(
      cmds.map((c) => c.operands.map((o) => o.kind)),
      [['fn', 'literal', 'pipe', 'literal'], ['fn']],
    )
    assert.deepEqual(seen, ['2', '4', '1 piped'])
  })

  it('refuses what is not a pipeline, in the engines common words', () => {
    assert.deepEqual(problem(() => commands('{{ $x $y }}')), {offset: 6, reason: 'unexpected $y after $x', hint: `call a function first, e.g. {{ join "," .x }}, or pipe with '|'`})
    assert.deepEqual(problem(() => commands('{{ $x | }}')), {offset: 6, reason: "missing function after '|'", hint: 'e.g. {{ .x | upper }}'})
    assert.deepEqual(problem(() => commands('{{ $x | $y }}')), {offset: 8, reason: 'cannot pipe into $y: expected a function', hint: 'e.g. {{ .x | upper }}'})
    assert.deepEqual(problem(() => commands('{{ (upper $x }}')), {offset: 3, reason: "unclosed '(' in template action"})
    assert.deepEqual(problem(() => commands('{{ $x) }}')), {offset: 5, reason: "unexpected ')'"})
    assert.deepEqual(problem(() => commands('{{ | upper }}')), {offset: 3, reason: "missing value before '|'"})
    assert.deepEqual(problem(() => commands('{{ uper $x }}')), {offset: 3, reason: "unknown function 'uper'", hint: "did you mean 'upper'?"})
    assert.deepEqual(problem(() => commands('{{ upper end }}')), {offset: 9, reason: "'end' must start its own action", hint: 'write {{ end }}'})
  })

  it('arity and comparison wording', () => {
    assert.equal(arityProblem('upper', 1, 1, 1), undefined)
    assert.equal(arityProblem('upper', 1, 1, 2), 'upper takes 1 argument, got 2')
    assert.equal(arityProblem('printf', 1, Infinity, 0), 'printf takes at least 1 arguments, got 0')
    assert.equal(arityProblem('sub', 2, 3, 4), 'sub takes 2 to 3 arguments, got 4')
    assert.deepEqual([compareNumbers(1, 2), compareNumbers(2, 2), compareNumbers(3, 2), compareNumbers(Number.NaN, 1)], [-1, 0, 1, Number.NaN])
    assert.deepEqual([compareStrings('a', 'b'), compareStrings('b', 'b'), compareStrings('c', 'b')], [-1, 0, 1])
  })
})

it('core/template/ stays a leaf: it imports only itself and did-you-mean', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'core', 'template')
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts'))
  assert.ok(files.length >= 3, `expected the template sources in ${dir}`)
  const imports = files.flatMap((name) => ts.preProcessFile(readFileSync(join(dir, name), 'utf8'), true, true).importedFiles.map((f) => f.fileName))
  assert.deepEqual(
    imports.filter((spec) => !/^\.\/[a-z-]+\.js$/.test(spec) && spec !== '../did-you-mean.js'),
    [],
  )
})
