import {closest} from '../did-you-mean.js'
import {compileLinearRegex, replaceAllLinear} from '../model/matcher.js'
import {compareNumbers, compareStrings} from '../template/compare.js'
import {arityProblem, describeSharedOperand, parseCommands, tokenOperand, type CommandOf, type SharedOperand} from '../template/pipeline.js'
import {scanTemplate, type Action, type Fail, type Item, type Tok} from '../template/scan.js'

/**
 * Alert templates: the subset of Go's text/template that Prometheus rule annotations use, so rule
 * files carry over. `{{ $labels.host }}`, `{{ $value }}`, `{{ $value | humanize }}`,
 * `{{ printf "%.1f" $value }}`, `{{ index $labels "kube-pod" }}`, `{{ if gt $value 90.0 }}…{{ else }}…{{ end }}`,
 * `{{- … -}}` trimming and `{{/* comments *\/}}`. Templates are compiled once when a rule file is
 * loaded (errors carry the offset into the template text); rendering never throws — a failure
 * renders as `<error expanding template: …>`, as Prometheus does.
 */

export type TemplateValue = string | number | boolean | null | Record<string, string>

export interface TemplateData {
  labels: Record<string, string>
  value: number | null
  externalLabels?: Record<string, string>
}

/** A problem in a template, at a 0-based offset into its text. */
export class TemplateError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(reason)
    this.name = 'TemplateError'
  }
}

const templateError: Fail = (offset, reason, hint) => new TemplateError(offset, reason, hint)

/** A label a template reads (`$labels.host`, `.Labels.host`, `index $labels "host"`), with where it is written. */
export interface LabelRef {
  name: string
  offset: number
  length: number
}

type Operand = {kind: 'var'; name: string; path: string[]; offset: number} | {kind: 'dot'; path: string[]; offset: number} | SharedOperand<TemplateValue, Pipeline>

type Command = CommandOf<Operand>

type Pipeline = Command[]

type Node =
  | {kind: 'text'; text: string}
  | {kind: 'action'; pipeline: Pipeline}
  | {kind: 'if'; cond: Pipeline; then: Node[]; otherwise: Node[]}

export interface CompiledTemplate {
  readonly source: string
  /** labels the template reads, for checking them against what the rule's expression yields */
  readonly labelRefs: LabelRef[]
  render(data: TemplateData): string
}

type Fn = (...args: TemplateValue[]) => TemplateValue

const FUNCTIONS: Record<string, {min: number; max: number; fn: Fn}> = {
  humanize: {min: 1, max: 1, fn: (v) => humanize(toNumber(v))},
  humanize1024: {min: 1, max: 1, fn: (v) => humanize1024(toNumber(v))},
  humanizePercentage: {min: 1, max: 1, fn: (v) => humanizePercentage(toNumber(v))},
  humanizeDuration: {min: 1, max: 1, fn: (v) => humanizeDuration(toNumber(v))},
  humanizeTimestamp: {min: 1, max: 1, fn: (v) => humanizeTimestamp(toNumber(v))},
  printf: {min: 1, max: Infinity, fn: (f, ...args) => sprintf(String(f ?? ''), args)},
  toUpper: {min: 1, max: 1, fn: (s) => toText(s).toUpperCase()},
  toLower: {min: 1, max: 1, fn: (s) => toText(s).toLowerCase()},
  title: {min: 1, max: 1, fn: (s) => toText(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase())},
  // RE2, as in Prometheus: label values are not trusted input for a backtracking engine
  reReplaceAll: {min: 3, max: 3, fn: (re, repl, s) => replaceAllLinear(toText(re), toText(s), toText(repl))},
  match: {min: 2, max: 2, fn: (re, s) => compileLinearRegex(toText(re)).test(toText(s))},
  index: {
    min: 2,
    max: 2,
    fn: (m, k) => {
      if (m === null || typeof m !== 'object') throw new Error(`index of a ${typeName(m)}`)
      return m[toText(k)] ?? ''
    },
  },
  len: {min: 1, max: 1, fn: (v) => (v !== null && typeof v === 'object' ? Object.keys(v).length : toText(v).length)},
  eq: {min: 2, max: 2, fn: (a, b) => compare(a, b) === 0},
  ne: {min: 2, max: 2, fn: (a, b) => compare(a, b) !== 0},
  lt: {min: 2, max: 2, fn: (a, b) => compare(a, b) < 0},
  le: {min: 2, max: 2, fn: (a, b) => compare(a, b) <= 0},
  gt: {min: 2, max: 2, fn: (a, b) => compare(a, b) > 0},
  ge: {min: 2, max: 2, fn: (a, b) => compare(a, b) >= 0},
  and: {min: 2, max: Infinity, fn: (...args) => args.find((a) => !truthy(a)) ?? args[args.length - 1]},
  or: {min: 2, max: Infinity, fn: (...args) => args.find((a) => truthy(a)) ?? args[args.length - 1]},
  not: {min: 1, max: 1, fn: (a) => !truthy(a)},
}

export const TEMPLATE_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS)
const VARIABLES = ['$labels', '$value', '$externalLabels', '$']
const DOT_FIELDS = ['Labels', 'Value', 'ExternalLabels']
/** keywords that may not stand as an operand (the others read as unknown functions) */
const OWN_ACTION_KEYWORDS: ReadonlySet<string> = new Set(['if', 'else', 'end'])
const UNSUPPORTED_KEYWORDS = new Set(['range', 'with', 'define', 'template', 'block', 'break', 'continue'])

/** Compiles a template; throws {@link TemplateError} at the offending offset. */
export function compileTemplate(source: string): CompiledTemplate {
  const nodes = new TemplateParser(source).parse()
  const labelRefs: LabelRef[] = []
  collectLabelRefs(nodes, labelRefs)
  if (nodes.every((n) => n.kind === 'text')) {
    // the common case (no actions at all) renders without a walk
    const text = nodes.map((n) => (n.kind === 'text' ? n.text : '')).join('')
    return {source, labelRefs, render: () => text}
  }

  return {
    source,
    labelRefs,
    render(data) {
      try {
        return renderNodes(nodes, data)
      } catch (error) {
        return `<error expanding template: ${(error as Error).message}>`
      }
    },
  }
}

// ------------------------------------------------------------------------------------ parsing

/** Nested {{ if }}s and parentheses deeper than this are refused: parsing and rendering recurse along them. */
export const MAX_TEMPLATE_DEPTH = 100

class TemplateParser {
  /** current {{ if }} / parenthesis nesting */
  private depth = 0
  private items: Item[] = []
  private idx = 0

  constructor(private readonly src: string) {}

  parse(): Node[] {
    // rule annotations: no variable declarations, and `.name` runs are label paths (`.Labels.5xx`)
    this.items = scanTemplate(this.src, {declarations: false, goDots: false}, templateError)
    const {nodes, stop} = this.block()
    if (stop) throw new TemplateError(stop.start, `unexpected {{ ${stop.toks[0]?.text ?? ''} }} without a matching {{ if }}`)
    return nodes
  }

  /** Nodes up to an `else`/`end` (returned as `stop`) or the end of the template. */
  private block(): {nodes: Node[]; stop?: Action} {
    const nodes: Node[] = []
    while (this.idx < this.items.length) {
      const item = this.items[this.idx++]
      if (item.kind === 'text') {
        nodes.push(item)
        continue
      }

      const {action} = item
      if (action.comment) continue
      const head = action.toks[0]
      if (head.kind === 'ident' && (head.text === 'else' || head.text === 'end')) return {nodes, stop: action}
      if (head.kind === 'ident' && head.text === 'if') {
        nodes.push(this.ifNode(action))
        continue
      }

      if (head.kind === 'ident' && UNSUPPORTED_KEYWORDS.has(head.text)) {
        throw new TemplateError(head.offset, `{{ ${head.text} }} is not supported in alert templates`, 'use if/else/end, functions and $labels / $value')
      }

      nodes.push({kind: 'action', pipeline: this.pipeline(action.toks, action.start)})
    }

    return {nodes}
  }

  private ifNode(action: Action): Node {
    return this.nested(action.start, () => this.ifNodeAt(action))
  }

  private nested<T>(offset: number, parse: () => T): T {
    if (++this.depth > MAX_TEMPLATE_DEPTH) throw new TemplateError(offset, `template nested too deeply (more than ${MAX_TEMPLATE_DEPTH} levels)`, 'split it, or use else if')
    try {
      return parse()
    } finally {
      this.depth--
    }
  }

  private ifNodeAt(action: Action): Node {
    if (action.toks.length < 2) throw new TemplateError(action.start, '{{ if }} needs a condition', 'e.g. {{ if gt $value 90.0 }}')
    const cond = this.pipeline(action.toks.slice(1), action.start)
    const then = this.block()
    if (!then.stop) throw new TemplateError(action.start, '{{ if }} without {{ end }}', 'close it with {{ end }}')
    const head = then.stop.toks
    if (head[0].text === 'end') {
      if (head.length > 1) throw new TemplateError(head[1].offset, 'unexpected words after end')
      return {kind: 'if', cond, then: then.nodes, otherwise: []}
    }

    // else / else if …
    if (head.length > 1) {
      if (head[1].text !== 'if') throw new TemplateError(head[1].offset, `unexpected '${head[1].text}' after else`, 'write {{ else }} or {{ else if … }}')
      const nested = this.ifNode({start: then.stop.start, toks: head.slice(1), comment: false})
      return {kind: 'if', cond, then: then.nodes, otherwise: [nested]}
    }

    const otherwise = this.block()
    if (!otherwise.stop || otherwise.stop.toks[0].text !== 'end') throw new TemplateError(action.start, '{{ if }} without {{ end }}', 'close it with {{ end }}')
    return {kind: 'if', cond, then: then.nodes, otherwise: otherwise.nodes}
  }

  private pipeline(toks: Tok[], start: number): Pipeline {
    return parseCommands<Operand>(toks, 0, start, {
      fail: templateError,
      operand: (t) => this.operand(t),
      group: (pipeline, offset) => ({kind: 'pipe', pipeline, offset}),
      nested: (offset, parse) => this.nested(offset, parse),
      describe: describeOperand,
      command: ({operands: [first, ...args]}, piped) => {
        if (first.kind === 'fn') checkArity(first, args.length, piped)
      },
      examples: {call: '{{ printf "%.1f" $value }}', pipe: '{{ $value | humanize }}'},
    })
  }

  private operand(t: Tok): Operand {
    return tokenOperand<Operand>(t, {
      fail: templateError,
      variable: (v) => this.variable(v),
      dot: (d) => (d.kind === 'dot' ? {kind: 'dot', path: [], offset: d.offset} : this.dotOperand(d.text.slice(1).split('.'), d.offset, d.text)),
      isFunction: (name) => Object.hasOwn(FUNCTIONS, name),
      functions: TEMPLATE_FUNCTIONS,
      keywords: OWN_ACTION_KEYWORDS,
      keywordHint: (word) => `write {{ ${word} }}`,
    })
  }

  private variable(t: Tok): Operand {
    const [name, ...path] = t.text.split('.')
    if (!VARIABLES.includes(name)) {
      const guess = closest(name, VARIABLES.filter((v) => v !== '$'))
      throw new TemplateError(t.offset, `unknown variable ${name}`, guess ? `did you mean ${guess}?` : `variables: ${VARIABLES.join(', ')}`)
    }

    if (name === '$value' && path.length > 0) throw new TemplateError(t.offset, '$value is a number: it has no fields')
    if ((name === '$labels' || name === '$externalLabels') && path.length > 1) throw new TemplateError(t.offset, `${name}.${path[0]} is a string: it has no fields`)
    if (name === '$') return this.dotOperand(path, t.offset, t.text)
    return {kind: 'var', name, path, offset: t.offset}
  }

  private dotOperand(path: string[], offset: number, text: string): Operand {
    if (path.length > 0 && !DOT_FIELDS.includes(path[0])) {
      const guess = closest(path[0], DOT_FIELDS)
      throw new TemplateError(offset, `unknown field .${path[0]} in ${text}`, guess ? `did you mean .${guess}?` : `fields: ${DOT_FIELDS.map((f) => '.' + f).join(', ')}`)
    }

    return {kind: 'dot', path, offset}
  }
}

function checkArity(fn: {name: string; offset: number}, args: number, piped: boolean): void {
  const spec = FUNCTIONS[fn.name]
  const problem = arityProblem(fn.name, spec.min, spec.max, args + (piped ? 1 : 0))
  if (problem) throw new TemplateError(fn.offset, problem)
}

function describeOperand(o: Operand): string {
  if (o.kind === 'var') return [o.name, ...o.path].join('.')
  if (o.kind === 'dot') return '.' + o.path.join('.')
  return describeSharedOperand(o)
}

function collectLabelRefs(nodes: Node[], out: LabelRef[]): void {
  const fromPipeline = (p: Pipeline): void => {
    for (const cmd of p) {
      const ops = cmd.operands
      for (const o of ops) {
        if (o.kind === 'var' && o.name === '$labels' && o.path.length === 1) out.push({name: o.path[0], offset: o.offset, length: 8 + o.path[0].length})
        if (o.kind === 'dot' && o.path[0] === 'Labels' && o.path.length === 2) out.push({name: o.path[1], offset: o.offset, length: 8 + o.path[1].length})
        if (o.kind === 'pipe') fromPipeline(o.pipeline)
      }

      // index $labels "kube-pod"
      if (ops[0]?.kind === 'fn' && ops[0].name === 'index' && ops.length === 3) {
        const [, m, k] = ops
        const isLabels = (m.kind === 'var' && m.name === '$labels' && m.path.length === 0) || (m.kind === 'dot' && m.path.length === 1 && m.path[0] === 'Labels')
        if (isLabels && k.kind === 'literal' && typeof k.value === 'string') out.push({name: k.value, offset: k.offset, length: JSON.stringify(k.value).length})
      }
    }
  }

  for (const n of nodes) {
    if (n.kind === 'action') fromPipeline(n.pipeline)
    else if (n.kind === 'if') {
      fromPipeline(n.cond)
      collectLabelRefs(n.then, out)
      collectLabelRefs(n.otherwise, out)
    }
  }
}

// ------------------------------------------------------------------------------------ rendering

function renderNodes(nodes: Node[], data: TemplateData): string {
  let out = ''
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text
    else if (n.kind === 'action') out += toText(runPipeline(n.pipeline, data))
    else out += renderNodes(truthy(runPipeline(n.cond, data)) ? n.then : n.otherwise, data)
  }

  return out
}

function runPipeline(p: Pipeline, data: TemplateData): TemplateValue {
  let piped: TemplateValue | undefined
  for (const cmd of p) {
    const [first, ...rest] = cmd.operands
    if (first.kind === 'fn') {
      const args = rest.map((o) => operandValue(o, data))
      if (piped !== undefined) args.push(piped)
      piped = FUNCTIONS[first.name].fn(...args)
    } else {
      piped = operandValue(first, data)
    }
  }

  return piped ?? null
}

function operandValue(o: Operand, data: TemplateData): TemplateValue {
  switch (o.kind) {
    case 'literal':
      return o.value
    case 'pipe':
      return runPipeline(o.pipeline, data)
    case 'fn':
      return FUNCTIONS[o.name].fn()
    case 'var':
      if (o.name === '$value') return data.value
      return field(o.name === '$labels' ? data.labels : (data.externalLabels ?? {}), o.path)
    case 'dot': {
      if (o.path.length === 0) return JSON.stringify({Labels: data.labels, Value: data.value})
      const [head, ...rest] = o.path
      if (head === 'Value') return data.value
      return field(head === 'Labels' ? data.labels : (data.externalLabels ?? {}), rest)
    }
  }
}

function field(map: Record<string, string>, path: string[]): TemplateValue {
  // a missing label renders empty (Prometheus' missingkey=zero)
  return path.length === 0 ? map : (map[path[0]] ?? '')
}

function truthy(v: TemplateValue): boolean {
  if (v === null || v === false || v === 0 || v === '') return false
  if (typeof v === 'object') return Object.keys(v).length > 0
  return !(typeof v === 'number' && Number.isNaN(v))
}

function typeName(v: TemplateValue): string {
  return v === null ? 'nil' : typeof v === 'object' ? 'map' : typeof v
}

function compare(a: TemplateValue, b: TemplateValue): number {
  if (typeof a === 'number' || typeof b === 'number') return compareNumbers(toNumber(a), toNumber(b))
  return compareStrings(toText(a), toText(b))
}

function toNumber(v: TemplateValue): number {
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'string') {
    const n = Number(v.trim())
    if (v.trim() !== '' && !Number.isNaN(n)) return n
  }

  throw new Error(`expected a number, got ${v === null ? 'nil' : JSON.stringify(v)}`)
}

/** How a value prints: numbers as Go's %v would (shortest form), nil as `<no value>`. */
export function toText(v: TemplateValue): string {
  if (v === null) return '<no value>'
  if (typeof v === 'number') return formatFloat(v)
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${v[k]}`).join(' ')}]`
  return String(v)
}

function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf'
  const abs = Math.abs(v)
  if (abs !== 0 && (abs >= 1e21 || abs < 1e-4)) return goExp(v.toExponential())
  return String(v)
}

// ------------------------------------------------------------------------------------ Prometheus' humanize functions

/** Go's `%.<p>g`: p significant digits, exponent form when the exponent is < -4 or ≥ p, trailing zeros dropped. */
export function formatG(v: number, precision = 4): string {
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf'
  if (v === 0) return '0'
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(precision)))))
  if (exp < -4 || exp >= precision) return goExp(Number(v.toPrecision(precision)).toExponential())
  return String(Number(v.toPrecision(precision)))
}

/** JS `1.5e+7` → Go `1.5e+07` (at least two exponent digits). */
function goExp(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2')
}

export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return formatG(v)
  let prefix = ''
  if (Math.abs(v) >= 1) {
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break
      prefix = p
      v /= 1000
    }
  } else {
    for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
      if (Math.abs(v) >= 1) break
      prefix = p
      v *= 1000
    }
  }

  return formatG(v) + prefix
}

export function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return formatG(v)
  let prefix = ''
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break
    prefix = p
    v /= 1024
  }

  return formatG(v) + prefix
}

/** 0.953 → `95.3%` */
export function humanizePercentage(v: number): string {
  return formatG(v * 100) + '%'
}

/** Seconds → `1d 2h 3m 4s`; below a second `12.5ms`. */
export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return formatG(v)
  if (v < 0) return '-' + humanizeDuration(-v)
  if (v === 0) return '0s'
  if (v < 1) {
    if (v >= 1e-3) return formatG(v * 1e3) + 'ms'
    if (v >= 1e-6) return formatG(v * 1e6) + 'us'
    return formatG(v * 1e9) + 'ns'
  }

  const whole = Math.trunc(v)
  const seconds = whole % 60
  const minutes = Math.trunc(whole / 60) % 60
  const hours = Math.trunc(whole / 3600) % 24
  const days = Math.trunc(whole / 86_400)
  if (days !== 0) return `${days}d ${hours}h ${minutes}m ${seconds}s`
  if (hours !== 0) return `${hours}h ${minutes}m ${seconds}s`
  if (minutes !== 0) return `${minutes}m ${seconds}s`
  return formatG(v) + 's'
}

/** Unix seconds → `2026-11-25 09:00:00 +0000 UTC` (Go's time.Time format, in UTC). */
export function humanizeTimestamp(v: number): string {
  if (!Number.isFinite(v)) return formatG(v)
  const iso = new Date(v * 1000).toISOString()
  const frac = iso.slice(20, 23).replace(/0+$/, '')
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? '.' + frac : ''} +0000 UTC`
}

/** Go's fmt verbs that templates use: %s %v %d %f %e %g %x %q %t %% with flags, width and precision. */
export function sprintf(format: string, args: TemplateValue[]): string {
  let next = 0
  return format.replace(/%([-+ #0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (whole, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%'
    if (next >= args.length) return `%!${verb}(MISSING)`
    const arg = args[next++]
    const p = prec === undefined ? undefined : Number(prec)
    let s: string
    switch (verb) {
      case 'd':
        s = typeof arg === 'number' && Number.isInteger(arg) ? String(arg) : `%!d(${typeName(arg)}=${toText(arg)})`
        break
      case 'f':
      case 'F':
        s = typeof arg === 'number' ? arg.toFixed(p ?? 6) : `%!f(${typeName(arg)}=${toText(arg)})`
        break
      case 'e':
        s = typeof arg === 'number' ? goExp(arg.toExponential(p ?? 6)) : `%!e(${typeName(arg)}=${toText(arg)})`
        break
      case 'g':
        s = typeof arg === 'number' ? (p === undefined ? formatFloat(arg) : formatG(arg, p || 1)) : `%!g(${typeName(arg)}=${toText(arg)})`
        break
      case 'x':
        s = typeof arg === 'number' && Number.isInteger(arg) ? arg.toString(16) : [...Buffer.from(toText(arg))].map((b) => b.toString(16).padStart(2, '0')).join('')
        break
      case 'q':
        s = JSON.stringify(toText(arg))
        break
      case 't':
        s = typeof arg === 'boolean' ? String(arg) : `%!t(${typeName(arg)}=${toText(arg)})`
        break
      case 's':
      case 'v':
        s = toText(arg)
        if (p !== undefined && verb === 's') s = s.slice(0, p)
        break
      default:
        return `%!${verb}(${typeName(arg)}=${toText(arg)})`
    }

    if (flags.includes('+') && typeof arg === 'number' && arg >= 0 && 'dfeg'.includes(verb)) s = '+' + s
    const w = width === undefined ? 0 : Number(width)
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : flags.includes('0') && typeof arg === 'number' ? s.padStart(w, '0') : s.padStart(w)
    void whole
    return s
  })
}
