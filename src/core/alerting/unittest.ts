import {readFile} from 'node:fs/promises'
import {dirname, isAbsolute, relative, resolve} from 'node:path'
import {LineCounter, isMap, parseDocument} from 'yaml'
import {z} from 'zod'
import {ManualClock} from '../clock.js'
import {formatDuration, tryParseDuration} from '../config/duration.js'
import {ConfigError, PositionFinder, describeValue, didYouMean, genericIssueMessage, issuesToProblems, TOO_DEEP, TOO_DEEP_HINT, yamlStructureProblems, type ConfigPath, type ConfigProblem} from '../config/problems.js'
import {duration, scalarString, section, stringList} from '../config/common.js'
import {InputError, LocatedError, errorMessage, type SourcePosition} from '../errors.js'
import type {Point} from '../model/point.js'
import {splitMetricName, type ParsedQuery} from '../query/ast.js'
import type {VectorSelector} from '../query/eval/ast.js'
import {evaluateInstant} from '../query/executor.js'
import {QueryError, parseQuery, spanOf} from '../query/parser.js'
import {SqliteStore} from '../store/sqlite/store.js'
import {DEFAULT_ENGINE, createRuleEngine} from './engine.js'
import {loadRuleFiles, type RuleGroup} from './rules.js'
import {SeriesNotationError, expandSeriesValues} from './series-notation.js'
import {YamlLocator} from './yaml-offset.js'

/**
 * `mon rules test`: promtool-style unit tests for rule files, run offline against an in-memory
 * embedded store. The file format is promtool's (`rule_files`, `evaluation_interval`, `tests[]`
 * with `input_series`, `alert_rule_test` and `promql_expr_test`, also spelt `expr_test`), with mon
 * selectors in `series:`. Time zero is the Unix epoch; input step i is at i × `interval`.
 */

export interface RuleTestFailure {
  /** the test's name, or `#1`, `#2` … */
  test: string
  kind: 'alert' | 'expr'
  /** the eval_time as written back (`10m`) */
  evalTime: string
  alertname?: string
  expr?: string
  /** canonical lines: `{alertname="X", host="a"} {summary="…"}` or `{host="a"} 95` */
  expected: string[]
  got: string[]
  /** set when the expression itself failed */
  error?: string
  position: SourcePosition
}

export interface RuleTestFileResult {
  file: string
  tests: number
  /** alert and expression checks */
  checks: number
  failures: RuleTestFailure[]
}

const labelMap = z.record(z.string(), scalarString)

const alertTestSchema = section({
  eval_time: duration(),
  alertname: z.string().min(1),
  exp_alerts: z.array(section({exp_labels: labelMap.default({}), exp_annotations: labelMap.default({})})).default([]),
})

const exprTestSchema = section({
  expr: scalarString,
  eval_time: duration(),
  exp_samples: z.array(section({labels: z.string().default('{}'), value: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v), z.number())})).default([]),
})

const testSchema = section({
  name: z.string().optional(),
  interval: duration({positive: true}).optional(),
  external_labels: labelMap.optional(),
  input_series: z.array(section({series: z.string().min(1), values: scalarString})).default([]),
  alert_rule_test: z.array(alertTestSchema).default([]),
  promql_expr_test: z.array(exprTestSchema).default([]),
  expr_test: z.array(exprTestSchema).default([]),
})

const testFileSchema = section({
  rule_files: stringList.default([]),
  evaluation_interval: duration({positive: true}).default('1m'),
  group_eval_order: stringList.optional(),
  tests: z.array(testSchema).default([]),
})

type TestFile = z.output<typeof testFileSchema>
type TestCase = TestFile['tests'][number]

interface Prepared {
  points: Point[]
  alertChecks: Array<{path: ConfigPath; at: number; alertname: string; expected: string[]; position: SourcePosition}>
  exprChecks: Array<{path: ConfigPath; at: number; expr: ParsedQuery; text: string; expected: ExpectedSample[]; position: SourcePosition}>
}

interface ExpectedSample {
  name?: string
  labels: Record<string, string>
  value: number
}

/** Runs one test file. Throws a LocatedError (exit 2) when the file or its rule files are bad. */
export async function runRuleTestFile(path: string, opts: {cwd?: string} = {}): Promise<RuleTestFileResult> {
  const cwd = opts.cwd ?? process.cwd()
  const abs = resolve(cwd, path)
  const label = displayPath(abs, cwd)
  let text: string
  try {
    text = await readFile(abs, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new InputError(`cannot read test file ${label}: ${code === 'ENOENT' ? 'no such file' : errorMessage(error)}`)
  }

  const {data, where} = parseTestFile(text, label)
  if (data.rule_files.length === 0) throw new LocatedError(where.at([]), 'no rule_files: a test file names the rule files it tests', {hint: 'rule_files: [host.yaml] (relative to the test file)'})
  const ruleFiles = data.rule_files.map((f) => (isAbsolute(f) ? f : resolve(dirname(abs), f)))
  const groups = await loadRuleFiles(ruleFiles, {cwd})
  const evalInterval = tryParseDuration(data.evaluation_interval)!
  const ordered = orderGroups(groups, data.group_eval_order, where)
  const alertnames = [...new Set(groups.flatMap((g) => g.rules.filter((r) => r.type === 'alert').map((r) => r.name)))]

  const problems: ConfigProblem[] = []
  const prepared = data.tests.map((t, i) => prepareTest(t, ['tests', i], where, alertnames, problems, evalInterval))
  if (problems.length > 0) throw new ConfigError(problems)

  const result: RuleTestFileResult = {file: label, tests: data.tests.length, checks: 0, failures: []}
  for (const [i, t] of data.tests.entries()) {
    const name = t.name ?? `#${i + 1}`
    const p = prepared[i]
    result.checks += p.alertChecks.length + p.exprChecks.length
    result.failures.push(...(await runTest(name, t, p, ordered, evalInterval)))
  }

  return result
}

function parseTestFile(text: string, file: string): {data: TestFile; where: YamlLocator} {
  const lineCounter = new LineCounter()
  const positions = new PositionFinder(file, lineCounter)
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true})
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => (e.code === 'RESOURCE_EXHAUSTION' ? {position: positions.at(e.pos[0]), message: TOO_DEEP, hint: TOO_DEEP_HINT} : {position: positions.at(e.pos[0]), message: `invalid YAML: ${e.message.split('\n')[0]}`})))
  }

  const structure = yamlStructureProblems(doc, positions)
  if (structure.length > 0) throw new ConfigError(structure)

  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new ConfigError([{position: positions.of(doc.contents), message: `a rule test file is a map with rule_files: and tests:, got ${describeValue(doc.contents.toJSON())}`}])
  }

  const raw = doc.toJS() ?? {}
  const parsed = testFileSchema.safeParse(raw, {error: genericIssueMessage, reportInput: true})
  if (!parsed.success) throw new ConfigError(issuesToProblems(parsed.error.issues, {doc, positions, data: raw, schema: testFileSchema}))
  return {data: parsed.data, where: new YamlLocator(doc, text, positions)}
}

function orderGroups(groups: RuleGroup[], order: string[] | undefined, where: YamlLocator): RuleGroup[] {
  if (!order) return groups
  const byName = new Map(groups.map((g) => [g.name, g]))
  const out: RuleGroup[] = []
  order.forEach((name, i) => {
    const g = byName.get(name)
    if (!g) {
      const guess = didYouMean(name, [...byName.keys()])
      throw new LocatedError(where.at(['group_eval_order', i]), `no rule group named '${name}' in the rule files`, {hint: guess ? `did you mean '${guess}'?` : undefined})
    }

    out.push(g)
    byName.delete(name)
  })
  return [...out, ...byName.values()]
}

function prepareTest(t: TestCase, path: ConfigPath, where: YamlLocator, alertnames: string[], problems: ConfigProblem[], evalInterval: number): Prepared {
  const interval = t.interval === undefined ? evalInterval : tryParseDuration(t.interval)!
  const out: Prepared = {points: [], alertChecks: [], exprChecks: []}
  const problem = (p: ConfigPath, message: string, hint?: string, valueOffset?: number): void => {
    problems.push({position: where.at(p, {valueOffset}), message, hint})
  }

  t.input_series.forEach((s, i) => {
    const spath = [...path, 'input_series', i]
    const sel = parseSeriesSelector(s.series, (msg, offset, hint) => problem([...spath, 'series'], msg, hint, offset))
    let values: ReturnType<typeof expandSeriesValues> = []
    try {
      values = expandSeriesValues(s.values)
    } catch (error) {
      if (!(error instanceof SeriesNotationError)) throw error
      problem([...spath, 'values'], error.reason, error.hint, error.offset)
    }

    if (!sel) return
    const tags: Record<string, string> = {}
    for (const m of sel.matchers) tags[m.name] = m.value
    const {measurement, field} = sel.split ?? splitMetricName(sel.name!)
    values.forEach((v, k) => {
      if (typeof v === 'number') out.points.push({measurement, tags, fields: {[field]: v}, ts: k * interval})
    })
  })

  t.alert_rule_test.forEach((a, i) => {
    const apath = [...path, 'alert_rule_test', i]
    if (!alertnames.includes(a.alertname)) {
      const guess = didYouMean(a.alertname, alertnames)
      problem([...apath, 'alertname'], `no alerting rule named '${a.alertname}' in the rule files`, guess ? `did you mean '${guess}'?` : undefined)
    }

    const expected = a.exp_alerts.map((e) => formatAlert({...e.exp_labels, alertname: a.alertname}, e.exp_annotations)).sort()
    out.alertChecks.push({path: apath, at: tryParseDuration(a.eval_time)!, alertname: a.alertname, expected, position: where.at([...apath, 'eval_time'])})
  })

  ;[...t.promql_expr_test.map((e, i) => [e, [...path, 'promql_expr_test', i]] as const), ...t.expr_test.map((e, i) => [e, [...path, 'expr_test', i]] as const)].forEach(([e, epath]) => {
    let expr: ParsedQuery | undefined
    try {
      expr = parseQuery(e.expr)
    } catch (error) {
      if (!(error instanceof QueryError)) throw error
      problem([...epath, 'expr'], error.reason, error.hint, error.span.start)
    }

    const expected: ExpectedSample[] = []
    e.exp_samples.forEach((s, k) => {
      const parsed = parseSampleLabels(s.labels, (msg, offset, hint) => problem([...epath, 'exp_samples', k, 'labels'], msg, hint, offset))
      if (parsed) expected.push({...parsed, value: s.value})
    })
    if (expr) out.exprChecks.push({path: epath, at: tryParseDuration(e.eval_time)!, expr, text: e.expr, expected, position: where.at([...epath, 'expr'])})
  })
  return out
}

type Report = (message: string, offset: number, hint?: string) => void

function parseSeriesSelector(text: string, report: Report): VectorSelector | undefined {
  let q: ParsedQuery
  try {
    q = parseQuery(text)
  } catch (error) {
    if (!(error instanceof QueryError)) throw error
    report(error.reason, error.span.start, error.hint)
    return undefined
  }

  const e = q.expr
  if (e.kind !== 'vector' || e.offset !== undefined || e.at !== undefined) {
    report('expected a series: measurement.field{tag="value", …}', spanOf(q, e).start, 'e.g. cpu.usage_user{host="web-01",cpu="cpu-total"}')
    return undefined
  }

  const bad = e.matchers.find((m) => m.op !== '=')
  if (bad) {
    report(`a test series has exact tags: use ${bad.name}="…", not ${bad.op}`, text.indexOf(bad.name, spanOf(q, e).start))
    return undefined
  }

  return e
}

/** `{host="a"}` or `cpu.usage_user{host="a"}` (the measurement is then compared too). */
function parseSampleLabels(text: string, report: Report): Omit<ExpectedSample, 'value'> | undefined {
  const t = text.trim()
  const prefix = '__sample__.__value__'
  const src = t.startsWith('{') || t === '' ? prefix + (t || '{}') : t
  const shift = src === t ? 0 : prefix.length
  let q: ParsedQuery
  try {
    q = parseQuery(src)
  } catch (error) {
    if (!(error instanceof QueryError)) throw error
    report(error.reason, Math.max(0, error.span.start - shift), error.hint)
    return undefined
  }

  const e = q.expr
  if (e.kind !== 'vector' || e.matchers.some((m) => m.op !== '=')) {
    report('expected labels such as {host="web-01"}', 0)
    return undefined
  }

  const labels: Record<string, string> = {}
  for (const m of e.matchers) labels[m.name] = m.value
  return shift > 0 ? {labels} : {name: e.name, labels}
}

async function runTest(name: string, t: TestCase, p: Prepared, groups: RuleGroup[], evalInterval: number): Promise<RuleTestFailure[]> {
  const failures: RuleTestFailure[] = []
  const clock = new ManualClock(0)
  const store = new SqliteStore({path: ':memory:', autoCompactEvery: 0, clock})
  try {
    await store.write(p.points)
    const engine = createRuleEngine({groups, store, clock, cache: {step: evalInterval}, externalLabels: t.external_labels})
    const checks = [...p.alertChecks].sort((a, b) => a.at - b.at)
    // as promtool: the rules run at every step up to the last check, so expression checks read
    // the series recording rules wrote (the expressions run after the last step, at their own time)
    const last = Math.max(0, ...checks.map((c) => c.at), ...p.exprChecks.map((c) => c.at))
    let next = 0
    for (let at = 0; at <= last; at += evalInterval) {
      clock.set(at)
      for (const g of groups) await engine.evaluateGroup(g.name, at)
      // alert checks between this evaluation and the next see the state after this one
      while (next < checks.length && checks[next].at < at + evalInterval) {
        const c = checks[next++]
        const got = engine
          .activeAlerts()
          .filter((a) => a.state === 'firing' && a.labels.alertname === c.alertname)
          .map((a) => formatAlert(a.labels, a.annotations))
          .sort()
        if (!sameLines(c.expected, got)) failures.push({test: name, kind: 'alert', evalTime: formatDuration(c.at), alertname: c.alertname, expected: c.expected, got, position: c.position})
      }
    }

    for (const c of p.exprChecks) {
      const expected = c.expected.map(formatSample).sort()
      try {
        const samples = await evaluateInstant(c.expr, store, c.at, {lookback: DEFAULT_ENGINE.lookbackMs})
        const named = c.expected.some((e) => e.name !== undefined)
        const got = samples.map((s) => ({name: named ? s.name : undefined, labels: s.labels, value: s.value}))
        if (!sameSamples(c.expected, got)) failures.push({test: name, kind: 'expr', evalTime: formatDuration(c.at), expr: c.text, expected, got: got.map(formatSample).sort(), position: c.position})
      } catch (error) {
        failures.push({test: name, kind: 'expr', evalTime: formatDuration(c.at), expr: c.text, expected, got: [], error: errorMessage(error), position: c.position})
      }
    }
  } finally {
    await store.close()
  }

  return failures
}

function formatLabels(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`
}

function formatAlert(labels: Record<string, string>, annotations: Record<string, string>): string {
  return `labels:${formatLabels(labels)} annotations:${formatLabels(annotations)}`
}

function formatSample(s: {name?: string; labels: Record<string, string>; value: number}): string {
  return `${s.name ?? ''}${formatLabels(s.labels)} ${s.value}`
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Same label sets with values equal within a relative 1e-6 (as promtool). */
function sameSamples(expected: ExpectedSample[], got: ExpectedSample[]): boolean {
  if (expected.length !== got.length) return false
  const left = [...got]
  for (const e of expected) {
    const key = formatLabels(e.labels)
    const i = left.findIndex((g) => (e.name === undefined || g.name === e.name) && formatLabels(g.labels) === key && almostEqual(g.value, e.value))
    if (i === -1) return false
    left.splice(i, 1)
  }

  return true
}

function almostEqual(a: number, b: number): boolean {
  if (a === b) return true
  const diff = Math.abs(a - b)
  return diff <= 1e-6 * Math.max(Math.abs(a), Math.abs(b)) || diff < 1e-12
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}
