import {isAlias, isMap, isNode, isPair, isScalar, isSeq, type Document, type LineCounter, type Node} from 'yaml'
import type {z} from 'zod'
import {LocatedError, type SourcePosition} from '../errors.js'
import {REDACTED, secretForms} from './redact.js'
import {didYouMean} from '../did-you-mean.js'

export {didYouMean, editDistance} from '../did-you-mean.js'

/**
 * Turning validation issues into `file:line:col: message` problems that point at the YAML node the
 * user wrote, with a hint (did-you-mean for misspelt keys, the allowed keys otherwise).
 */

export interface ConfigProblem {
  position: SourcePosition
  /** Without the `file:line:col:` prefix. */
  message: string
  hint?: string
}

export type ConfigPath = ReadonlyArray<string | number>

const MAX_DETAIL_LINES = 20

export function formatProblem(p: ConfigProblem, withHint = true): string {
  const base = `${p.position.file}:${p.position.line}:${p.position.col}: ${p.message}`
  return withHint && p.hint ? `${base} (${p.hint})` : base
}

/**
 * A config file with one or more problems. The message is the first problem (by position);
 * `details` lists the others, `problems` has them all for `mon config validate --json`.
 */
export class ConfigError extends LocatedError {
  readonly problems: ConfigProblem[]

  constructor(problems: ConfigProblem[]) {
    const sorted = [...problems].sort((a, b) => a.position.line - b.position.line || a.position.col - b.position.col)
    const [first, ...rest] = sorted
    if (!first) throw new Error('ConfigError needs at least one problem')
    const shown = rest.slice(0, MAX_DETAIL_LINES).map((p) => formatProblem(p))
    if (rest.length > MAX_DETAIL_LINES) shown.push(`… and ${rest.length - MAX_DETAIL_LINES} more`)
    super(first.position, first.message, {hint: first.hint, details: shown.length > 0 ? shown.join('\n') : undefined})
    this.name = 'ConfigError'
    this.problems = sorted
  }
}

/** `inputs.http[0].url`; keys that are not plain identifiers are quoted: `headers["X.Y"]`. */
export function formatPath(path: ConfigPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}

/** Stands in for a value that came from `${…}`: messages name its kind of origin, never the value. */
const INTERPOLATED_VALUE = Symbol('interpolated value')
const INTERPOLATED_TEXT = 'a value from ${…} (not shown)'

/** `string "abc"`, `number 5`, `a list`, `a map`, `nothing`: how a value is named in messages. */
export function describeValue(value: unknown): string {
  if (value === INTERPOLATED_VALUE) return INTERPOLATED_TEXT
  if (value === undefined || value === null) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value)}`
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`
  return typeof value
}

const EXPECTED_TEXT: Record<string, string> = {
  string: 'a string (e.g. "text")',
  number: 'a number (e.g. 5000)',
  int: 'an integer (e.g. 5000)',
  boolean: 'true or false',
  array: 'a list (e.g. [a, b] or one "- item" per line)',
  object: 'a map of options (key: value lines)',
  record: 'a map of options (key: value lines)',
}

/** A per-parse zod error map: wording for zod's generic issues (schemas with their own message win). */
export function genericIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const input = issue.input
  switch (issue.code) {
    case 'invalid_type': {
      const expected = (issue as {expected?: string}).expected ?? 'something else'
      return `expected ${EXPECTED_TEXT[expected] ?? expected}, got ${describeValue(input)}`
    }
    case 'invalid_value': {
      const values = (issue as {values?: unknown[]}).values ?? []
      return `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(input)}`
    }
    case 'too_small': {
      const {minimum, origin} = issue as {minimum?: unknown; origin?: string}
      if (origin === 'array') return `needs at least ${String(minimum)} item(s)`
      if (origin === 'string') return `must not be empty`
      return `must be at least ${String(minimum)}, got ${describeValue(input)}`
    }
    case 'too_big': {
      const {maximum, origin} = issue as {maximum?: unknown; origin?: string}
      if (origin === 'array') return `takes at most ${String(maximum)} item(s)`
      return `must be at most ${String(maximum)}, got ${describeValue(input)}`
    }
    default:
      return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Finding YAML nodes and source positions.

interface Located {
  /** The deepest node found along the path. */
  node?: Node
  /** The key node of the last pair walked into, when the last segment was a map key. */
  keyNode?: Node
  /** How many path segments were resolved. */
  depth: number
}

function findPair(map: unknown, key: string | number) {
  if (!isMap(map)) return undefined
  return map.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key))
}

/** Walk the document along `path` as far as it goes (aliases followed). */
export function locateNode(doc: Document, path: ConfigPath): Located {
  let node: unknown = doc.contents
  let keyNode: Node | undefined
  let depth = 0
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc)
    if (isMap(node)) {
      const pair = findPair(node, seg)
      if (!pair) break
      keyNode = isNode(pair.key) ? pair.key : undefined
      if (!isNode(pair.value)) {
        // `key:` with nothing after it: the key is the best place to point at.
        return {node: keyNode ?? (node as Node), keyNode, depth: depth + 1}
      }
      node = pair.value
    } else if (isSeq(node) && Number.isInteger(Number(seg))) {
      const item = node.items[Number(seg)]
      if (!isNode(item)) break
      keyNode = undefined
      node = item
    } else break
    depth++
  }
  return {node: isNode(node) ? node : undefined, keyNode: depth === path.length ? keyNode : undefined, depth}
}

export class PositionFinder {
  constructor(
    readonly file: string,
    private readonly lineCounter: LineCounter,
  ) {}

  at(offset: number): SourcePosition {
    const {line, col} = this.lineCounter.linePos(offset)
    return {file: this.file, line, col}
  }

  of(node: Node | undefined): SourcePosition {
    const offset = node?.range?.[0]
    return offset === undefined ? {file: this.file, line: 1, col: 1} : this.at(offset)
  }
}

/** Deeper than any real config or rule file; interpolation, validation and redaction recurse along the nesting. */
export const MAX_CONFIG_DEPTH = 64
export const TOO_DEEP = `nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)`
export const TOO_DEEP_HINT = 'configs and rule files are a few levels deep; check for runaway brackets or indentation'

/**
 * What the YAML library leaves for later and then reports without a place: an alias without an
 * anchor before it (`name: *a`), and nesting deep enough to exhaust the stack further on.
 * Walked with an explicit stack, so the walk itself cannot overflow.
 */
export function yamlStructureProblems(doc: Document, positions: PositionFinder): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const pending: Array<{node: unknown; depth: number}> = [{node: doc.contents, depth: 0}]
  while (pending.length > 0) {
    const {node, depth} = pending.pop()!
    if (isAlias(node)) {
      if (node.resolve(doc) === undefined) {
        problems.push({position: positions.of(node), message: `invalid YAML: unresolved alias *${node.source}`, hint: `set the anchor &${node.source} on a value before this alias`})
      }
      continue
    }
    if (!isMap(node) && !isSeq(node)) continue
    if (depth >= MAX_CONFIG_DEPTH) {
      problems.push({position: positions.of(node as Node), message: TOO_DEEP, hint: TOO_DEEP_HINT})
      return problems
    }
    for (const item of node.items) {
      if (isPair(item)) pending.push({node: item.key, depth: depth + 1}, {node: item.value, depth: depth + 1})
      else pending.push({node: item, depth: depth + 1})
    }
  }
  return problems
}

// ---------------------------------------------------------------------------------------------
// zod issues → problems.

type AnySchema = z.core.$ZodType
type Def = {type: string; [k: string]: unknown}

function defOf(schema: AnySchema): Def {
  return (schema as unknown as {_zod: {def: Def}})._zod.def
}

function getAt(data: unknown, path: ConfigPath): unknown {
  let v = data
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[seg as string]
  }
  return v
}

/** Strip wrappers (optional, default, pipes...) down to the schema that does the work. */
function unwrap(schema: AnySchema): AnySchema {
  for (let i = 0; i < 20; i++) {
    const def = defOf(schema)
    if (['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional'].includes(def.type)) {
      schema = def.innerType as AnySchema
    } else if (def.type === 'pipe') {
      // preprocess = pipe(transform, schema); .transform() = pipe(schema, transform)
      const inner = def.in as AnySchema
      schema = defOf(inner).type === 'transform' ? (def.out as AnySchema) : inner
    } else if (def.type === 'lazy') {
      schema = (def.getter as () => AnySchema)()
    } else return schema
  }
  return schema
}

interface KeyInfo {
  allowed: string[]
  /** For a discriminated union: the keys each other variant would allow, by discriminator value. */
  alternatives: Array<{discriminator: string; value: string; keys: string[]}>
}

function objectKeys(schema: AnySchema): string[] | undefined {
  const def = defOf(schema)
  if (def.type !== 'object') return undefined
  return Object.keys(def.shape as Record<string, unknown>)
}

function literalValue(schema: AnySchema | undefined): string | undefined {
  if (!schema) return undefined
  const def = defOf(unwrap(schema))
  return def.type === 'literal' ? String((def.values as unknown[])[0]) : undefined
}

/** The schema for the value at `path`, following the data through unions; the last step is not resolved. */
function schemaAt(root: AnySchema, path: ConfigPath, data: unknown): AnySchema | undefined {
  let schema = unwrap(root)
  for (let i = 0; i < path.length; i++) {
    schema = pickVariant(schema, getAt(data, path.slice(0, i)))
    const def = defOf(schema)
    const seg = path[i]!
    if (def.type === 'object') {
      const next = (def.shape as Record<string, AnySchema>)[String(seg)]
      if (!next) return undefined
      schema = unwrap(next)
    } else if (def.type === 'array') {
      schema = unwrap(def.element as AnySchema)
    } else if (def.type === 'record') {
      schema = unwrap(def.valueType as AnySchema)
    } else return undefined
  }
  return schema
}

function discriminatorValue(option: AnySchema, discriminator: string): string | undefined {
  return literalValue((defOf(option).shape as Record<string, AnySchema> | undefined)?.[discriminator])
}

/**
 * The union member that applies to `value`. For a discriminated union without the discriminator in
 * the data, the first option (by convention the default, as `store` defaults to sqlite).
 */
function pickVariant(schema: AnySchema, value: unknown): AnySchema {
  const def = defOf(schema)
  if (def.type !== 'union') return schema
  const options = (def.options as AnySchema[]).map(unwrap)
  const discriminator = def.discriminator as string | undefined
  if (discriminator && value && typeof value === 'object') {
    const given = (value as Record<string, unknown>)[discriminator]
    if (given === undefined || given === null) return options[0] ?? schema
    return options.find((o) => discriminatorValue(o, discriminator) === String(given)) ?? schema
  }
  // A union of one object and scalars (e.g. `string | {…}`): the object when the value is a map.
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const objects = options.filter((o) => defOf(o).type === 'object')
    if (objects.length === 1) return objects[0]!
  }
  return schema
}

function keyInfoAt(root: AnySchema, path: ConfigPath, data: unknown): KeyInfo {
  const info: KeyInfo = {allowed: [], alternatives: []}
  const schema = schemaAt(root, path, data)
  if (!schema) return info
  const picked = pickVariant(schema, getAt(data, path))
  info.allowed = objectKeys(picked) ?? []
  const def = defOf(schema)
  const discriminator = def.discriminator as string | undefined
  if (def.type === 'union' && discriminator) {
    for (const option of (def.options as AnySchema[]).map(unwrap)) {
      const keys = objectKeys(option)
      const value = discriminatorValue(option, discriminator)
      if (option !== picked && keys && value !== undefined) info.alternatives.push({discriminator, value, keys})
    }
  }
  return info
}

export interface IssueContext {
  doc: Document
  positions: PositionFinder
  /** The (interpolated) data that was validated. */
  data: unknown
  schema: AnySchema
  /**
   * Paths of values that came from `${…}` (secrets). A problem at or below one never quotes the
   * value in any form (escaped, shortened): redacting by provenance, not by matching the text.
   */
  secretPaths?: ReadonlyArray<ConfigPath>
}

function isInterpolatedPath(path: ConfigPath, ctx: IssueContext): boolean {
  return (ctx.secretPaths ?? []).some((secret) => secret.length <= path.length && secret.every((seg, i) => String(seg) === String(path[i])))
}

/**
 * The issue's message with the interpolated value masked where the message quotes it (`string "***"`);
 * when the value still shows through in any form (the schema quoted it its own way), the generic
 * wording without it, or a plain "invalid value".
 */
function interpolatedIssueMessage(issue: z.core.$ZodIssue, value: unknown): string {
  const input = (issue as {input?: unknown}).input ?? value
  let message = issue.message
  if (typeof input === 'string' || typeof input === 'number') {
    message = message.split(describeValue(input)).join(describeValue(typeof input === 'string' ? REDACTED : INTERPOLATED_VALUE))
    message = message.split(JSON.stringify(input)).join(JSON.stringify(REDACTED))
    if (!secretForms(String(input)).some((form) => form !== '' && message.includes(form))) return message
  } else if (input === undefined || input === null || typeof input === 'boolean') return message
  const generic = genericIssueMessage({...issue, input: INTERPOLATED_VALUE} as unknown as z.core.$ZodRawIssue)
  return generic ?? `invalid value: ${INTERPOLATED_TEXT}`
}

export function issuesToProblems(issues: readonly z.core.$ZodIssue[], ctx: IssueContext): ConfigProblem[] {
  const out: ConfigProblem[] = []
  for (const issue of issues) out.push(...issueToProblems(issue, [], ctx))
  // One problem per place: a union can report the same spot twice.
  const seen = new Set<string>()
  return out.filter((p) => {
    const key = formatProblem(p)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function issueToProblems(issue: z.core.$ZodIssue, prefix: ConfigPath, ctx: IssueContext): ConfigProblem[] {
  const path = [...prefix, ...(issue.path as Array<string | number>)]
  const {doc, positions} = ctx

  if (issue.code === 'unrecognized_keys') {
    const info = keyInfoAt(ctx.schema, path, ctx.data)
    return issue.keys.map((key) => {
      const found = locateNode(doc, [...path, key])
      const node = found.depth === path.length + 1 ? (found.keyNode ?? found.node) : found.node
      const where = path.length === 0 ? ' at the top level' : ` in ${formatPath(path)}`
      return {position: positions.of(node), message: `unknown option '${key}'${where}`, hint: unknownKeyHint(key, info)}
    })
  }

  if (issue.code === 'invalid_union') {
    // If one branch got the right shape and failed inside it (e.g. a bad item in a list), report that.
    const deep = issue.errors.filter((branch) => branch.length > 0 && !branch.every((i) => i.path.length === 0 && i.code === 'invalid_type'))
    if (deep.length === 1 && !(issue as {note?: string}).note) return deep[0]!.flatMap((i) => issueToProblems(i, path, ctx))
    const note = (issue as {note?: string; options?: unknown[]}).note
    if (note === 'No matching discriminator') {
      const options = (issue as {options?: unknown[]}).options ?? []
      const secret = isInterpolatedPath(path, ctx)
      const got = secret ? INTERPOLATED_VALUE : getAt(ctx.data, path)
      const found = locateNode(doc, path)
      const guess = typeof got === 'string' ? didYouMean(got, options.map(String)) : undefined
      return [
        {
          position: positions.of(found.node),
          message: `${formatPath(path)}: expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}, got ${describeValue(got)}`,
          hint: guess ? `did you mean '${guess}'?` : undefined,
        },
      ]
    }
  }

  const value = getAt(ctx.data, path)
  // `key:` with nothing after it counts as absent, so it reads as missing too.
  if (issue.code === 'invalid_type' && issue.input === undefined && path.length > 0) {
    const parent = path.slice(0, -1)
    const found = locateNode(doc, path)
    const node = found.depth === path.length ? (found.keyNode ?? found.node) : locateNode(doc, parent).node
    const where = parent.length === 0 ? '' : ` in ${formatPath(parent)}`
    return [{position: positions.of(node), message: `missing required option '${String(path.at(-1))}'${where}`}]
  }

  const found = locateNode(doc, path)
  const isKeyIssue = issue.code === 'invalid_key'
  const node = isKeyIssue && found.depth === path.length ? (found.keyNode ?? found.node) : found.node
  // A path deeper than the file goes (a wrapped scalar, a computed default): name what the user wrote.
  const shownPath = isKeyIssue ? path : path.slice(0, found.depth)

  if (isInterpolatedPath(path, ctx)) {
    const label = shownPath.length === 0 ? '' : `${formatPath(shownPath)}: `
    return [{position: positions.of(node), message: `${label}${interpolatedIssueMessage(issue, value)}`, hint: 'the value comes from ${…}: check that variable or file'}]
  }

  let message = issue.message
  if (issue.code === 'invalid_key') message = `invalid key ${JSON.stringify(String(path.at(-1)))}: ${issue.issues[0]?.message ?? issue.message}`
  const label = shownPath.length === 0 ? '' : `${formatPath(shownPath)}: `
  const enumHint = issue.code === 'invalid_value' && typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : undefined
  return [{position: positions.of(node), message: `${label}${message}`, hint: enumHint ? `did you mean '${enumHint}'?` : undefined}]
}

function unknownKeyHint(key: string, info: KeyInfo): string | undefined {
  const guess = didYouMean(key, info.allowed)
  if (guess) return `did you mean '${guess}'?`
  const other = info.alternatives.find((a) => a.keys.includes(key))
  if (other) return `'${key}' is an option of ${other.discriminator}: ${other.value}; set '${other.discriminator}: ${other.value}' to use it`
  if (info.allowed.length > 0) return `allowed options: ${info.allowed.join(', ')}`
  return undefined
}
