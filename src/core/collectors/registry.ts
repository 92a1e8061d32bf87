import {join} from 'node:path'
import type {z} from 'zod'
import type {Clock} from '../clock.js'
import {parseDuration} from '../config/duration.js'
import {InputError} from '../errors.js'
import type {Logger} from '../log.js'
import type {Tags} from '../model/point.js'
import {execInput} from './exec.js'
import {hostInput} from './host.js'
import {httpInput} from './http.js'
import {listenerInput} from './listener.js'
import {prometheusInput} from './prometheus.js'
import {statsdInput} from './statsd.js'
import {tailInput} from './tail.js'
import {tcpInput} from './tcp.js'
import {udpInput} from './udp.js'
import type {AggregateConfig, Collector, CollectorContext, CollectorDefinition, PullCollectorDefinition, PushCollectorDefinition, Scheduled} from './types.js'

/**
 * Every input, by its key under `inputs:`, in the order of the config sample and of the inputs the
 * agent builds. A new input is one file in this folder (`defineCollector`) plus one line here: its
 * config section, its block in `mon config init` and its collectors all come from that file.
 */
export const COLLECTORS = {
  host: hostInput,
  http: httpInput,
  tcp: tcpInput,
  prometheus: prometheusInput,
  exec: execInput,
  tail: tailInput,
  listener: listenerInput,
  statsd: statsdInput,
  udp: udpInput,
}

export type CollectorKind = keyof typeof COLLECTORS

const KINDS = Object.keys(COLLECTORS) as CollectorKind[]

type EntryConfig<D> = D extends PullCollectorDefinition<infer S, boolean> ? Scheduled<z.output<S>> : D extends PushCollectorDefinition<infer S> ? z.output<S> : never

/** The `inputs` section as the rest of mon sees it: every default applied, inherited ones too. */
export type InputsConfig = {[K in CollectorKind]: (typeof COLLECTORS)[K]['multiple'] extends true ? Array<EntryConfig<(typeof COLLECTORS)[K]>> : EntryConfig<(typeof COLLECTORS)[K]>}

function definition(kind: CollectorKind): CollectorDefinition {
  return COLLECTORS[kind] as CollectorDefinition
}

/** The parsed `inputs` section with agent.jitter (and agent.interval) filled in where a scheduled input leaves them out. */
export function withInheritedDefaults(inputs: Record<CollectorKind, unknown>, agent: {interval: string; jitter: string}): InputsConfig {
  const inherit = (entry: {interval?: string | undefined; jitter?: string | undefined}) => ({...entry, jitter: entry.jitter ?? agent.jitter, interval: entry.interval ?? agent.interval})
  const out: Record<string, unknown> = {...inputs}
  for (const kind of KINDS) {
    const def = definition(kind)
    if (!def.create) continue
    out[kind] = def.multiple ? (inputs[kind] as Parameters<typeof inherit>[0][]).map(inherit) : inherit(inputs[kind] as Parameters<typeof inherit>[0])
  }
  return out as InputsConfig
}

/** What building inputs needs from the config (a MonConfig is one). */
export interface InputsSource {
  host: string
  global_tags: Tags
  inputs: InputsConfig
}

/** A configured input: its collector and when it runs (a duration such as `10s`, or a cron expression). */
export interface Input {
  /** unique, e.g. `host`, `http:api-health`, `tcp[0]` */
  name: string
  kind: string
  schedule: string
  jitter: number
  collector: Collector
  /** longest a run may take (ms); default: the interval, at most 60 s */
  timeout?: number
  /** agent-side aggregation (`aggregate:`): window summaries instead of (or beside) the raw points */
  aggregate?: AggregateConfig
}

export function collectorContext(cfg: Omit<InputsSource, 'inputs'>, dataDir: string, clock: Clock, log: Logger): CollectorContext {
  return {host: cfg.host, globalTags: cfg.global_tags, stateDir: join(dataDir, 'state'), clock, log}
}

interface Entry {
  kind: CollectorKind
  name: string
  config: {name?: string | undefined; enabled?: boolean; interval?: string; jitter?: string; timeout?: string; aggregate?: AggregateConfig}
}

/** Every configured entry in registry order: each item of a list, a section unless it says `enabled: false`. */
function entries(inputs: InputsConfig): Entry[] {
  const out: Entry[] = []
  for (const kind of KINDS) {
    const value = inputs[kind] as Entry['config'] | Entry['config'][]
    if (Array.isArray(value)) value.forEach((config, i) => out.push({kind, name: itemName(kind, config.name, i), config}))
    else if (value.enabled !== false) out.push({kind, name: kind, config: value})
  }
  return out
}

/** Every input's name as `buildInputs` gives it (`http:api`, `tcp[0]`), for --input hints. */
export function inputNames(cfg: Pick<InputsSource, 'inputs'>): string[] {
  return entries(cfg.inputs).map((e) => e.name)
}

function itemName(kind: string, name: string | undefined, index: number): string {
  return name ? `${kind}:${name}` : `${kind}[${index}]`
}

/** Builds every enabled pull input from the config (the push listener is started by the agent). */
export function buildInputs(cfg: InputsSource, ctx: CollectorContext, only?: string[]): Input[] {
  const inputs: Input[] = []
  const seen = new Set<string>()
  for (const {kind, name, config} of entries(cfg.inputs)) {
    const def = definition(kind)
    if (!def.create) continue
    if (seen.has(name)) throw new InputError(`two inputs.${kind} entries are named ${JSON.stringify(config.name)}`, {hint: 'give each a different name'})
    seen.add(name)
    const collector = (def.create as (config: unknown, ctx: CollectorContext, name: string) => Collector)(config, ctx, name)
    // withInheritedDefaults gave every scheduled entry its interval and jitter
    const input: Input = {name, kind, schedule: config.interval!, jitter: parseDuration(config.jitter!), collector}
    // an entry's own timeout bounds the work; a little more for decoding (without one: the interval, at most 60 s)
    if (config.timeout !== undefined) input.timeout = parseDuration(config.timeout) + 1000
    if (config.aggregate) input.aggregate = config.aggregate
    inputs.push(input)
  }
  return only && only.length > 0 ? inputs.filter((i) => only.includes(i.name) || only.includes(i.kind)) : inputs
}
