import type {Point} from '../model/point.js'
import type {Frame, QueryPlan, Store} from './../store/types.js'

/**
 * The query result cache (the seed's "query service (+cache)"): a {@link Store} wrapper that
 * answers a plan it has already run from memory. Many alert rules read the same series over the
 * same window and differ only in the threshold or labels applied afterwards (`… > 80` warning,
 * `… > 95` critical); those share one backend query per evaluation step.
 *
 * Windows are aligned to `step`: a plan's inclusive end moves back to the last multiple of the
 * step (the window keeps its length), so rules evaluated anywhere within one step ask for — and
 * share — the same data. Data newer than the step boundary is seen at the next step; with the
 * evaluation times on step boundaries (as the scheduler ticks) nothing moves at all.
 *
 * Concurrent identical queries share one in-flight request. Failures are not cached. Entries older
 * than the newest window by more than `keepSteps` steps are dropped, and at most `maxEntries` are
 * kept (least recently used first). A write through the cache drops the written measurements'
 * entries. Cached frames are shared: callers must not modify them (the executor never does).
 */
export interface QueryCacheOptions {
  /** alignment step in ms (1 disables alignment) */
  step: number
  maxEntries?: number
  /** how many steps behind the newest window entries are kept (default 2) */
  keepSteps?: number
}

export interface QueryCacheStats {
  hits: number
  misses: number
  entries: number
  /** hits / (hits + misses), 0 before the first query */
  hitRatio: number
}

interface Entry {
  frames: Promise<Frame[]>
  end: number
  measurement: string
}

export class QueryCache implements Store {
  readonly kind: string
  readonly step: number
  private readonly maxEntries: number
  private readonly keepSteps: number
  private readonly entries = new Map<string, Entry>()
  private newestEnd = Number.NEGATIVE_INFINITY
  private hits = 0
  private misses = 0

  constructor(
    readonly inner: Store,
    opts: QueryCacheOptions,
  ) {
    if (!(opts.step >= 1)) throw new RangeError(`query cache step must be at least 1 ms, got ${opts.step}`)
    this.kind = inner.kind
    this.step = Math.floor(opts.step)
    this.maxEntries = opts.maxEntries ?? 10_000
    this.keepSteps = opts.keepSteps ?? 2
  }

  /** The plan with its window moved back to the step boundary (same length). */
  align(plan: QueryPlan): QueryPlan {
    if (this.step <= 1) return plan
    const last = plan.end - 1
    const shift = last - Math.floor(last / this.step) * this.step
    return shift === 0 ? plan : {...plan, start: plan.start - shift, end: plan.end - shift}
  }

  async query(plan: QueryPlan): Promise<Frame[]> {
    const aligned = this.align(plan)
    const key = planKey(aligned)
    const hit = this.entries.get(key)
    if (hit) {
      this.hits++
      // most recently used last, so eviction takes the oldest first
      this.entries.delete(key)
      this.entries.set(key, hit)
      return hit.frames
    }

    this.misses++
    const frames = this.inner.query(aligned)
    const entry: Entry = {frames, end: aligned.end, measurement: aligned.measurement}
    this.entries.set(key, entry)
    frames.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key)
    })
    if (aligned.end > this.newestEnd) {
      this.newestEnd = aligned.end
      this.evictOld()
    }

    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    return frames
  }

  async write(points: Point[]): Promise<void> {
    const measurements = new Set(points.map((p) => p.measurement))
    for (const [key, e] of this.entries) if (measurements.has(e.measurement)) this.entries.delete(key)
    return this.inner.write(points)
  }

  stats(): QueryCacheStats {
    const total = this.hits + this.misses
    return {hits: this.hits, misses: this.misses, entries: this.entries.size, hitRatio: total === 0 ? 0 : this.hits / total}
  }

  clear(): void {
    this.entries.clear()
    this.newestEnd = Number.NEGATIVE_INFINITY
  }

  /** Closes the wrapped store. */
  async close(): Promise<void> {
    this.clear()
    await this.inner.close()
  }

  private evictOld(): void {
    const horizon = this.newestEnd - this.keepSteps * this.step
    for (const [key, e] of this.entries) if (e.end < horizon) this.entries.delete(key)
  }
}

/** Identical plans get identical keys whatever the order of their matchers and `by` tags. */
export function planKey(p: QueryPlan): string {
  const matchers = p.matchers.map((m) => `${m.name}\u0000${m.op}\u0000${m.value}`).sort()
  const agg = p.aggregate ? [p.aggregate.fn, p.aggregate.param ?? null, [...p.aggregate.by].sort()] : null
  return JSON.stringify([p.measurement, p.field, matchers, p.start, p.end, p.every ?? null, p.transform ?? null, agg, p.limit ?? null])
}
