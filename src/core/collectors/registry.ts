import {join} from 'node:path'
import type {Clock} from '../clock.js'
import {parseDuration} from '../config/duration.js'
import type {MonConfig} from '../config/schema.js'
import type {Logger} from '../log.js'
import {createHostCollector} from './host.js'
import type {Collector, CollectorContext} from './types.js'

/** A configured input: its collector and when it runs (a duration such as `10s`, or a cron expression). */
export interface Input {
  /** unique, e.g. `host`, `http:api-health`, `tcp[0]` */
  name: string
  kind: string
  schedule: string
  jitter: number
  collector: Collector
}

export function collectorContext(cfg: MonConfig, dataDir: string, clock: Clock, log: Logger): CollectorContext {
  return {host: cfg.host, globalTags: cfg.global_tags, stateDir: join(dataDir, 'state'), clock, log}
}

/**
 * Builds every enabled input from the config. A new input kind is one file in this folder plus
 * one entry here.
 */
export function buildInputs(cfg: MonConfig, ctx: CollectorContext, only?: string[]): Input[] {
  const inputs: Input[] = []
  const host = cfg.inputs.host
  if (host.enabled) {
    inputs.push({name: 'host', kind: 'host', schedule: host.interval, jitter: parseDuration(host.jitter), collector: createHostCollector(host, ctx)})
  }

  return only && only.length > 0 ? inputs.filter((i) => only.includes(i.name) || only.includes(i.kind)) : inputs
}
