import path from 'node:path'
import {LineCounter, isMap, parseDocument, type Document, type YAMLMap} from 'yaml'
import {interpolateDocument, interpolateString} from './interpolate.js'
import {resolveDataDir} from './paths.js'
import {ConfigError, PositionFinder, TOO_DEEP, TOO_DEEP_HINT, describeValue, formatPath, genericIssueMessage, issuesToProblems, locateNode, yamlStructureProblems, type ConfigProblem} from './problems.js'
import {literalSecretProblems} from '../notify/config.js'
import {compileTemplates, type TemplateProblem} from '../notify/template/set.js'
import {sourceOffsetOf} from '../alerting/yaml-offset.js'
import {redactString} from './redact.js'
import {displayName, finish, type ConfigSection, type LoadedConfig} from './resolve.js'
import {monConfigSchema, type ParsedConfig} from './schema.js'

// Validating config text: the one module that needs the whole schema (config/schema.ts, which builds
// the zod schema of every section, input and channel when imported). loadConfig (load.ts) imports it
// only when there is a file to validate: a command run without one takes the defaults the build
// wrote (defaults.ts), and its start never builds the schema (docs/startup.md).

export type {LoadedConfig} from './resolve.js'

/** The config with nothing but defaults (what `mon` runs with when there is no file). */
export function defaultConfig(opts: {env?: NodeJS.ProcessEnv; cwd?: string; dataDir?: string} = {}): LoadedConfig {
  const env = opts.env ?? process.env
  const cwd = opts.cwd ?? process.cwd()
  const parsed = monConfigSchema.parse(opts.dataDir === undefined ? {} : {data_dir: opts.dataDir})
  return finish(parsed, {env, cwd, baseDir: cwd, secretPaths: [], secrets: []})
}

export interface ParseOptions {
  cwd?: string
  /** How the file is named in messages (default: `file`). */
  label?: string
  sections?: readonly ConfigSection[]
  /** Called with what the schema gave once the text has passed every check (load.ts keeps it: validated.ts). */
  onValid?: (parsed: ParsedConfig) => void
}

/**
 * Parse, interpolate and validate config text. Synchronous (SIGHUP reload, tests). `file` is used
 * in messages and to resolve relative paths; names like `<stdin>` resolve against `cwd`.
 */
export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env, opts: ParseOptions = {}): LoadedConfig {
  const cwd = opts.cwd ?? process.cwd()
  const baseDir = file.startsWith('<') ? cwd : path.dirname(path.resolve(cwd, file))
  const lineCounter = new LineCounter()
  const positions = new PositionFinder(opts.label ?? file, lineCounter)
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true, merge: true})

  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e): ConfigProblem => {
        const key = e.code === 'DUPLICATE_KEY' ? /^("(?:[^"\\]|\\.)*"|'[^']*'|[^:#\n]+?)\s*:/.exec(text.slice(e.pos[0]))?.[1] : undefined
        // the YAML parser turns its own stack overflow into this error
        if (e.code === 'RESOURCE_EXHAUSTION') return {position: positions.at(e.pos[0]), message: TOO_DEEP, hint: TOO_DEEP_HINT}
        const message = key ? `duplicate key '${key.replace(/^["']|["']$/g, '')}'` : lowerFirst(e.message)
        return {position: positions.at(e.pos[0]), message: `invalid YAML: ${message}`, hint: YAML_HINTS[e.code]}
      }),
    )
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    const got = doc.contents.toJSON()
    throw new ConfigError([{position: positions.of(doc.contents), message: `the config must be a map of options (key: value lines), got ${describeValue(got)}`}])
  }

  const structure = yamlStructureProblems(doc, positions)
  if (structure.length > 0) throw new ConfigError(structure)

  const interpolation = interpolateDocument(doc, text, positions, {env, baseDir})
  // `x-…` anchors are used through aliases anywhere, so a problem there always counts.
  const isUsed = (section: string | undefined) => !opts.sections || section === undefined || section.startsWith('x-') || opts.sections.includes(section as ConfigSection)
  const fatal = interpolation.problems.filter((p) => isUsed(p.section))
  if (fatal.length > 0) throw new ConfigError(fatal.map(({section: _, ...problem}) => problem))
  const skippedSections = [...new Set(interpolation.problems.map((p) => p.section!))]
  for (const section of skippedSections) (doc.contents as YAMLMap).delete(section)

  let data: unknown
  try {
    data = doc.toJS({maxAliasCount: 1000}) ?? {}
  } catch (err) {
    throw new ConfigError([{position: positions.at(0), message: `invalid YAML: ${lowerFirst((err as Error).message)}`}])
  }

  // Top-level `x-…` keys are free-form (a place for YAML anchors), as in docker-compose files.
  if (data && typeof data === 'object') {
    for (const key of Object.keys(data)) if (key.startsWith('x-')) delete (data as Record<string, unknown>)[key]
  }

  const result = monConfigSchema.safeParse(data, {error: genericIssueMessage, reportInput: true})
  if (!result.success) {
    // a value from ${…} is never quoted (secretPaths); text elsewhere that repeats one is masked too
    const problems = issuesToProblems(result.error.issues, {doc, positions, data, schema: monConfigSchema, secretPaths: interpolation.secretPaths})
    const redacted = problems.map((p) => ({...p, message: redactString(p.message, interpolation.secrets)}))
    throw new ConfigError(redacted.length > 0 ? redacted : [{position: positions.at(0), message: result.error.message}])
  }
  // Channel credentials (webhook URLs, tokens, passwords) must come from ${…}, never the file itself.
  const literal = literalSecretProblems(result.data, interpolation.secretPaths, interpolation.secrets)
  if (literal.length > 0) throw new ConfigError(literal.map((p) => ({position: positions.of(locateNode(doc, p.path).node), message: p.message, hint: p.hint})))
  const finished = finish(result.data, {env, cwd, baseDir, secretPaths: interpolation.secretPaths, secrets: interpolation.secrets})
  // Notification templates parse and name only fields, functions and templates that exist.
  if (isUsed('notify')) {
    const templates = compileTemplates(finished.config.notify)
    if (templates.problems.length > 0) throw new ConfigError(templates.problems.map((p) => templateProblem(p, {doc, text, positions, cwd})))
    // the files as checked are the files that run (and a reload compares them)
    if (finished.config.notify.templates && templates.files.length > 0) finished.config.notify.templates.sources = templates.files
  }
  opts.onValid?.(result.data)
  return {
    ...finished,
    file,
    ...(skippedSections.length > 0 ? {skippedSections} : {}),
  }
}

/** A template problem at its character: inside a YAML string of the config, or in a template file. */
function templateProblem(p: TemplateProblem, ctx: {doc: Document; text: string; positions: PositionFinder; cwd: string}): ConfigProblem {
  if (p.origin.kind === 'file') {
    const before = p.text.slice(0, p.offset)
    const line = before.split('\n').length
    const col = p.offset - (before.lastIndexOf('\n') + 1) + 1
    return {position: {file: displayName(p.origin.file, ctx.cwd), line, col}, message: p.message, hint: p.hint}
  }
  const node = locateNode(ctx.doc, p.origin.path).node
  const offset = sourceOffsetOf(node, ctx.text, p.offset)
  const position = offset === undefined ? ctx.positions.of(node) : ctx.positions.at(offset)
  return {position, message: `${formatPath(p.origin.path)}: ${p.message}`, hint: p.hint}
}

const YAML_HINTS: Partial<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BAD_INDENT: 'check the indentation of this line against the lines above',
  MISSING_CHAR: 'a quote or bracket is not closed',
  DUPLICATE_KEY: 'each option may appear once per section',
  BLOCK_AS_IMPLICIT_KEY: 'a space is probably missing after a colon, or the indentation is off',
  MULTILINE_IMPLICIT_KEY: 'a space is probably missing after a colon, or the indentation is off',
}

function lowerFirst(s: string): string {
  return s.length > 1 && /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s
}

/**
 * The data dir a config file names, read as leniently as possible (a file that no longer loads may
 * still say where its daemon keeps its data); else MON_DATA_DIR or the default, as for a valid file.
 */
export function salvageDataDir(text: string, file: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const baseDir = path.dirname(path.resolve(cwd, file))
  let dataDir: string | undefined
  try {
    const doc = parseDocument(text, {prettyErrors: false})
    const value = isMap(doc.contents) ? doc.contents.get('data_dir') : undefined
    if (typeof value === 'string') dataDir = interpolateString(value, {env, baseDir}).value
  } catch {
    // nothing to salvage: the fallbacks apply
  }
  return resolveDataDir({data_dir: dataDir}, env, baseDir, cwd)
}
