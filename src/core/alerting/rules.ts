import {readFile} from 'node:fs/promises'
import {relative, isAbsolute} from 'node:path'
import {LineCounter, isMap, parseDocument} from 'yaml'
import {z} from 'zod'
import {tryParseDuration} from '../config/duration.js'
import {
  ConfigError,
  PositionFinder,
  describeValue,
  didYouMean,
  genericIssueMessage,
  issuesToProblems,
  type ConfigPath,
  type ConfigProblem,
  TOO_DEEP,
  TOO_DEEP_HINT,
  yamlStructureProblems,
} from '../config/problems.js'
import {duration, int, isCronExpression, scalarString, section} from '../config/common.js'
import {noDataState} from '../config/schema.js'
import {InputError, type SourcePosition} from '../errors.js'
import {formatExpr, selectorsOf, type ParsedQuery} from '../query/ast.js'
import {QueryError, parseQuery} from '../query/parser.js'
import {outputLabels} from './expr-labels.js'
import {expandPaths} from './files.js'
import {ALERT_ONLY_KEYS, recordNameProblem, recordTarget, type RecordingRule} from './recording.js'
import {TemplateError, compileTemplate, type CompiledTemplate} from './template.js'
import type {NoDataPolicy} from './types.js'
import {YamlLocator} from './yaml-offset.js'

/**
 * Rule files: Prometheus' format (groups of alerting rules with `alert`, `expr`, `for`,
 * `keep_firing_for`, `labels`, `annotations`, and recording rules with `record`, `expr`, `labels`,
 * see recording.ts) over mon's expression language, plus `no_data`/`on_error` per rule and
 * `lookback`/`labels` per group. Everything is checked when the file is loaded — YAML, types,
 * expressions, templates and the labels templates read — and every problem is reported as
 * `file:line:col` pointing at the character (docs/alerting.md).
 */

export interface AlertRule {
  type: 'alert'
  /** unique among loaded rules: `group/alertname`, with `#2`, `#3` … for a name repeated in a group */
  id: string
  group: string
  /** the alertname */
  name: string
  expr: string
  query: ParsedQuery
  forMs: number
  keepFiringForMs: number
  /** label values as written (templates), including the group's labels */
  labels: Record<string, CompiledTemplate>
  annotations: Record<string, CompiledTemplate>
  /** undefined: the engine default (config rules.no_data / rules.on_error) */
  noData?: NoDataPolicy
  onError?: NoDataPolicy
  /** where the rule is written */
  position: SourcePosition
}

export interface RuleGroup {
  name: string
  /** the file as given (or found by a glob) */
  file: string
  /** the interval as written (a duration, or a cron expression from rules.default_interval) */
  interval: string
  /** undefined for a cron schedule */
  intervalMs?: number
  /** each run starts up to this long after its time; undefined: rules.jitter */
  jitterMs?: number
  /** look-back of selectors without [range]; undefined: the engine default */
  lookbackMs?: number
  /** most alerts (or recorded series) one rule may produce per evaluation (0: no limit); more is a rule error */
  limit: number
  rules: Rule[]
}

export type {RecordingRule} from './recording.js'
/** An alerting rule (`alert:`) or a recording rule (`record:`); `type` tells which. */
export type Rule = AlertRule | RecordingRule

export interface LoadRuleOptions {
  /** interval of groups that set none (config rules.default_interval) */
  defaultInterval?: string
  cwd?: string
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

const labelMap = z.record(
  z.string().regex(LABEL_NAME, {error: 'label names are letters, digits and _ and do not start with a digit'}),
  scalarString,
)

const ruleShape = {
  /** exactly one of alert and record (checked when compiling) */
  alert: z.string().min(1).optional(),
  record: z.string().optional(),
  expr: scalarString,
  for: duration().optional(),
  keep_firing_for: duration().optional(),
  labels: labelMap.optional(),
  annotations: z.record(z.string(), scalarString).optional(),
  no_data: noDataState.optional(),
  on_error: noDataState.optional(),
}
const ruleSchema = section(ruleShape)

const groupFields = {
  name: z.string().min(1),
  interval: duration({positive: true}).optional(),
  jitter: duration().optional(),
  lookback: duration({positive: true}).optional(),
  limit: int({min: 0}).optional(),
  labels: labelMap.optional(),
}

/** The whole file, for messages (allowed keys, did-you-mean) at any depth. */
const ruleFileSchema = section({groups: z.array(section({...groupFields, rules: z.array(ruleSchema).default([])})).default([])})

/** A group with its rules left unchecked: rules are validated one by one so every bad rule is reported. */
const groupShapeSchema = section({...groupFields, rules: z.array(z.unknown()).default([])})
/** The file with each group left unchecked: a bad group does not hide the problems of the others. */
const fileOutlineSchema = section({groups: z.array(z.unknown()).default([])})

interface FileShape {
  groups: Array<z.output<typeof groupShapeSchema>>
}

type RuleData = z.output<typeof ruleSchema>

/** The outcome of checking one file: its groups when valid, else every problem found. */
export interface RuleFileCheck {
  file: string
  groups: RuleGroup[]
  problems: ConfigProblem[]
  /** set when the file (or a glob matching nothing) could not be read at all; `problems` says the same */
  unreadable?: {message: string; hint?: string}
}

const GLOB_HINT = 'check the path or glob (relative paths are from the current directory, or from the config file for rules.files)'

/**
 * Reads, validates and compiles rule files (paths or globs). Throws a {@link ConfigError}
 * (a LocatedError, exit 2) for the first file with problems, listing all of that file's problems.
 */
export async function loadRuleFiles(paths: string[], opts: LoadRuleOptions = {}): Promise<RuleGroup[]> {
  const checks = await checkRuleFiles(paths, opts)
  const unreadable = checks.find((c) => c.unreadable)?.unreadable
  if (unreadable) throw new InputError(unreadable.message, {hint: unreadable.hint})
  for (const c of checks) if (c.problems.length > 0) throw new ConfigError(c.problems)
  return checks.flatMap((c) => c.groups)
}

/**
 * Like {@link loadRuleFiles} but reports every file's problems instead of throwing (`mon rules check`):
 * a file that cannot be read, or a glob that matches nothing, is one problem among the others.
 */
export async function checkRuleFiles(paths: string[], opts: LoadRuleOptions = {}): Promise<RuleFileCheck[]> {
  const cwd = opts.cwd ?? process.cwd()
  const {files, unmatched} = await expandPaths(paths, cwd)
  const checks: RuleFileCheck[] = unmatched.map((pattern) => unreadableCheck(pattern, `no rule files match ${JSON.stringify(pattern)}`, GLOB_HINT))
  const seenGroups = new Map<string, string>()
  for (const file of files) {
    const label = displayPath(file, cwd)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a file' : (error as Error).message
      checks.push(unreadableCheck(label, `cannot read rule file ${label}: ${reason}`))
      continue
    }

    const check = parseRuleText(text, label, opts)
    // group names are unique across files: the engine and the CLI address groups by name
    for (const g of check.groups) {
      const other = seenGroups.get(g.name)
      if (other !== undefined) {
        check.problems.push({position: {file: label, line: 1, col: 1}, message: `group '${g.name}' is also defined in ${other}`, hint: 'group names must be unique across rule files'})
      } else seenGroups.set(g.name, label)
    }

    if (check.problems.length > 0) check.groups = []
    checks.push(check)
  }

  return checks
}

function unreadableCheck(file: string, message: string, hint?: string): RuleFileCheck {
  return {file, groups: [], problems: [{position: {file, line: 1, col: 1}, message, hint}], unreadable: {message, hint}}
}

/** Parses one rule file's text; `file` names it in messages. Never throws for bad content. */
export function parseRuleText(text: string, file: string, opts: LoadRuleOptions = {}): RuleFileCheck {
  const lineCounter = new LineCounter()
  const positions = new PositionFinder(file, lineCounter)
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true})
  const fail = (problems: ConfigProblem[]): RuleFileCheck => ({file, groups: [], problems})
  if (doc.errors.length > 0) {
    return fail(doc.errors.map((e) => e.code === 'RESOURCE_EXHAUSTION' ? {position: positions.at(e.pos[0]), message: TOO_DEEP, hint: TOO_DEEP_HINT} : ({position: positions.at(e.pos[0]), message: `invalid YAML: ${e.message.split('\n')[0].replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase())}`, hint: e.code === 'TAB_AS_INDENT' ? 'indent with spaces, not tabs' : undefined})))
  }

  const structure = yamlStructureProblems(doc, positions)
  if (structure.length > 0) return fail(structure)

  if (doc.contents !== null && !isMap(doc.contents)) {
    return fail([{position: positions.of(doc.contents), message: `a rule file is a map with 'groups:', got ${describeValue(doc.contents.toJSON())}`, hint: 'start the file with groups: and a list of groups'}])
  }

  const data = doc.toJS() ?? {}
  if ('tests' in data && 'rule_files' in data && !('groups' in data)) {
    return fail([{position: positions.at(0), message: 'this is a rule test file, not a rule file', hint: `run it with: mon rules test ${file}`}])
  }

  const ctx = {doc, positions, data, schema: ruleFileSchema}
  const outline = fileOutlineSchema.safeParse(data, {error: genericIssueMessage, reportInput: true})
  if (!outline.success) return fail(issuesToProblems(outline.error.issues, ctx))
  const problems: ConfigProblem[] = []
  const shape: {data: FileShape} = {
    data: {
      groups: outline.data.groups.map((raw, gi) => {
        const g = groupShapeSchema.safeParse(raw, {error: genericIssueMessage, reportInput: true})
        if (g.success) return g.data
        problems.push(...issuesToProblems(g.error.issues.map((i) => ({...i, path: ['groups', gi, ...i.path]})) as typeof g.error.issues, ctx))
        return validGroupParts(raw, gi)
      }),
    },
  }
  const invalid = new Set<string>()
  const rules = shape.data.groups.map((g, gi) =>
    g.rules.map((raw, ri) => {
      const r = ruleSchema.safeParse(raw, {error: genericIssueMessage, reportInput: true})
      if (r.success) return r.data
      const prefix = ['groups', gi, 'rules', ri]
      problems.push(...issuesToProblems(r.error.issues.map((i) => ({...i, path: [...prefix, ...i.path]})) as typeof r.error.issues, ctx))
      invalid.add(`${gi}/${ri}`)
      return validParts(raw)
    }),
  )
  const compiled = new RuleCompiler(new YamlLocator(doc, text, positions), opts).compile(shape.data, rules)
  if (problems.length === 0) return compiled
  return fail([...problems, ...compiled.problems].sort((a, b) => a.position.line - b.position.line || a.position.col - b.position.col))
}

/**
 * The fields of an invalid group that are valid on their own, and its rules (checked one by one
 * after), so one bad group field does not hide the problems of its rules. Only checked, never loaded.
 */
function validGroupParts(raw: unknown, index: number): FileShape['groups'][number] {
  const fields = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {}
  const out: Record<string, unknown> = {}
  for (const [key, schema] of Object.entries(groupFields)) {
    const r = schema.safeParse(fields[key])
    if (r.success && r.data !== undefined) out[key] = r.data
  }

  return {name: `#${index + 1}`, ...out, rules: Array.isArray(fields.rules) ? fields.rules : []} as FileShape['groups'][number]
}

/**
 * The fields of an invalid rule that are valid on their own (a bad `for:` should not hide a bad
 * `expr:`). The result is only checked, never loaded: the file has problems anyway.
 */
function validParts(raw: unknown): RuleData | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined
  const out: Record<string, unknown> = {}
  for (const [key, schema] of Object.entries(ruleShape)) {
    const r = schema.safeParse((raw as Record<string, unknown>)[key])
    if (r.success && r.data !== undefined) out[key] = r.data
  }

  if (typeof out.expr !== 'string') return undefined
  return out as RuleData
}

class RuleCompiler {
  readonly problems: ConfigProblem[] = []

  constructor(
    private readonly where: YamlLocator,
    private readonly opts: LoadRuleOptions,
  ) {}

  private problem(path: ConfigPath, message: string, hint?: string, valueOffset?: number, key = false): void {
    this.problems.push({position: this.where.at(path, {valueOffset, key}), message, hint})
  }

  /** `rules[g][r]` of a rule that failed validation holds its valid parts, so their problems are found too. */
  compile(data: FileShape, rules: Array<Array<RuleData | undefined>>): RuleFileCheck {
    const groups: RuleGroup[] = []
    const names = new Set<string>()
    data.groups.forEach((g, gi) => {
      const gpath = ['groups', gi]
      if (names.has(g.name)) this.problem([...gpath, 'name'], `duplicate group name '${g.name}'`, 'group names must be unique')
      names.add(g.name)
      const interval = g.interval ?? this.opts.defaultInterval ?? '1m'
      const group: RuleGroup = {
        name: g.name,
        file: this.where.positions.file,
        interval,
        intervalMs: isCronExpression(interval) ? undefined : tryParseDuration(interval),
        jitterMs: g.jitter === undefined ? undefined : tryParseDuration(g.jitter),
        lookbackMs: g.lookback === undefined ? undefined : tryParseDuration(g.lookback),
        limit: g.limit ?? 0,
        rules: [],
      }
      const counts = new Map<string, number>()
      rules[gi].forEach((r, ri) => {
        if (!r) return
        const ruleName = r.alert ?? r.record ?? ''
        const n = (counts.get(ruleName) ?? 0) + 1
        counts.set(ruleName, n)
        const rule = this.compileRule(g.name, r, [...gpath, 'rules', ri], g.labels ?? {}, n)
        if (rule) group.rules.push(rule)
      })
      groups.push(group)
    })
    // a group label's problem is found once per rule that inherits it: report it once
    const seen = new Set<string>()
    const problems = this.problems.filter((p) => {
      const key = `${p.position.line}:${p.position.col}:${p.message}`
      return !seen.has(key) && Boolean(seen.add(key))
    })
    return {file: this.where.positions.file, groups: problems.length > 0 ? [] : groups, problems}
  }

  private compileRule(group: string, r: RuleData, path: ConfigPath, groupLabels: Record<string, string>, occurrence: number): Rule | undefined {
    const before = this.problems.length
    if (r.record !== undefined && r.alert !== undefined) this.problem([...path, 'record'], 'a rule has either alert: (an alerting rule) or record: (a recording rule), not both', 'split it into two rules', undefined, true)
    else if (r.record === undefined && r.alert === undefined) this.problem(path, 'a rule needs alert: (an alerting rule) or record: (a recording rule)', 'e.g. alert: HighCPU, or record: job.requests_rate')

    let query: ParsedQuery | undefined
    try {
      query = parseQuery(r.expr)
    } catch (error) {
      if (!(error instanceof QueryError)) throw error
      this.problem([...path, 'expr'], error.reason, error.hint, error.span.start)
    }

    if (r.record !== undefined && r.alert === undefined) return this.compileRecording(group, {...r, record: r.record}, path, groupLabels, occurrence, query, before)

    if (query && selectorsOf(query.expr).length === 0) {
      this.problem([...path, 'expr'], `the expression ${formatExpr(query.expr)} reads no metrics: it is always ${query.expr.kind === 'number' && query.expr.value === 0 ? 'false' : 'the same'}`, 'compare a selector, e.g. mean(cpu.usage_user{cpu="cpu-total"}) by host > 90', 0)
    }

    const allLabels = {...groupLabels, ...(r.labels ?? {})}
    if ('alertname' in allLabels) this.problem([...path, 'labels', 'alertname'], "'alertname' is set from the rule's alert name and cannot be a label", undefined, undefined, true)
    const produced = query ? outputLabels(query.expr) : undefined
    const known = new Set(['alertname', ...Object.keys(allLabels)])
    const compileAll = (values: Record<string, string>, where: 'labels' | 'annotations', from: Record<string, string> = values): Record<string, CompiledTemplate> => {
      const out: Record<string, CompiledTemplate> = {}
      for (const [key, value] of Object.entries(values)) {
        // group labels are written in the group; their problems point there
        const vpath = from === groupLabels && !(r.labels && key in r.labels) ? [...path.slice(0, 2), 'labels', key] : [...path, where, key]
        try {
          const tpl = compileTemplate(value)
          if (produced?.closed) {
            for (const ref of tpl.labelRefs) {
              if (known.has(ref.name) || produced.labels.includes(ref.name)) continue
              const yields = produced.labels.length === 0 ? 'yields no labels' : `only yields ${produced.labels.join(', ')}`
              const guess = didYouMean(ref.name, [...produced.labels, ...known])
              this.problem(vpath, `label '${ref.name}' is never set: ${produced.source} ${yields}`, guess ? `did you mean '${guess}'?` : produced.source.startsWith('absent(') ? 'absent() only has the labels of its = matchers; set it under labels:' : 'add it to the by (…) list of the aggregation, or set it under labels:', ref.offset)
            }
          }

          out[key] = tpl
        } catch (error) {
          if (!(error instanceof TemplateError)) throw error
          this.problem(vpath, `template: ${error.reason}`, error.hint, error.offset)
        }
      }

      return out
    }

    const labels = {...compileAll(groupLabels, 'labels'), ...compileAll(r.labels ?? {}, 'labels')}
    const annotations = compileAll(r.annotations ?? {}, 'annotations')
    if (this.problems.length > before || !query || r.alert === undefined) return undefined
    return {
      type: 'alert',
      id: occurrence === 1 ? `${group}/${r.alert}` : `${group}/${r.alert}#${occurrence}`,
      group,
      name: r.alert,
      expr: r.expr,
      query,
      forMs: r.for === undefined ? 0 : tryParseDuration(r.for)!,
      keepFiringForMs: r.keep_firing_for === undefined ? 0 : tryParseDuration(r.keep_firing_for)!,
      labels,
      annotations,
      noData: r.no_data,
      onError: r.on_error,
      position: this.where.at([...path, 'alert'], {key: true}),
    }
  }

  /** A `record:` rule: its name, its labels (static strings) and no alerting-only keys; `query` is the parsed expr. */
  private compileRecording(group: string, r: RuleData & {record: string}, path: ConfigPath, groupLabels: Record<string, string>, occurrence: number, query: ParsedQuery | undefined, before: number): RecordingRule | undefined {
    const bad = recordNameProblem(r.record)
    if (bad) this.problem([...path, 'record'], bad.message, bad.hint, bad.offset)
    for (const key of ALERT_ONLY_KEYS) {
      if (r[key] !== undefined) this.problem([...path, key], `'${key}' is for alerting rules; a recording rule has record, expr and labels`, key === 'for' || key === 'keep_firing_for' ? 'alert on the recorded series in an alerting rule' : undefined, undefined, true)
    }

    const labels = {...groupLabels, ...(r.labels ?? {})}
    if ('__name__' in labels) this.problem(r.labels && '__name__' in r.labels ? [...path, 'labels', '__name__'] : [...path.slice(0, 2), 'labels', '__name__'], "'__name__' is set from record: and cannot be a label", undefined, undefined, true)
    if (this.problems.length > before || !query) return undefined
    return {
      type: 'record',
      id: occurrence === 1 ? `${group}/${r.record}` : `${group}/${r.record}#${occurrence}`,
      group,
      name: r.record,
      ...recordTarget(r.record),
      expr: r.expr,
      query,
      labels,
      position: this.where.at([...path, 'record'], {key: true}),
    }
  }
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}
