import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import type {Point, Tags} from '../model/point.js'

/** The seam every input implements: gather points now; honour the abort signal (timeout/shutdown). */
export interface Collector {
  name: string
  collect(signal: AbortSignal): Promise<Point[]>
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
