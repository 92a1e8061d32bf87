import {z} from 'zod'
import {bool, duration, section, tagsSchema} from '../config/common.js'
import {tryParseDuration} from '../config/duration.js'
import {didYouMean} from '../did-you-mean.js'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import type {Point, Tags} from '../model/point.js'

/** The seam every input implements: gather points now; honour the abort signal (timeout/shutdown). */
export interface Collector {
  name: string
  collect(signal: AbortSignal): Promise<Point[]>
  /**
   * Called once per collect(), in collect order, when that run's points are in the spool (ok) or
   * were lost (not ok): an input that keeps a read position (tail) advances it only then.
   */
  spooled?(ok: boolean): void
  /**
   * A service input (statsd, udp) binds its socket here; the agent calls it before the first
   * run, and `stop` after the last (whose points it still writes).
   */
  start?(): Promise<void>
  stop?(): Promise<void>
  /** a service input's own counters (received, parse errors by reason, kernel drops…) */
  serviceStats?(): Record<string, number>
}

/** What every collector gets from the pipeline: identity tags, where to keep state, time, logs. */
export interface CollectorContext {
  /** value of the `host` tag every point carries */
  host: string
  /** configured global tags, added to every point (a point's own tags win) */
  globalTags: Tags
  /** directory for state that must survive between runs (e.g. previous /proc/stat sample for --once) */
  stateDir: string
  clock: Clock
  log: Logger
  /**
   * Cluster scrape sharding (docs/cluster.md#sharding): whether this process scrapes a pull target
   * (`prometheus:<url>`, or a check's input name: `http:api`, `tcp[0]`) for the run at `at` (ms). Absent →
   * it scrapes everything.
   */
  shard?: ShardFilter
}

/** Which pull targets this collector owns; the same answer on every member for the same `at`. */
export interface ShardFilter {
  owns(key: string, at: number): boolean
}

/**
 * The start of the interval a run at `now` belongs to (runs are aligned to multiples of the
 * interval, docs/collectors.md): what a sharded input asks ownership for, so two members deciding
 * at different moments of one interval decide for the same instant. A cron schedule → `now`.
 */
export function runSlot(now: number, interval: string): number {
  const period = tryParseDuration(interval)
  return period !== undefined && period > 0 ? Math.floor(now / period) * period : now
}

/** Whether this process should run the pull target `key` now (true without cluster sharding). */
export function ownsTarget(ctx: Pick<CollectorContext, 'shard' | 'clock'>, key: string, interval: string, now = ctx.clock.now()): boolean {
  return ctx.shard === undefined || ctx.shard.owns(key, runSlot(now, interval))
}

/** Adds `host`, the global tags and the input's own tags to points, without overwriting the point's tags. */
export function decorate(points: Point[], ctx: Pick<CollectorContext, 'host' | 'globalTags'>, inputTags: Tags = {}): Point[] {
  for (const p of points) {
    const tags: Tags = {}
    for (const [k, v] of Object.entries(ctx.globalTags)) tags[k] = v
    for (const [k, v] of Object.entries(inputTags)) tags[k] = v
    if (ctx.host) tags.host = ctx.host
    for (const [k, v] of Object.entries(p.tags)) tags[k] = v
    p.tags = tags
  }
  return points
}

/** The summaries `aggregate.stats` may ask for, besides percentiles `p1` … `p99` (`p99.9` too). */
export const AGGREGATE_STATS = ['count', 'sum', 'mean', 'min', 'max', 'first', 'last', 'stdev'] as const
const PERCENTILE_STAT = /^p(\d{1,2}(\.\d+)?)$/

/** Whether `s` is a stat agent-side aggregation knows: one of {@link AGGREGATE_STATS} or a percentile p1…p99.9. */
export function isAggregateStat(s: string): boolean {
  if ((AGGREGATE_STATS as readonly string[]).includes(s)) return true
  const m = PERCENTILE_STAT.exec(s)
  return m !== null && Number(m[1]) > 0 && Number(m[1]) < 100
}

const aggregateStat = z.string().superRefine((s, ctx) => {
  if (isAggregateStat(s)) return
  const near = didYouMean(s, [...AGGREGATE_STATS, 'p50', 'p90', 'p95', 'p99'])
  ctx.addIssue({code: 'custom', message: `unknown stat ${JSON.stringify(s)}${near ? ` (did you mean ${near}?)` : ''}: expected ${AGGREGATE_STATS.join(', ')} or a percentile p50, p95, p99 …`})
})

/**
 * `aggregate:` of a scheduled input (Telegraf's basicstats): per series and numeric field, one
 * summary per `period` (windows aligned to the epoch) with fields `<field>_<stat>`, sent when the
 * window closes; `drop_original` (default true) says whether the raw points are sent too.
 */
export const aggregateSchema = section({
  period: duration({positive: true}),
  stats: z.array(aggregateStat).min(1).default(['mean', 'min', 'max', 'count']),
  drop_original: bool().default(true),
})

export type AggregateConfig = z.output<typeof aggregateSchema>

/** Fields every input that is a list of checks/jobs has (name, jitter, tags, aggregate). */
export const pullInputFields = {
  name: z.string().optional(),
  /** Default: agent.jitter (filled in after parsing). */
  jitter: duration().optional(),
  tags: tagsSchema.optional(),
  aggregate: aggregateSchema.optional(),
}

/** An entry as its collector gets it: every default applied, and agent.jitter / agent.interval where it leaves them out. */
export type Scheduled<C> = Omit<C, 'jitter' | 'interval'> & {jitter: string; interval: string}

interface CollectorDefinitionBase<S extends z.ZodType, M extends boolean> {
  /** the key under `inputs:` */
  kind: string
  /** true: a list of checks or jobs (`inputs.http: [...]`); false: one section (`inputs.host:`) */
  multiple: M
  /** one entry's schema: a list item, or the whole section (every default applied here) */
  schema: S
  /**
   * This input's block under `inputs:` in `mon config init`, written without the section's
   * indentation, with config/sample.ts's first-column markers (`~` optional, `=` default-only).
   */
  sample: string
}

/** An input the agent runs on a schedule: every entry becomes one collector. */
export interface PullCollectorDefinition<S extends z.ZodType = z.ZodType, M extends boolean = boolean> extends CollectorDefinitionBase<S, M> {
  /** `name` is the input's name (`http:api`, `tcp[0]`, `host`). */
  create(config: Scheduled<z.output<S>>, ctx: CollectorContext, name: string): Collector
}

/** An input that is pushed to (the listener): the agent starts it, so the registry only has its config. */
export interface PushCollectorDefinition<S extends z.ZodType = z.ZodType> extends CollectorDefinitionBase<S, false> {
  create?: undefined
}

export type CollectorDefinition = PullCollectorDefinition | PushCollectorDefinition

/**
 * What an input file exports: its schema, defaults (in the schema), sample block and factory. A new
 * input is one file plus one line in registry.ts. Field helpers come from config/common.ts, never
 * config/schema.ts: the config schema is built from the registry, so that import would be a cycle.
 */
export function defineCollector<S extends z.ZodType, M extends boolean>(def: PullCollectorDefinition<S, M>): PullCollectorDefinition<S, M>
export function defineCollector<S extends z.ZodType>(def: PushCollectorDefinition<S>): PushCollectorDefinition<S>
export function defineCollector(def: CollectorDefinition): CollectorDefinition {
  return def
}
