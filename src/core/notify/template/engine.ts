import {closest} from '../../did-you-mean.js'
import {humanize, humanize1024, humanizeDuration, humanizePercentage, sprintf, type TemplateValue} from '../../alerting/template.js'
import {compileLinearRegex, replaceAllLinear} from '../../model/matcher.js'
import {compareNumbers, compareStrings} from '../../template/compare.js'
import {arityProblem, describeSharedOperand, parseCommands, tokenOperand, type CommandOf, type SharedOperand} from '../../template/pipeline.js'
import {scanTemplate, type Action, type Fail, type Item, type Tok} from '../../template/scan.js'

/**
 * Notification templates: the part of Go's text/template that Alertmanager notification templates
 * use, so template files carry over. `{{ define "name" }}…{{ end }}`, `{{ template "name" . }}`,
 * `{{ range .Alerts }}…{{ end }}` (also `range $i, $a := …`, `{{ else }}`), `{{ if }}` /
 * `{{ else if }}` / `{{ with }}`, `{{ $x := … }}`, pipelines, `{{- … -}}` trimming, comments, and
 * a fixed set of functions. Nothing else: no method calls with arguments, no arbitrary code.
 *
 * Templates are parsed and type-checked when the config is loaded (a misspelt field, an undefined
 * template or variable is an error with its offset); rendering is bounded in steps, call depth
 * and output size, so a hostile template cannot stall the notifier.
 */

/** A problem in a template source at a 0-based offset into its text. */
export class NotifyTemplateError extends Error {
  constructor(
    readonly source: number,
    readonly offset: number,
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(reason)
    this.name = 'NotifyTemplateError'
  }
}

/** A failure while rendering (a runtime type error, a limit hit). */
export class TemplateRenderError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TemplateRenderError'
  }
}

export interface TemplateLimits {
  /** most characters a rendering may produce (and any one value inside it) */
  maxOutput: number
  /** most steps (actions, loop iterations, function calls) of one rendering */
  maxSteps: number
  /** deepest {{ template }} call nesting */
  maxDepth: number
}

export const DEFAULT_LIMITS: TemplateLimits = {maxOutput: 64 * 1024, maxSteps: 200_000, maxDepth: 32}

// ------------------------------------------------------------------------------------ values

/** Labels and annotations (Alertmanager's KV): `.x` reads a key; `.SortedPairs`, `.Names`, `.Values`. */
export class KV {
  constructor(readonly map: Record<string, string>) {}
}

/** The data of a notification, one alert, or a label pair. */
export class Struct {
  constructor(
    readonly type: 'data' | 'alert' | 'pair',
    readonly fields: Record<string, Value>,
  ) {}
}

/** `.Alerts`, with `.Firing` and `.Resolved`. */
export class AlertList {
  constructor(readonly items: Struct[]) {}
}

/** Text `safeHtml` marked as not to be escaped in an HTML template. */
export class SafeHtml {
  constructor(readonly text: string) {}
}

export type Value = string | number | boolean | null | Value[] | KV | Struct | AlertList | SafeHtml

// ------------------------------------------------------------------------------------ static types

/** What the checker knows about a value. */
type Type = 'data' | 'alert' | 'alerts' | 'kv' | 'pair' | 'strings' | 'pairs' | 'scalar' | 'any'

const STRUCT_FIELDS: Record<'data' | 'alert' | 'pair' | 'alerts', Record<string, Type>> = {
  data: {Receiver: 'scalar', Status: 'scalar', Alerts: 'alerts', GroupLabels: 'kv', CommonLabels: 'kv', CommonAnnotations: 'kv', ExternalURL: 'scalar', GroupKey: 'scalar', Message: 'scalar'},
  alert: {Status: 'scalar', Labels: 'kv', Annotations: 'kv', StartsAt: 'scalar', EndsAt: 'scalar', GeneratorURL: 'scalar', Fingerprint: 'scalar', Value: 'scalar'},
  alerts: {Firing: 'alerts', Resolved: 'alerts'},
  pair: {Name: 'scalar', Value: 'scalar'},
}
const KV_METHODS: Record<string, Type> = {SortedPairs: 'pairs', Names: 'strings', Values: 'strings'}

export const DATA_FIELDS: readonly string[] = Object.keys(STRUCT_FIELDS.data)
export const ALERT_FIELDS: readonly string[] = Object.keys(STRUCT_FIELDS.alert)

function describeType(t: Type): string {
  switch (t) {
    case 'data':
      return 'the notification'
    case 'alert':
      return 'an alert'
    case 'alerts':
      return 'a list of alerts'
    case 'kv':
      return 'a label map'
    case 'pair':
      return 'a label pair'
    case 'strings':
    case 'pairs':
      return 'a list'
    case 'scalar':
      return 'a plain value'
    case 'any':
      return 'a value'
  }
}

/** Every field name any value has, for a template whose data is not known (a named template no field calls). */
const ANY_FIELDS = [...new Set([...Object.values(STRUCT_FIELDS).flatMap((f) => Object.keys(f)), ...Object.keys(KV_METHODS)])]

function fieldType(t: Type, name: string): Type | {error: string; hint?: string} {
  if (t === 'any') {
    if (ANY_FIELDS.includes(name)) {
      const types = new Set(Object.values(STRUCT_FIELDS).flatMap((f) => (name in f ? [f[name]!] : [])))
      return types.size === 1 ? [...types][0]! : 'any'
    }
    const guess = closest(name, ANY_FIELDS)
    return {error: `unknown field .${name}`, hint: guess ? `did you mean .${guess}?` : `fields: ${DATA_FIELDS.map((n) => '.' + n).join(', ')}; of an alert: ${ALERT_FIELDS.map((n) => '.' + n).join(', ')}`}
  }
  if (t === 'kv') return KV_METHODS[name] ?? 'scalar'
  if (t === 'data' || t === 'alert' || t === 'pair' || t === 'alerts') {
    const fields = STRUCT_FIELDS[t]
    if (name in fields) return fields[name]!
    const names = Object.keys(fields)
    const guess = closest(name, names)
    return {error: `unknown field .${name} of ${describeType(t)}`, hint: guess ? `did you mean .${guess}?` : `fields: ${names.map((n) => '.' + n).join(', ')}`}
  }
  return {error: `.${name}: ${describeType(t)} has no fields`}
}

function elementType(t: Type): Type | undefined {
  switch (t) {
    case 'alerts':
      return 'alert'
    case 'pairs':
      return 'pair'
    case 'kv':
    case 'strings':
      return 'scalar'
    case 'any':
      return 'any'
    default:
      return undefined
  }
}

// ------------------------------------------------------------------------------------ AST

type Operand = {kind: 'field'; base: 'dot' | 'var'; name?: string; path: string[]; offset: number} | SharedOperand<Value, Pipeline>

type Command = CommandOf<Operand>

interface Pipeline {
  commands: Command[]
  /** `$x :=` (one name) or `$i, $a :=` in a range */
  decl: string[]
  offset: number
}

export type Node =
  | {kind: 'text'; text: string}
  | {kind: 'action'; pipeline: Pipeline}
  | {kind: 'if'; cond: Pipeline; then: Node[]; otherwise: Node[]}
  | {kind: 'with'; cond: Pipeline; then: Node[]; otherwise: Node[]}
  | {kind: 'range'; over: Pipeline; body: Node[]; otherwise: Node[]}
  | {kind: 'template'; name: string; arg?: Pipeline; offset: number}

export interface Define {
  name: string
  body: Node[]
  source: number
  offset: number
}

export interface ParsedSource {
  source: number
  body: Node[]
  defines: Define[]
}

// ------------------------------------------------------------------------------------ functions

type Fn = (args: Value[], ctx: ExecContext) => Value

const FUNCTIONS: Record<string, {min: number; max: number; type: Type; fn: Fn}> = {
  len: {min: 1, max: 1, type: 'scalar', fn: ([v]) => lengthOf(v!)},
  toUpper: {min: 1, max: 1, type: 'scalar', fn: ([s]) => text(s!).toUpperCase()},
  toLower: {min: 1, max: 1, type: 'scalar', fn: ([s]) => text(s!).toLowerCase()},
  title: {min: 1, max: 1, type: 'scalar', fn: ([s]) => text(s!).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase())},
  trimSpace: {min: 1, max: 1, type: 'scalar', fn: ([s]) => text(s!).trim()},
  join: {
    min: 2,
    max: 2,
    type: 'scalar',
    fn: ([sep, list], ctx) => {
      if (!Array.isArray(list)) throw new TemplateRenderError(`join: expected a list, got ${valueKind(list!)}`)
      return ctx.bounded(list.map((v) => text(v)).join(text(sep!)))
    },
  },
  // RE2: label values are not trusted input for a backtracking engine
  reReplaceAll: {
    min: 3,
    max: 3,
    type: 'scalar',
    fn: ([re, repl, s], ctx) => {
      const input = text(s!)
      const replacement = text(repl!)
      // every match (at most one per position) could expand to the replacement with each $n the whole input
      const refs = (replacement.match(/\$/g) ?? []).length
      const worst = input.length + (input.length + 1) * (replacement.length + refs * input.length)
      if (worst > ctx.limits.maxOutput * 16) throw new TemplateRenderError(`reReplaceAll: the result could exceed ${ctx.limits.maxOutput} characters`)
      return ctx.bounded(replaceAllLinear(text(re!), input, replacement))
    },
  },
  match: {min: 2, max: 2, type: 'scalar', fn: ([re, s]) => compileLinearRegex(text(re!)).test(text(s!))},
  humanize: {min: 1, max: 1, type: 'scalar', fn: ([v]) => humanize(toNumber(v!))},
  humanize1024: {min: 1, max: 1, type: 'scalar', fn: ([v]) => humanize1024(toNumber(v!))},
  humanizePercentage: {min: 1, max: 1, type: 'scalar', fn: ([v]) => humanizePercentage(toNumber(v!))},
  humanizeDuration: {min: 1, max: 1, type: 'scalar', fn: ([v]) => humanizeDuration(toNumber(v!))},
  printf: {
    min: 1,
    max: Infinity,
    type: 'scalar',
    fn: ([f, ...args], ctx) => {
      const format = text(f!)
      // a width or precision is padding the template asks for: bound it like the output
      for (const m of format.matchAll(/%[-+ #0]*(\d+)?(?:\.(\d+))?/g)) {
        if (Number(m[1] ?? 0) > ctx.limits.maxOutput || Number(m[2] ?? 0) > ctx.limits.maxOutput) throw new TemplateRenderError(`printf: width or precision over ${ctx.limits.maxOutput}`)
      }
      return ctx.bounded(sprintf(format, args.map(toTemplateValue)))
    },
  },
  print: {min: 0, max: Infinity, type: 'scalar', fn: (args, ctx) => ctx.bounded(args.map((a) => text(a)).join(''))},
  html: {min: 1, max: 1, type: 'scalar', fn: ([s]) => new SafeHtml(escapeHtml(text(s!)))},
  safeHtml: {min: 1, max: 1, type: 'scalar', fn: ([s]) => new SafeHtml(text(s!))},
  index: {
    min: 2,
    max: 2,
    type: 'any',
    fn: ([m, k]) => {
      if (m instanceof KV) return m.map[text(k!)] ?? ''
      const list = Array.isArray(m) ? m : m instanceof AlertList ? m.items : undefined
      if (!list) throw new TemplateRenderError(`index of ${valueKind(m!)}`)
      const i = toNumber(k!)
      if (!Number.isInteger(i) || i < 0 || i >= list.length) throw new TemplateRenderError(`index ${i} out of range (length ${list.length})`)
      return list[i]!
    },
  },
  stringSlice: {min: 0, max: Infinity, type: 'strings', fn: (args) => args.map((a) => text(a))},
  eq: {min: 2, max: Infinity, type: 'scalar', fn: ([a, ...rest]) => rest.some((b) => compare(a!, b) === 0)},
  ne: {min: 2, max: 2, type: 'scalar', fn: ([a, b]) => compare(a!, b!) !== 0},
  lt: {min: 2, max: 2, type: 'scalar', fn: ([a, b]) => compare(a!, b!) < 0},
  le: {min: 2, max: 2, type: 'scalar', fn: ([a, b]) => compare(a!, b!) <= 0},
  gt: {min: 2, max: 2, type: 'scalar', fn: ([a, b]) => compare(a!, b!) > 0},
  ge: {min: 2, max: 2, type: 'scalar', fn: ([a, b]) => compare(a!, b!) >= 0},
  and: {min: 2, max: Infinity, type: 'any', fn: (args) => args.find((a) => !truthy(a)) ?? args[args.length - 1]!},
  or: {min: 2, max: Infinity, type: 'any', fn: (args) => args.find((a) => truthy(a)) ?? args[args.length - 1]!},
  not: {min: 1, max: 1, type: 'scalar', fn: ([a]) => !truthy(a!)},
}

export const NOTIFY_TEMPLATE_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS)
const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue'])

// ------------------------------------------------------------------------------------ parsing

const MAX_NESTING = 100

/** Parses one template source: its body and the `{{ define }}`s in it. Throws {@link NotifyTemplateError}. */
export function parseTemplateSource(text: string, source: number, opts: {allowDefine?: boolean} = {}): ParsedSource {
  return new Parser(text, source, opts.allowDefine ?? true).parse()
}

class Parser {
  private idx = 0
  private depth = 0
  private items: Item[] = []
  private readonly defines: Define[] = []

  constructor(
    private readonly src: string,
    private readonly source: number,
    private readonly allowDefine: boolean,
  ) {}

  private err(offset: number, reason: string, hint?: string): NotifyTemplateError {
    return new NotifyTemplateError(this.source, offset, reason, hint)
  }

  /** {@link err} for the shared scanner and pipeline parser */
  private readonly fail: Fail = (offset, reason, hint) => this.err(offset, reason, hint)

  parse(): ParsedSource {
    // Go's own lexing: `$x :=`, `range $i, $a :=`, `.5` a number
    this.items = scanTemplate(this.src, {declarations: true, goDots: true}, this.fail)
    const {nodes, stop} = this.block()
    if (stop) throw this.err(stop.start, `unexpected {{ ${stop.toks[0]?.text ?? ''} }} without a matching {{ if }}, {{ range }}, {{ with }} or {{ define }}`)
    return {source: this.source, body: nodes, defines: this.defines}
  }

  private nested<T>(offset: number, parse: () => T): T {
    if (++this.depth > MAX_NESTING) throw this.err(offset, `template nested too deeply (more than ${MAX_NESTING} levels)`)
    try {
      return parse()
    } finally {
      this.depth--
    }
  }

  /** Nodes up to an `else`/`end` (returned as `stop`) or the end of the source. */
  private block(): {nodes: Node[]; stop?: Action} {
    const nodes: Node[] = []
    while (this.idx < this.items.length) {
      const item = this.items[this.idx++]!
      if (item.kind === 'text') {
        nodes.push(item)
        continue
      }
      const {action} = item
      if (action.comment) continue
      const head = action.toks[0]!
      if (head.kind !== 'ident' || !KEYWORDS.has(head.text)) {
        nodes.push({kind: 'action', pipeline: this.pipeline(action.toks, action.start, {declare: true})})
        continue
      }
      switch (head.text) {
        case 'else':
        case 'end':
          return {nodes, stop: action}
        case 'if':
        case 'with':
          nodes.push(this.nested(action.start, () => this.conditional(head.text as 'if' | 'with', action)))
          break
        case 'range':
          nodes.push(this.nested(action.start, () => this.range(action)))
          break
        case 'define':
          this.nested(action.start, () => this.define(action))
          break
        case 'template':
          nodes.push(this.template(action))
          break
        default:
          throw this.err(head.offset, `{{ ${head.text} }} is not supported in notification templates`, 'use define, template, range, if, with and functions')
      }
    }
    return {nodes}
  }

  private conditional(kind: 'if' | 'with', action: Action): Node {
    if (action.toks.length < 2) throw this.err(action.start, `{{ ${kind} }} needs a value`, kind === 'if' ? 'e.g. {{ if .Alerts.Firing }}' : 'e.g. {{ with .CommonAnnotations.summary }}')
    const cond = this.pipeline(action.toks.slice(1), action.start, {declare: kind === 'with'})
    const then = this.block()
    if (!then.stop) throw this.err(action.start, `{{ ${kind} }} without {{ end }}`, 'close it with {{ end }}')
    const head = then.stop.toks
    if (head[0]!.text === 'end') {
      if (head.length > 1) throw this.err(head[1]!.offset, 'unexpected words after end')
      return {kind, cond, then: then.nodes, otherwise: []}
    }
    if (head.length > 1) {
      if (head[1]!.text !== 'if' && head[1]!.text !== 'with') throw this.err(head[1]!.offset, `unexpected '${head[1]!.text}' after else`, 'write {{ else }} or {{ else if … }}')
      const nested = this.nested(then.stop.start, () => this.conditional(head[1]!.text as 'if' | 'with', {start: then.stop!.start, toks: head.slice(1), comment: false}))
      return {kind, cond, then: then.nodes, otherwise: [nested]}
    }
    const otherwise = this.block()
    if (!otherwise.stop || otherwise.stop.toks[0]!.text !== 'end' || otherwise.stop.toks.length > 1) throw this.err(action.start, `{{ ${kind} }} without {{ end }}`, 'close it with {{ end }}')
    return {kind, cond, then: then.nodes, otherwise: otherwise.nodes}
  }

  private range(action: Action): Node {
    if (action.toks.length < 2) throw this.err(action.start, '{{ range }} needs a list', 'e.g. {{ range .Alerts }}')
    const over = this.pipeline(action.toks.slice(1), action.start, {declare: true, rangeDecl: true})
    const body = this.block()
    if (!body.stop) throw this.err(action.start, '{{ range }} without {{ end }}', 'close it with {{ end }}')
    if (body.stop.toks[0]!.text === 'end') {
      if (body.stop.toks.length > 1) throw this.err(body.stop.toks[1]!.offset, 'unexpected words after end')
      return {kind: 'range', over, body: body.nodes, otherwise: []}
    }
    if (body.stop.toks.length > 1) throw this.err(body.stop.toks[1]!.offset, '{{ else }} of a {{ range }} takes no condition')
    const otherwise = this.block()
    if (!otherwise.stop || otherwise.stop.toks[0]!.text !== 'end') throw this.err(action.start, '{{ range }} without {{ end }}', 'close it with {{ end }}')
    return {kind: 'range', over, body: body.nodes, otherwise: otherwise.nodes}
  }

  private define(action: Action): void {
    const [, name, ...rest] = action.toks
    if (!this.allowDefine) throw this.err(action.start, '{{ define }} is not allowed here', 'define named templates under notify.templates')
    if (this.depth > 1) throw this.err(action.start, '{{ define }} must be at the top level of a template, not inside another block')
    if (!name || name.kind !== 'string') throw this.err(name?.offset ?? action.start, '{{ define }} needs a quoted name', 'e.g. {{ define "slack.title" }}')
    if (rest.length > 0) throw this.err(rest[0]!.offset, 'unexpected words after the template name')
    const body = this.block()
    if (!body.stop || body.stop.toks[0]!.text !== 'end') throw this.err(action.start, `{{ define ${name.text} }} without {{ end }}`, 'close it with {{ end }}')
    if (body.stop.toks.length > 1) throw this.err(body.stop.toks[1]!.offset, 'unexpected words after end')
    this.defines.push({name: name.value as string, body: body.nodes, source: this.source, offset: name.offset})
  }

  private template(action: Action): Node {
    const [head, name, ...rest] = action.toks
    if (!name || name.kind !== 'string') throw this.err(name?.offset ?? head!.offset, '{{ template }} needs a quoted name', 'e.g. {{ template "slack.text" . }}')
    const node: Node = {kind: 'template', name: name.value as string, offset: name.offset}
    if (rest.length > 0) node.arg = this.pipeline(rest, rest[0]!.offset, {declare: false})
    return node
  }

  private pipeline(toks: Tok[], start: number, opts: {declare: boolean; rangeDecl?: boolean}): Pipeline {
    const decl: string[] = []
    let i = 0
    const d = toks.findIndex((t) => t.kind === 'declare')
    if (d !== -1) {
      if (!opts.declare) throw this.err(toks[d]!.offset, "a variable cannot be declared here")
      const names = toks.slice(0, d)
      const ok = opts.rangeDecl ? names.length === 1 || (names.length === 3 && names[1]!.kind === 'comma') : names.length === 1
      if (!ok || names.some((t, j) => (j % 2 === 0 ? t.kind !== 'var' || t.text.includes('.') || t.text === '$' : false))) {
        throw this.err(toks[0]!.offset, 'expected a variable before :=', opts.rangeDecl ? 'e.g. {{ range $i, $a := .Alerts }}' : 'e.g. {{ $name := .CommonLabels.alertname }}')
      }
      for (let j = 0; j < names.length; j += 2) decl.push(names[j]!.text)
      i = d + 1
      if (i >= toks.length) throw this.err(toks[d]!.offset, 'missing value after :=')
    }

    const commands = parseCommands<Operand>(toks, i, start, {
      fail: this.fail,
      operand: (t) => this.operand(t),
      group: (inner, offset) => ({kind: 'pipe', pipeline: {commands: inner, decl: [], offset}, offset}),
      nested: (offset, parse) => this.nested(offset, parse),
      describe: describeOperand,
      examples: {call: '{{ printf "%s" .Status }}', pipe: '{{ .Status | toUpper }}'},
    })
    commands.forEach((cmd, j) => {
      const first = cmd.operands[0]!
      if (first.kind === 'fn') checkArity(first, cmd.operands.length - 1 + (j > 0 ? 1 : 0), this.source)
    })
    return {commands, decl, offset: start}
  }

  private operand(t: Tok): Operand {
    return tokenOperand<Operand>(t, {
      fail: this.fail,
      variable: (v) => {
        const [name, ...path] = v.text.split('.')
        return {kind: 'field', base: 'var', name: name!, path, offset: v.offset}
      },
      dot: (d) => ({kind: 'field', base: 'dot', path: d.kind === 'dot' ? [] : d.text.slice(1).split('.'), offset: d.offset}),
      isFunction: (name) => Object.hasOwn(FUNCTIONS, name),
      functions: NOTIFY_TEMPLATE_FUNCTIONS,
      keywords: KEYWORDS,
      keywordHint: (word) => `write {{ ${word} … }}`,
    })
  }
}

function checkArity(fn: {name: string; offset: number}, n: number, source: number): void {
  const spec = FUNCTIONS[fn.name]!
  const problem = arityProblem(fn.name, spec.min, spec.max, n)
  if (problem) throw new NotifyTemplateError(source, fn.offset, problem)
}

function describeOperand(o: Operand): string {
  if (o.kind !== 'field') return describeSharedOperand(o)
  return (o.base === 'var' ? o.name! : '') + (o.path.length > 0 ? '.' + o.path.join('.') : o.base === 'dot' ? '.' : '')
}

// ------------------------------------------------------------------------------------ checking

/** The named templates of a set, by name. */
export type Defines = ReadonlyMap<string, Define>

/**
 * Type-checks a body run with `.` of type `root` (the notification for a title or text): unknown
 * fields, undefined variables and templates. Named templates are checked with the type of what
 * each call passes them. Returns every problem found.
 */
export function checkBody(body: Node[], source: number, defines: Defines, root: 'data' | 'any' = 'data', checked = new Set<string>()): NotifyTemplateError[] {
  const errors: NotifyTemplateError[] = []
  const walk = (nodes: Node[], dot: Type, vars: Map<string, Type>, src: number): void => {
    const scope = new Map(vars)
    for (const n of nodes) {
      switch (n.kind) {
        case 'text':
          break
        case 'action': {
          const t = pipeType(n.pipeline, dot, scope, src)
          for (const name of n.pipeline.decl) scope.set(name, t)
          break
        }
        case 'if':
          pipeType(n.cond, dot, scope, src)
          walk(n.then, dot, scope, src)
          walk(n.otherwise, dot, scope, src)
          break
        case 'with': {
          const t = pipeType(n.cond, dot, scope, src)
          const inner = new Map(scope)
          for (const name of n.cond.decl) inner.set(name, t)
          walk(n.then, t, inner, src)
          walk(n.otherwise, dot, scope, src)
          break
        }
        case 'range': {
          const t = pipeType(n.over, dot, scope, src)
          const el = elementType(t)
          if (el === undefined) {
            errors.push(new NotifyTemplateError(src, n.over.offset, `cannot range over ${describeType(t)}`, 'range over .Alerts, .Alerts.Firing, a label map or a list'))
            continue
          }
          const inner = new Map(scope)
          if (n.over.decl.length === 1) inner.set(n.over.decl[0]!, el)
          if (n.over.decl.length === 2) {
            inner.set(n.over.decl[0]!, 'scalar')
            inner.set(n.over.decl[1]!, el)
          }
          walk(n.body, el, inner, src)
          walk(n.otherwise, dot, scope, src)
          break
        }
        case 'template': {
          const def = defines.get(n.name)
          const argType = n.arg ? pipeType(n.arg, dot, scope, src) : 'scalar'
          if (!def) {
            const guess = closest(n.name, [...defines.keys()])
            errors.push(new NotifyTemplateError(src, n.offset, `no template named "${n.name}"`, guess ? `did you mean "${guess}"?` : defines.size > 0 ? `defined: ${[...defines.keys()].join(', ')}` : 'define it under notify.templates'))
            break
          }
          const key = `${n.name}\u0000${argType}`
          if (checked.has(key)) break
          checked.add(key)
          walk(def.body, argType, new Map([['$', argType]]), def.source)
          break
        }
      }
    }
  }

  const pipeType = (p: Pipeline, dot: Type, vars: Map<string, Type>, src: number): Type => {
    let t: Type = 'any'
    p.commands.forEach((cmd) => {
      const [first, ...rest] = cmd.operands
      for (const o of rest) operandType(o!, dot, vars, src)
      // a regex written in the template is compiled now, not at the first send
      const re = rest[0]
      if (first!.kind === 'fn' && (first!.name === 'reReplaceAll' || first!.name === 'match') && re?.kind === 'literal' && typeof re.value === 'string') {
        try {
          compileLinearRegex(re.value)
        } catch (err) {
          errors.push(new NotifyTemplateError(src, re.offset, `${first!.name}: ${(err as Error).message}`, 'RE2 syntax, as in Alertmanager: no backreferences or lookarounds'))
        }
      }
      t = first!.kind === 'fn' ? FUNCTIONS[first!.name]!.type : operandType(first!, dot, vars, src)
    })
    return t
  }

  const operandType = (o: Operand, dot: Type, vars: Map<string, Type>, src: number): Type => {
    switch (o.kind) {
      case 'literal':
      case 'fn':
        return 'scalar'
      case 'pipe':
        return pipeType(o.pipeline, dot, vars, src)
      case 'field': {
        let t: Type
        if (o.base === 'dot') t = dot
        else {
          const v = vars.get(o.name!)
          if (v === undefined) {
            const guess = closest(o.name!, [...vars.keys()].filter((k) => k !== '$'))
            errors.push(new NotifyTemplateError(src, o.offset, `undefined variable ${o.name}`, guess ? `did you mean ${guess}?` : 'declare it first: {{ $x := … }}'))
            return 'any'
          }
          t = v
        }
        for (const name of o.path) {
          const next = fieldType(t, name)
          if (typeof next !== 'string') {
            errors.push(new NotifyTemplateError(src, o.offset, next.error, next.hint))
            return 'any'
          }
          t = next
        }
        return t
      }
    }
  }

  walk(body, root, new Map([['$', root]]), source)
  return errors
}

// ------------------------------------------------------------------------------------ rendering

interface ExecContext {
  limits: TemplateLimits
  defines: Defines
  steps: number
  depth: number
  html: boolean
  bounded(s: string): string
}

export interface RenderOptions {
  limits?: Partial<TemplateLimits>
  /** escape every action's output for HTML (values through `safeHtml` excepted) */
  html?: boolean
}

/** Renders a body with `.` = `data`. Throws {@link TemplateRenderError} on a runtime error or a limit. */
export function renderBody(body: Node[], defines: Defines, data: Value, opts: RenderOptions = {}): string {
  const limits = {...DEFAULT_LIMITS, ...opts.limits}
  const ctx: ExecContext = {
    limits,
    defines,
    steps: 0,
    depth: 0,
    html: opts.html ?? false,
    bounded(s) {
      if (s.length > limits.maxOutput) throw new TemplateRenderError(`template output over the limit of ${limits.maxOutput} characters`)
      return s
    },
  }
  const out: string[] = []
  let size = 0
  const emit = (s: string) => {
    size += s.length
    if (size > limits.maxOutput) throw new TemplateRenderError(`template output over the limit of ${limits.maxOutput} characters`)
    out.push(s)
  }
  exec(body, data, new Map([['$', data]]), ctx, emit)
  return out.join('')
}

function step(ctx: ExecContext): void {
  if (++ctx.steps > ctx.limits.maxSteps) throw new TemplateRenderError(`template ran more than ${ctx.limits.maxSteps} steps`)
}

function exec(nodes: Node[], dot: Value, vars: Map<string, Value>, ctx: ExecContext, emit: (s: string) => void): void {
  const scope = new Map(vars)
  for (const n of nodes) {
    step(ctx)
    switch (n.kind) {
      case 'text':
        emit(n.text)
        break
      case 'action': {
        const v = runPipeline(n.pipeline, dot, scope, ctx)
        if (n.pipeline.decl.length > 0) scope.set(n.pipeline.decl[0]!, v)
        else emit(printed(v, ctx.html))
        break
      }
      case 'if':
        exec(truthy(runPipeline(n.cond, dot, scope, ctx)) ? n.then : n.otherwise, dot, scope, ctx, emit)
        break
      case 'with': {
        const v = runPipeline(n.cond, dot, scope, ctx)
        if (truthy(v)) {
          const inner = new Map(scope)
          for (const name of n.cond.decl) inner.set(name, v)
          exec(n.then, v, inner, ctx, emit)
        } else exec(n.otherwise, dot, scope, ctx, emit)
        break
      }
      case 'range': {
        const v = runPipeline(n.over, dot, scope, ctx)
        const entries = rangeEntries(v)
        if (entries.length === 0) {
          exec(n.otherwise, dot, scope, ctx, emit)
          break
        }
        for (const [key, item] of entries) {
          step(ctx)
          const inner = new Map(scope)
          if (n.over.decl.length === 1) inner.set(n.over.decl[0]!, item)
          if (n.over.decl.length === 2) {
            inner.set(n.over.decl[0]!, key)
            inner.set(n.over.decl[1]!, item)
          }
          exec(n.body, item, inner, ctx, emit)
        }
        break
      }
      case 'template': {
        const def = ctx.defines.get(n.name)
        if (!def) throw new TemplateRenderError(`no template named "${n.name}"`)
        const arg = n.arg ? runPipeline(n.arg, dot, scope, ctx) : null
        if (++ctx.depth > ctx.limits.maxDepth) throw new TemplateRenderError(`templates call each other more than ${ctx.limits.maxDepth} deep`)
        exec(def.body, arg, new Map([['$', arg]]), ctx, emit)
        ctx.depth--
        break
      }
    }
  }
}

function rangeEntries(v: Value): Array<[Value, Value]> {
  if (v === null) return []
  if (Array.isArray(v)) return v.map((x, i) => [i, x])
  if (v instanceof AlertList) return v.items.map((x, i) => [i, x])
  if (v instanceof KV) return Object.keys(v.map).sort().map((k) => [k, v.map[k]!])
  throw new TemplateRenderError(`cannot range over ${valueKind(v)}`)
}

function runPipeline(p: Pipeline, dot: Value, vars: Map<string, Value>, ctx: ExecContext): Value {
  let piped: Value | undefined
  for (const cmd of p.commands) {
    const [first, ...rest] = cmd.operands
    if (first!.kind === 'fn') {
      step(ctx)
      const args = rest.map((o) => operandValue(o, dot, vars, ctx))
      if (piped !== undefined) args.push(piped)
      try {
        piped = FUNCTIONS[first!.name]!.fn(args, ctx)
      } catch (err) {
        if (err instanceof TemplateRenderError) throw err
        throw new TemplateRenderError(`${first!.name}: ${(err as Error).message}`)
      }
    } else piped = operandValue(first!, dot, vars, ctx)
  }
  return piped ?? null
}

function operandValue(o: Operand, dot: Value, vars: Map<string, Value>, ctx: ExecContext): Value {
  switch (o.kind) {
    case 'literal':
      return o.value
    case 'fn':
      return FUNCTIONS[o.name]!.fn([], ctx)
    case 'pipe':
      return runPipeline(o.pipeline, dot, vars, ctx)
    case 'field': {
      let v: Value
      if (o.base === 'dot') v = dot
      else {
        if (!vars.has(o.name!)) throw new TemplateRenderError(`undefined variable ${o.name}`)
        v = vars.get(o.name!)!
      }
      for (const name of o.path) v = field(v, name)
      return v
    }
  }
}

function field(v: Value, name: string): Value {
  if (v instanceof KV) {
    if (name === 'SortedPairs') return Object.keys(v.map).sort().map((k) => new Struct('pair', {Name: k, Value: v.map[k]!}))
    if (name === 'Names') return Object.keys(v.map).sort()
    if (name === 'Values') return Object.keys(v.map).sort().map((k) => v.map[k]!)
    // a missing label reads empty
    return v.map[name] ?? ''
  }
  if (v instanceof Struct) {
    if (!(name in v.fields)) throw new TemplateRenderError(`unknown field .${name} of ${v.type === 'data' ? 'the notification' : `a ${v.type}`}`)
    return v.fields[name]!
  }
  if (v instanceof AlertList) {
    if (name === 'Firing') return new AlertList(v.items.filter((a) => a.fields.Status === 'firing'))
    if (name === 'Resolved') return new AlertList(v.items.filter((a) => a.fields.Status === 'resolved'))
  }
  throw new TemplateRenderError(`.${name}: ${valueKind(v)} has no fields`)
}

// ------------------------------------------------------------------------------------ values

function valueKind(v: Value): string {
  if (v === null) return 'nil'
  if (Array.isArray(v) || v instanceof AlertList) return 'a list'
  if (v instanceof KV) return 'a label map'
  if (v instanceof Struct) return v.type === 'data' ? 'the notification' : `a ${v.type}`
  if (v instanceof SafeHtml) return 'a string'
  return `a ${typeof v}`
}

function lengthOf(v: Value): number {
  if (Array.isArray(v)) return v.length
  if (v instanceof AlertList) return v.items.length
  if (v instanceof KV) return Object.keys(v.map).length
  if (typeof v === 'string') return v.length
  if (v instanceof SafeHtml) return v.text.length
  throw new TemplateRenderError(`len of ${valueKind(v)}`)
}

export function truthy(v: Value): boolean {
  if (v === null || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (v instanceof AlertList) return v.items.length > 0
  if (v instanceof KV) return Object.keys(v.map).length > 0
  if (v instanceof SafeHtml) return v.text !== ''
  return !(typeof v === 'number' && Number.isNaN(v))
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'number' || typeof b === 'number') return compareNumbers(toNumber(a), toNumber(b))
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b ? 0 : Number.NaN
  return compareStrings(text(a), text(b))
}

function toNumber(v: Value): number {
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0
  const s = typeof v === 'string' ? v : v instanceof SafeHtml ? v.text : undefined
  if (s !== undefined && s.trim() !== '' && !Number.isNaN(Number(s.trim()))) return Number(s.trim())
  throw new TemplateRenderError(`expected a number, got ${typeof v === 'string' ? JSON.stringify(v) : valueKind(v)}`)
}

function toTemplateValue(v: Value): TemplateValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  if (v instanceof KV) return v.map
  return text(v)
}

/** How a value prints (Go's %v for what templates see). */
export function text(v: Value): string {
  if (v === null) return '<no value>'
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v)
  if (typeof v === 'boolean') return String(v)
  if (v instanceof SafeHtml) return v.text
  if (v instanceof KV) return `map[${Object.keys(v.map).sort().map((k) => `${k}:${v.map[k]}`).join(' ')}]`
  if (v instanceof AlertList) return `[${v.items.map(text).join(' ')}]`
  if (v instanceof Struct) return v.type === 'pair' ? `{${text(v.fields.Name!)} ${text(v.fields.Value!)}}` : `{${v.type}}`
  return `[${v.map(text).join(' ')}]`
}

function printed(v: Value, html: boolean): string {
  if (!html || v instanceof SafeHtml) return text(v)
  return escapeHtml(text(v))
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;'})[c]!)
}
