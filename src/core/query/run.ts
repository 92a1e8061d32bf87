import type {Frame, FullStore, QueryPlan} from '../store/types.js'
import {evaluate, plansOf} from './executor.js'
import {parseQuery} from './parser.js'
import {autoEvery, parseTime} from './time.js'
import {parseDuration} from '../config/duration.js'
import {InputError} from '../errors.js'
import type {Clock} from '../clock.js'
import {DEFAULT_QUERY_TIMEOUT_MS, QueryDeadline} from './deadline.js'

export interface QueryRequest {
  query: string
  since?: string
  until?: string
  every?: string
  now: number
  /** the run's time budget in ms (default {@link DEFAULT_QUERY_TIMEOUT_MS}) */
  timeoutMs?: number
  /** the clock the budget is measured on */
  clock?: Clock
}

/** The `mon query` result; `--json` prints exactly this. Times are RFC 3339 strings. */
export interface QueryResult {
  query: string
  start: string
  end: string
  every?: string
  series: Array<{name: string; tags: Record<string, string>; columns: string[]; values: Array<Array<string | number | boolean | null>>}>
}

export interface PreparedQuery {
  text: string
  start: number
  end: number
  every?: number
  run(store: FullStore, observe?: (p: QueryPlan) => void): Promise<Frame[]>
  plans(): QueryPlan[]
}

/** Parses and resolves the time range; throws located errors before anything runs. */
export function prepareQuery(req: QueryRequest): PreparedQuery {
  const expr = parseQuery(req.query)
  const end = req.until ? parseTime(req.until, req.now, '--until') : req.now
  const start = parseTime(req.since ?? '1h', req.now, '--since')
  if (start >= end) throw new InputError(`--since (${new Date(start).toISOString()}) is not before --until (${new Date(end).toISOString()})`)
  let every: number | undefined
  if (req.every === 'auto') every = autoEvery(start, end)
  else if (req.every) {
    every = parseDuration(req.every)
    if (every <= 0) throw new InputError('--every must be a positive duration')
    if ((end - start) / every > 100_000) throw new InputError(`--every ${req.every} makes ${Math.ceil((end - start) / every)} buckets`, {hint: 'use a wider --every or a shorter --since'})
  }

  const opts = {start, end, every, source: req.query}
  return {
    text: req.query,
    start,
    end,
    every,
    async run(store, observe) {
      const deadline = new QueryDeadline(req.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, req.clock)
      const out = await evaluate(expr, store, {...opts, deadline}, observe)
      if (typeof out === 'number') return [{name: 'scalar', tags: {}, columns: ['time', 'value'], rows: [[start, out]]}]
      return out
    },
    plans: () => plansOf(expr, opts),
  }
}

export function toQueryResult(q: PreparedQuery, frames: Frame[], every?: string): QueryResult {
  return {
    query: q.text,
    start: new Date(q.start).toISOString(),
    end: new Date(q.end).toISOString(),
    every,
    series: frames.map((f) => ({
      name: f.name,
      tags: f.tags,
      columns: f.columns,
      values: f.rows.map((r) => [new Date(r[0] as number).toISOString(), ...r.slice(1)]),
    })),
  }
}
