import type {Point} from '../model/point.js'
import type {Frame, QueryOptions, QueryPlan, Store, WriteOutcome} from './../store/types.js'
import {Accumulators, bucketStart, derivative, lastPerBucket} from '../model/aggregate.js'
import {sortFrames} from '../store/frames.js'

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
 * With `shareReads`, plans over the same selector share one read of its raw points: the first
 * plan of a step reads the selector's points over the widest window seen for it (up to
 * `maxWindow`), and every aggregation, rate() and raw selection over it within that step is
 * computed from those points here, with the store's semantics (model/aggregate.ts). Rules that
 * read `cpu.usage_user` as mean over 5m, max over 1m and p95 over 15m then cost one read instead
 * of three. It is meant for the embedded store, where a read is cheap to ship but costly to
 * decode; on InfluxDB the server aggregates better than shipping raw points.
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
  /** answer plans over one selector from one raw read per step (see above) */
  shareReads?: boolean | ShareReadsOptions
}

export interface ShareReadsOptions {
  /** widest window read raw (default 1 h); wider plans go to the store */
  maxWindow?: number
  /** whether the store answers a raw read over this plan's window from raw points (retention) */
  canShare?: (plan: QueryPlan) => boolean
}

export interface QueryCacheStats {
  /** plans answered without a query to the store */
  hits: number
  /** plans that needed a query to the store */
  misses: number
  entries: number
  /** hits / (hits + misses), 0 before the first query */
  hitRatio: number
}

interface RawEntry {
  frames: Promise<Frame[]>
  start: number
  end: number
  measurement: string
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
  private readonly raw = new Map<string, RawEntry>()
  /** the widest window asked of each selector, so the next step reads it at once */
  private readonly widest = new Map<string, number>()
  private readonly share?: Required<Pick<ShareReadsOptions, 'maxWindow'>> & ShareReadsOptions
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
    if (opts.shareReads) this.share = {maxWindow: 3_600_000, ...(opts.shareReads === true ? {} : opts.shareReads)}
  }

  /** The plan with its window moved back to the step boundary (same length). */
  align(plan: QueryPlan): QueryPlan {
    if (this.step <= 1 || plan.offset) return plan
    const last = plan.end - 1
    const shift = last - Math.floor(last / this.step) * this.step
    return shift === 0 ? plan : {...plan, start: plan.start - shift, end: plan.end - shift}
  }

  /** A shared in-flight read runs under the deadline of the query that started it. */
  async query(plan: QueryPlan, opts?: QueryOptions): Promise<Frame[]> {
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

    const frames = this.answer(aligned, opts)
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
    while (this.raw.size > this.maxEntries) this.raw.delete(this.raw.keys().next().value!)
    return frames
  }

  /** A plan not in the cache: from a shared raw read when it can be, else from the store. */
  private answer(plan: QueryPlan, opts?: QueryOptions): Promise<Frame[]> {
    const share = this.share
    if (!share || plan.end - plan.start > share.maxWindow) return this.fromStore(plan, opts)
    const selector = selectorKey(plan)
    const window = Math.max(plan.end - plan.start, this.widest.get(selector) ?? 0)
    this.widest.set(selector, window)
    const rawKey = `${selector}@${plan.end}`
    let raw = this.raw.get(rawKey)
    if (!raw || raw.start > plan.start) {
      const read: QueryPlan = {measurement: plan.measurement, field: plan.field, matchers: plan.matchers, start: plan.end - window, end: plan.end}
      if (share.canShare && !share.canShare(read)) return this.fromStore(plan, opts)
      this.misses++
      const entry: RawEntry = {frames: this.inner.query(read, opts), start: read.start, end: read.end, measurement: plan.measurement}
      this.raw.set(rawKey, entry)
      entry.frames.catch(() => {
        if (this.raw.get(rawKey) === entry) this.raw.delete(rawKey)
      })
      raw = entry
    } else {
      this.hits++
    }

    // a string field (or anything the raw points cannot answer alike) goes to the store
    return raw.frames.then((frames) => fromRawFrames(plan, frames) ?? this.inner.query(plan, opts))
  }

  private fromStore(plan: QueryPlan, opts?: QueryOptions): Promise<Frame[]> {
    this.misses++
    return this.inner.query(plan, opts)
  }

  async write(points: Point[]): Promise<WriteOutcome | void> {
    const measurements = new Set(points.map((p) => p.measurement))
    this.forget(measurements)
    try {
      return await this.inner.write(points)
    } finally {
      // and once it is stored: a store that writes in another thread (the embedded store's write
      // thread) commits later, and a query made meanwhile cached what was there before
      this.forget(measurements)
    }
  }

  private forget(measurements: ReadonlySet<string>): void {
    for (const [key, e] of this.entries) if (measurements.has(e.measurement)) this.entries.delete(key)
    for (const [key, e] of this.raw) if (measurements.has(e.measurement)) this.raw.delete(key)
  }

  stats(): QueryCacheStats {
    const total = this.hits + this.misses
    return {hits: this.hits, misses: this.misses, entries: this.entries.size, hitRatio: total === 0 ? 0 : this.hits / total}
  }

  clear(): void {
    this.entries.clear()
    this.raw.clear()
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
    for (const [key, e] of this.raw) if (e.end < horizon) this.raw.delete(key)
  }
}

function selectorKey(p: QueryPlan): string {
  return JSON.stringify([p.measurement, p.field, p.matchers.map((m) => `${m.name}\u0000${m.op}\u0000${m.value}`).sort()])
}

/**
 * A plan answered from raw frames of its selector over a window that contains the plan's, with
 * the embedded store's semantics: groups keyed by the `by` tags (missing ones as ''), buckets from
 * `every` (aligned to the epoch) or one bucket at `start`, rate()/derivative() per series (over each
 * bucket's last value with `every`), booleans as 0/1, frames sorted by their tags. Undefined when
 * the points are strings (the store has its own rules for those).
 */
export function fromRawFrames(q: QueryPlan, raw: Frame[]): Frame[] | undefined {
  // buckets with an offset are the store's to cut (rules never ask for them)
  if (q.offset) return undefined
  const derive = (f: Frame, lo: number, hi: number): {ts: number[]; values: number[]} | undefined => {
    let ts: number[] = []
    let values: number[] = []
    for (let i = lo; i < hi; i++) {
      const v = numeric(f.rows[i][1])
      if (v === undefined) return undefined
      ts.push(f.rows[i][0] as number)
      values.push(v)
    }

    if (q.every) ({ts, values} = lastPerBucket(ts, values, q.every))
    return derivative(ts, values, q.transform === 'rate')
  }

  const frames: Frame[] = []
  if (!q.aggregate) {
    for (const f of raw) {
      const lo = lowerBound(f.rows, q.start)
      const hi = lowerBound(f.rows, q.end)
      if (hi === lo) continue
      if (q.transform) {
        const d = derive(f, lo, hi)
        if (!d) return undefined
        if (d.ts.length > 0) frames.push({name: q.measurement, tags: f.tags, columns: ['time', q.transform], rows: d.ts.map((t, i) => [t, d.values[i]])})
      } else {
        for (let i = lo; i < hi; i++) if (typeof f.rows[i][1] === 'string') return undefined
        frames.push({name: q.measurement, tags: f.tags, columns: ['time', q.field], rows: f.rows.slice(q.limit === undefined ? lo : Math.max(lo, hi - q.limit), hi)})
      }
    }

    return sortFrames(frames)
  }

  // one accumulator slot per group and bucket
  const {by, fn, param} = q.aggregate
  const every = q.every
  const base = every ? bucketStart(q.start, every) : q.start
  const buckets = every ? Math.floor((q.end - 1 - base) / every) + 1 : 1
  const acc = new Accumulators(fn, param)
  const groupOf = new Map<string, number>()
  const groupTags: Array<Record<string, string>> = []
  for (const f of raw) {
    const tags: Record<string, string> = {}
    for (const k of by) tags[k] = f.tags[k] ?? ''
    const key = by.length === 1 ? tags[by[0]] : by.map((k) => tags[k]).join('\u0000')
    let g = groupOf.get(key)
    if (g === undefined) {
      g = groupTags.length
      groupTags.push(tags)
      groupOf.set(key, g)
    }

    const offset = g * buckets
    const lo = lowerBound(f.rows, q.start)
    const hi = lowerBound(f.rows, q.end)
    if (q.transform) {
      const d = derive(f, lo, hi)
      if (!d) return undefined
      for (let i = 0; i < d.ts.length; i++) acc.add(offset + (every ? Math.floor((d.ts[i] - base) / every) : 0), d.ts[i], d.values[i])
      continue
    }

    for (let i = lo; i < hi; i++) {
      const t = f.rows[i][0] as number
      const v = numeric(f.rows[i][1])
      if (v === undefined) return undefined
      acc.add(offset + (every ? Math.floor((t - base) / every) : 0), t, v)
    }
  }

  groupTags.forEach((tags, g) => {
    const rows: Frame['rows'] = []
    for (let b = 0; b < buckets; b++) {
      const v = acc.result(g * buckets + b)
      if (v !== null) rows.push([every ? base + b * every : q.start, v])
    }

    if (rows.length > 0) frames.push({name: q.measurement, tags, columns: ['time', fn], rows})
  })
  return sortFrames(frames)
}

/** A stored value as aggregations see it: booleans as 0/1; undefined for text. */
function numeric(v: number | string | boolean | null): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0
  return v === null ? 0 : undefined
}

function lowerBound(rows: Frame['rows'], t: number): number {
  let lo = 0
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((rows[mid][0] as number) < t) lo = mid + 1
    else hi = mid
  }

  return lo
}

/** Identical plans get identical keys whatever the order of their matchers and `by` tags. */
export function planKey(p: QueryPlan): string {
  const matchers = p.matchers.map((m) => `${m.name}\u0000${m.op}\u0000${m.value}`).sort()
  const agg = p.aggregate ? [p.aggregate.fn, p.aggregate.param ?? null, [...p.aggregate.by].sort()] : null
  return JSON.stringify([p.measurement, p.field, matchers, p.start, p.end, p.every ?? null, p.offset ?? null, p.transform ?? null, agg, p.limit ?? null])
}
