/**
 * Agent-side aggregation (an input's `aggregate:`, Telegraf's basicstats habit): the points of an
 * input go into windows of `period` aligned to the epoch ([k·period, (k+1)·period), by the point's
 * own time); when a window closes (the clock passes its end) each series (measurement + tags) gets
 * one summary point at the window's start with a field `<field>_<stat>` per numeric field and stat
 * (`usage_mean`, `usage_p95`, `usage_count` …). With `drop_original` (the default) only the
 * summaries go on; without it the raw points go on as they come and the summaries follow.
 *
 * Plainly: fields that are not numbers (strings, booleans) are not summarized, so with
 * drop_original they are not sent at all; a point for a window already sent (older than the
 * clock's previous window) is counted as late and left out of the summaries; stopping the agent
 * sends the open windows as they are (partial).
 */
import type {AggregateConfig} from '../collectors/types.js'
import {parseDuration} from '../config/duration.js'
import {numericValue, type FieldValue, type Point, type Tags} from '../model/point.js'
import {percentile, stddev} from '../model/aggregate.js'

interface SeriesWindow {
  measurement: string
  tags: Tags
  /** per field: values in arrival order and their times (for first/last) */
  fields: Map<string, {ts: number[]; values: number[]}>
}

export interface AggregatorStats {
  /** points that fell in a window already sent: not in any summary */
  late: number
  /** summaries sent */
  summaries: number
  /** windows open now */
  open: number
}

export class WindowAggregator {
  readonly period: number
  readonly stats: readonly string[]
  readonly dropOriginal: boolean
  private readonly windows = new Map<number, Map<string, SeriesWindow>>()
  /** windows that start before this were sent */
  private sentBefore = Number.NEGATIVE_INFINITY
  private late = 0
  private summaries = 0

  constructor(cfg: AggregateConfig) {
    this.period = parseDuration(cfg.period)
    this.stats = cfg.stats
    this.dropOriginal = cfg.drop_original
  }

  /** The config's identity: an input keeps its open windows over a reload that leaves this alone. */
  static key(cfg: AggregateConfig): string {
    return JSON.stringify([cfg.period, cfg.stats, cfg.drop_original])
  }

  /** Takes an input run's points; returns what goes on now (the points themselves unless drop_original). */
  add(points: Point[]): Point[] {
    for (const p of points) {
      const start = Math.floor(p.ts / this.period) * this.period
      if (start < this.sentBefore) {
        this.late++
        continue
      }
      let window = this.windows.get(start)
      if (!window) this.windows.set(start, (window = new Map()))
      const key = seriesKey(p.measurement, p.tags)
      let series = window.get(key)
      if (!series) window.set(key, (series = {measurement: p.measurement, tags: p.tags, fields: new Map()}))
      for (const [name, value] of Object.entries(p.fields)) {
        const v = summarizable(value)
        if (v === undefined) continue
        let f = series.fields.get(name)
        if (!f) series.fields.set(name, (f = {ts: [], values: []}))
        f.ts.push(p.ts)
        f.values.push(v)
      }
    }
    return this.dropOriginal ? [] : points
  }

  /** When the earliest open window closes (ms), or undefined when none is open. */
  nextClose(): number | undefined {
    let first: number | undefined
    for (const start of this.windows.keys()) if (first === undefined || start < first) first = start
    return first === undefined ? undefined : first + this.period
  }

  /** Summaries of the windows that ended by `now` (every open window with `all`: stopping), oldest first. */
  flush(now: number, all = false): Point[] {
    const out: Point[] = []
    const starts = [...this.windows.keys()].filter((s) => all || s + this.period <= now).sort((a, b) => a - b)
    for (const start of starts) {
      for (const series of this.windows.get(start)!.values()) {
        const fields: Record<string, FieldValue> = {}
        for (const [name, f] of series.fields) Object.assign(fields, summarize(name, f, this.stats))
        if (Object.keys(fields).length > 0) out.push({measurement: series.measurement, tags: series.tags, fields, ts: start})
      }
      this.windows.delete(start)
      this.sentBefore = Math.max(this.sentBefore, start + this.period)
    }
    this.summaries += out.length
    return out
  }

  status(): AggregatorStats {
    return {late: this.late, summaries: this.summaries, open: this.windows.size}
  }
}

function seriesKey(measurement: string, tags: Tags): string {
  return JSON.stringify([measurement, ...Object.keys(tags).sort().map((k) => [k, tags[k]])])
}

/** Numbers (floats, integers, unsigned) are summarized; strings and booleans are not. */
function summarizable(value: FieldValue): number | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return undefined
  const v = numericValue(value)
  return v !== undefined && Number.isFinite(v) ? v : undefined
}

/** `<field>_<stat>` for every stat with a value (stdev needs two values). All floats. */
export function summarize(name: string, f: {ts: number[]; values: number[]}, stats: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  const vs = f.values
  const n = vs.length
  if (n === 0) return out
  let sum = 0
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  let first = 0
  let last = 0
  for (let i = 0; i < n; i++) {
    const v = vs[i]
    sum += v
    if (v < min) min = v
    if (v > max) max = v
    // the earliest and the latest by time (the first and last to arrive among equal times)
    if (f.ts[i] < f.ts[first]) first = i
    if (f.ts[i] >= f.ts[last]) last = i
  }
  for (const stat of stats) {
    let v: number | null
    switch (stat) {
      case 'count':
        v = n
        break
      case 'sum':
        v = sum
        break
      case 'mean':
        v = sum / n
        break
      case 'min':
        v = min
        break
      case 'max':
        v = max
        break
      case 'first':
        v = vs[first]
        break
      case 'last':
        v = vs[last]
        break
      case 'stdev':
        v = stddev(vs)
        break
      default:
        // pNN: the nearest-rank percentile, as percentile() in queries
        v = percentile(vs, Number(stat.slice(1)))
    }
    if (v !== null) out[`${name}_${stat}`] = v
  }
  return out
}
