/**
 * Runs a command on schedule (without a shell) and reads metrics from its stdout: line protocol
 * (`influx`), Prometheus text (`prometheus`) or JSON (`json`, flattened as Telegraf's JSON parser
 * does: nested keys joined with `_`, numbers become float fields, booleans boolean fields,
 * strings are skipped unless listed in `tag_keys`). A non-zero exit, a timeout (the process is
 * sent SIGTERM, then SIGKILL) or output larger than 32 MiB is an error naming the command and
 * the first line of its stderr. Sample config (mon.yaml):
 *
 *   inputs:
 *     exec:
 *       - name: queue
 *         command: [/usr/local/bin/queue-stats, --json]
 *         data_format: json
 *         name_override: queue
 *         tag_keys: [queue]
 *         timeout: 10s
 *         interval: 60s
 */
import {spawn} from 'node:child_process'
import {z} from 'zod'
import {duration, interval, scalarString, section, stringList, typeError} from '../config/common.js'
import {parseDuration} from '../config/duration.js'
import {InputError} from '../errors.js'
import {parseLineProtocol} from '../model/line-protocol/index.js'
import type {FieldValue, Point, Tags} from '../model/point.js'
import {parsePrometheusText, prometheusToPoints} from '../model/prometheus-text.js'
import {pointsOrPartial} from './partial.js'
import {decorate, defineCollector, pullInputFields, type Collector, type CollectorContext, type Scheduled} from './types.js'

export const MAX_OUTPUT_BYTES = 32 << 20
const KILL_GRACE_MS = 2000

export interface ExecOutput {
  stdout: string
  stderr: string
  code: number | null
  signal: NodeJS.Signals | null
}

/**
 * Splits a command line into arguments as a POSIX shell would for quoting only: '…' literal,
 * "…" with \\ \" \$ escapes, \ outside quotes. No variables, globs or pipes: no shell runs it.
 */
export function splitCommand(line: string): string[] {
  const args: string[] = []
  let cur = ''
  let has = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end < 0) throw new InputError(`unterminated ' in command ${JSON.stringify(line)}`)
      cur += line.slice(i + 1, end)
      has = true
      i = end
    } else if (c === '"') {
      has = true
      let j = i + 1
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '\\"$`'.includes(line[j + 1]!)) j++
        cur += line[j]
      }
      if (j >= line.length) throw new InputError(`unterminated " in command ${JSON.stringify(line)}`)
      i = j
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i]
      has = true
    } else if (/\s/.test(c)) {
      if (has) args.push(cur)
      cur = ''
      has = false
    } else {
      cur += c
      has = true
    }
  }
  if (has) args.push(cur)
  return args
}

/** Runs argv[0] with the rest as arguments; bounded by `timeoutMs` and the signal. */
export function runCommand(argv: string[], timeoutMs: number, signal: AbortSignal): Promise<ExecOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    let outBytes = 0
    let errBytes = 0
    let failure: Error | undefined
    let killTimer: NodeJS.Timeout | undefined
    const kill = (why: Error) => {
      failure ??= why
      child.kill('SIGTERM')
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
    }
    const timer = setTimeout(() => kill(new Error(`timed out after ${timeoutMs} ms (killed)`)), timeoutMs)
    const onAbort = () => kill(new Error('aborted'))
    signal.addEventListener('abort', onAbort, {once: true})
    child.stdout.on('data', (d: Buffer) => {
      outBytes += d.length
      if (outBytes > MAX_OUTPUT_BYTES) kill(new Error(`printed more than ${MAX_OUTPUT_BYTES} bytes (killed)`))
      else out.push(d)
    })
    child.stderr.on('data', (d: Buffer) => {
      if (errBytes < 65_536) err.push(d)
      errBytes += d.length
    })
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      reject(new Error(e.code === 'ENOENT' ? `${argv[0]}: command not found` : e.code === 'EACCES' ? `${argv[0]}: permission denied` : e.message))
    })
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      if (killTimer) clearTimeout(killTimer)
      signal.removeEventListener('abort', onAbort)
      if (failure) return reject(failure)
      resolve({stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal: sig})
    })
  })
}

export interface ParseOutputOptions {
  format: 'influx' | 'json' | 'prometheus'
  now: number
  /** measurement for json (default `exec`) */
  name?: string
  tagKeys?: readonly string[]
  file?: string
}

/** Points from command output; problems (bad lines, bad JSON) are returned, not thrown. */
export function parseCommandOutput(text: string, opts: ParseOutputOptions): {points: Point[]; errors: string[]} {
  const file = opts.file ?? '<stdout>'
  switch (opts.format) {
    case 'influx': {
      const {points, errors} = parseLineProtocol(text, {precision: 'ns', now: opts.now, file})
      return {points, errors: errors.map((e) => `${file}:${e.line}:${e.col}: ${e.message}`)}
    }
    case 'prometheus': {
      const {families, errors} = parsePrometheusText(text, {file})
      return {points: prometheusToPoints(families, {now: opts.now}), errors: errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`)}
    }
    case 'json':
      return parseJsonMetrics(text, opts)
  }
}

/** Telegraf's JSON parser (v1) in short: one point per top-level object. */
export function parseJsonMetrics(text: string, opts: ParseOutputOptions): {points: Point[]; errors: string[]} {
  const file = opts.file ?? '<stdout>'
  if (text.trim() === '') return {points: [], errors: []}
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    return {points: [], errors: [`${file}: not valid JSON: ${(err as Error).message}`]}
  }
  const objects = Array.isArray(doc) ? doc : [doc]
  const points: Point[] = []
  const errors: string[] = []
  const tagKeys = new Set(opts.tagKeys ?? [])
  objects.forEach((obj, i) => {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      errors.push(`${file}: item ${i + 1} is not an object`)
      return
    }
    const fields: Record<string, FieldValue> = {}
    const tags: Tags = {}
    flatten(obj as Record<string, unknown>, '', fields, tags, tagKeys)
    if (Object.keys(fields).length === 0) {
      errors.push(`${file}: item ${i + 1} has no numeric or boolean values`)
      return
    }
    points.push({measurement: opts.name ?? 'exec', tags, fields, ts: opts.now})
  })
  return {points, errors}
}

function flatten(value: unknown, prefix: string, fields: Record<string, FieldValue>, tags: Tags, tagKeys: Set<string>): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, prefix ? `${prefix}_${i}` : String(i), fields, tags, tagKeys))
    return
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}_${k}` : k, fields, tags, tagKeys)
    return
  }
  if (tagKeys.has(prefix)) {
    if (value !== null && value !== undefined && value !== '') tags[prefix] = String(value)
    return
  }
  if (typeof value === 'number' && Number.isFinite(value)) fields[prefix] = value
  else if (typeof value === 'boolean') fields[prefix] = value
}

export function createExecCollector(cfg: ExecInputConfig, ctx: CollectorContext, name = 'exec'): Collector {
  const argv = Array.isArray(cfg.command) ? cfg.command : splitCommand(cfg.command)
  if (argv.length === 0) throw new InputError(`inputs.exec ${name}: empty command`)
  const timeoutMs = parseDuration(cfg.timeout)
  return {
    name,
    async collect(signal) {
      const out = await runCommand(argv, timeoutMs, signal)
      if (out.code !== 0) {
        const why = out.stderr.trim().split('\n')[0] ?? ''
        throw new Error(`${argv[0]} exited with ${out.code === null ? `signal ${out.signal}` : `code ${out.code}`}${why ? `: ${why}` : ''}`)
      }
      const {points, errors} = parseCommandOutput(out.stdout, {format: cfg.data_format, now: ctx.clock.now(), name: cfg.name_override, tagKeys: cfg.tag_keys, file: `${argv[0]} output`})
      return pointsOrPartial(decorate(points, ctx, cfg.tags), errors)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// inputs.exec: its config schema (defaults included), sample block and factory

export const execInputSchema = section({
  ...pullInputFields,
  command: z.union([z.string().min(1), z.array(scalarString).min(1)], {error: typeError('a command line or a list of arguments (e.g. "df -k" or [df, -k])')}),
  data_format: z.enum(['influx', 'json', 'prometheus']).default('influx'),
  timeout: duration({positive: true}).default('10s'),
  interval: interval().default('60s'),
  /** Measurement name for `json` output. */
  name_override: z.string().optional(),
  /** `json` output: keys whose values become tags. */
  tag_keys: stringList.optional(),
})

export type ExecInputConfig = Scheduled<z.output<typeof execInputSchema>>

export const execInput = defineCollector({
  kind: 'exec',
  multiple: true,
  schema: execInputSchema,
  sample: `# Commands whose output is parsed as metrics.
~exec:
~  - name: queue
~    # A command line (run without a shell) or a list of arguments.
~    command: [/usr/local/bin/queue-stats, --json]
~    # Output format: influx (line protocol), json or prometheus.
~    data_format: json
~    # Measurement name for json output.
~    name_override: queue
~    # json output: keys whose values become tags.
~    tag_keys: [queue]
~    # Kill the command after this long.
~    timeout: 10s
~    # Run interval.
~    interval: 60s
~    # Send window summaries (fields <field>_mean, _max, _p95 …) instead of every point; with
~    # drop_original: false both. Stats: count sum mean min max first last stdev p50 p95 p99 …
~    aggregate: {period: 5m, stats: [mean, max, p95], drop_original: true}`,
  create: createExecCollector,
})
