/**
 * Events: a small stream of things that happened (deploy markers, log matches, alert transitions),
 * stored as points of the measurement `events` in whatever store holds the metrics:
 *
 *   events,source=<cli|tail|alerts|…>,<user tags> value=1,title="deploy v1.2"[,text="…"] <ts>
 *
 * `value` is always 1, so `count_over_time(events{source="cli"}[5m])` counts them in rules (a
 * dotless name `events` is the field `value` of the measurement); `title` and `text` are string
 * fields read back raw and joined by series and timestamp. Stores that speak the Prometheus API
 * (VictoriaMetrics, Prometheus) hold numbers only: events can be counted there but not listed.
 */
import {InputError} from '../errors.js'
import type {Matcher} from './matcher.js'
import type {Point} from './point.js'

export const EVENTS_MEASUREMENT = 'events'

/** One event as the model writes it (see the file comment). */
export function eventPoint(e: {title: string; text?: string; tags?: Record<string, string>; source: string; ts: number}): Point {
  return {
    measurement: 'events',
    tags: {source: e.source, ...e.tags},
    fields: {value: 1, title: e.title, ...(e.text ? {text: e.text} : {})},
    ts: e.ts,
  }
}

/** An event read back from the store. `tags` holds the user tags (and `source` repeated, as stored). */
export interface StoredEvent {
  ts: number
  source: string
  title: string
  text?: string
  tags: Record<string, string>
}

/** A raw read of one field (the required part of the store's QueryPlan; the model does not import the store). */
interface RawPlan {
  measurement: string
  field: string
  matchers: Matcher[]
  start: number
  end: number
}

/** The part of a store readEvents needs (the Store seam's query, and its kind). */
export interface EventSource {
  readonly kind: string
  query(q: RawPlan): Promise<Array<{tags: Record<string, string>; rows: Array<Array<number | string | boolean | null>>}>>
}

/** Why a store cannot list events, or undefined when it can (the embedded store, InfluxDB). */
export function eventsUnsupportedReason(store: {readonly kind: string}): string | undefined {
  if (store.kind === 'prometheus' || store.kind === 'victoriametrics') {
    const name = store.kind === 'prometheus' ? 'Prometheus' : 'VictoriaMetrics'
    return `a ${name} store holds numbers only: event titles and texts (string fields) are not stored there, so events cannot be listed (they can still be counted in rules: count_over_time(events[5m]))`
  }
  return undefined
}

export class EventsUnsupportedError extends InputError {
  constructor(reason: string) {
    super(`cannot list events: ${reason}`, {hint: 'events are listed from the embedded store (store.type: sqlite) or InfluxDB'})
    this.name = 'EventsUnsupportedError'
  }
}

function seriesKey(tags: Record<string, string>): string {
  return JSON.stringify(Object.keys(tags).sort().map((k) => [k, tags[k]]))
}

/**
 * Every event in [start, end) whose tags match `matchers`, oldest first (ties by source, then
 * title). Two raw reads (`title`, `text`) joined by series and timestamp. A store that cannot hold
 * strings throws {@link EventsUnsupportedError}; ask {@link eventsUnsupportedReason} first to skip quietly.
 */
export async function readEvents(store: EventSource, opts: {start: number; end: number; matchers?: Matcher[]; limit?: number}): Promise<StoredEvent[]> {
  const reason = eventsUnsupportedReason(store)
  if (reason) throw new EventsUnsupportedError(reason)
  const plan = (field: string): RawPlan => ({measurement: EVENTS_MEASUREMENT, field, matchers: opts.matchers ?? [], start: opts.start, end: opts.end})
  const [titles, texts] = await Promise.all([store.query(plan('title')), store.query(plan('text'))])
  const textOf = new Map<string, string>()
  for (const f of texts) {
    const key = seriesKey(f.tags)
    for (const [t, v] of f.rows) if (typeof t === 'number' && v !== null && v !== undefined) textOf.set(`${key}@${t}`, String(v))
  }
  const out: StoredEvent[] = []
  for (const f of titles) {
    const key = seriesKey(f.tags)
    for (const [t, v] of f.rows) {
      if (typeof t !== 'number' || v === null || v === undefined) continue
      const text = textOf.get(`${key}@${t}`)
      out.push({ts: t, source: f.tags.source ?? '', title: String(v), ...(text === undefined ? {} : {text}), tags: {...f.tags}})
    }
  }
  out.sort((a, b) => a.ts - b.ts || a.source.localeCompare(b.source) || a.title.localeCompare(b.title))
  return opts.limit !== undefined && out.length > opts.limit ? out.slice(-opts.limit) : out
}
