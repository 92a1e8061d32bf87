import {join} from 'node:path'
import type {Clock} from '../clock.js'
import {parseDuration} from '../config/duration.js'
import type {MonConfig} from '../config/schema.js'
import {InputError} from '../errors.js'
import type {Logger} from '../log.js'
import {createExecCollector} from './exec.js'
import {createHostCollector} from './host.js'
import {createHttpCollector} from './http.js'
import {createPrometheusCollector} from './prometheus.js'
import {createTcpCollector} from './tcp.js'
import type {Collector, CollectorContext} from './types.js'

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
}

export function collectorContext(cfg: MonConfig, dataDir: string, clock: Clock, log: Logger): CollectorContext {
  return {host: cfg.host, globalTags: cfg.global_tags, stateDir: join(dataDir, 'state'), clock, log}
}

/** Input kinds that are lists of checks/jobs, in registry order. */
const LIST_KINDS = ['http', 'tcp', 'prometheus', 'exec'] as const

/** Every input's name as `buildInputs` gives it (`http:api`, `tcp[0]`), for --input hints. */
export function inputNames(cfg: MonConfig): string[] {
  const names: string[] = []
  if (cfg.inputs.host.enabled) names.push('host')
  for (const kind of LIST_KINDS) cfg.inputs[kind].forEach((item, i) => names.push(itemName(kind, item.name, i)))
  if (cfg.inputs.listener.enabled) names.push('listener')
  return names
}

function itemName(kind: string, name: string | undefined, index: number): string {
  return name ? `${kind}:${name}` : `${kind}[${index}]`
}

/**
 * Builds every enabled pull input from the config (the push listener is started by the agent).
 * A new input kind is one file in this folder plus one entry here.
 */
export function buildInputs(cfg: MonConfig, ctx: CollectorContext, only?: string[]): Input[] {
  const inputs: Input[] = []
  const host = cfg.inputs.host
  if (host.enabled) {
    inputs.push({name: 'host', kind: 'host', schedule: host.interval, jitter: parseDuration(host.jitter), collector: createHostCollector(host, ctx)})
  }
  const seen = new Set<string>()
  const add = (kind: string, item: {name?: string; interval: string; jitter: string; timeout: string}, index: number, make: (name: string) => Collector) => {
    const name = itemName(kind, item.name, index)
    if (seen.has(name)) throw new InputError(`two inputs.${kind} entries are named ${JSON.stringify(item.name)}`, {hint: 'give each a different name'})
    seen.add(name)
    // the collector's own timeout bounds the work; a little more for decoding
    inputs.push({name, kind, schedule: item.interval, jitter: parseDuration(item.jitter), timeout: parseDuration(item.timeout) + 1000, collector: make(name)})
  }
  cfg.inputs.http.forEach((c, i) => add('http', c, i, (name) => createHttpCollector(c, ctx, name)))
  cfg.inputs.tcp.forEach((c, i) => add('tcp', c, i, (name) => createTcpCollector(c, ctx, name)))
  cfg.inputs.prometheus.forEach((c, i) => add('prometheus', c, i, (name) => createPrometheusCollector(c, ctx, name)))
  cfg.inputs.exec.forEach((c, i) => add('exec', c, i, (name) => createExecCollector(c, ctx, name)))

  return only && only.length > 0 ? inputs.filter((i) => only.includes(i.name) || only.includes(i.kind)) : inputs
}
