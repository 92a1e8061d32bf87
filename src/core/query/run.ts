import type {FullStore} from '../store/types.js'
import {implicitRange, runInstant, runRange, type PlanObserver} from './executor.js'
import {parseQuery} from './parser.js'
import {autoEvery, parseTime} from './time.js'
import {formatDuration, parseDuration} from '../config/duration.js'
import {InputError} from '../errors.js'
import type {Clock} from '../clock.js'
import {DEFAULT_QUERY_TIMEOUT_MS, QueryDeadline} from './deadline.js'
import type {ParsedQuery} from './ast.js'
import {METRIC_NAME, withoutName} from './eval/series.js'
import {DEFAULT_LOOKBACK_MS, type Value} from './eval/engine.js'

/**
 * `mon query`: with no range flags an instant query at now (or `at`), evaluated exactly as a rule
 * is; with `since`/`until`/`step` a range query, the instant query at every step.
 */
export interface QueryRequest {
  query: string
  /** instant query time */
  at?: string
  since?: string
  until?: string
  /** range step (`--step`, `--every`): a duration or 'auto' */
  step?: string
  /** the flag the step came from, for messages (--step or --every) */
  stepFlag?: string
  now: number
  /** instant selectors look this far back (default 5m) */
  lookbackMs?: number
  /** the run's time budget in ms (default {@link DEFAULT_QUERY_TIMEOUT_MS}) */
  timeoutMs?: number
  /** the clock the budget is measured on */
  clock?: Clock
}

/** The `mon query` result; `--json` prints exactly this. Times are RFC 3339 strings. */
export interface QueryResult {
  query: string
  /** instant: one value per series at `end`; range: a value per step from `start` to `end` */
  type: 'instant' | 'range'
  /** PromQL's result type: vector, matrix (a range query, or an instant query of a range), scalar */
  resultType: 'vector' | 'matrix' | 'scalar' | 'string'
  start: string
  end: string
  /** a range query's step */
  step?: string
  /** alias of step, kept for scripts written against --every */
  every?: string
  series: Array<{name: string; tags: Record<string, string>; columns: string[]; values: Array<Array<string | number | boolean | null>>}>
}

export interface PreparedQuery {
  text: string
  parsed: ParsedQuery
  type: 'instant' | 'range'
  start: number
  end: number
  step?: number
  run(store: FullStore, observe?: PlanObserver): Promise<QueryResult>
  /** lines saying how the query is evaluated, for --explain */
  explain(): string[]
}

/** Parses and resolves the times; throws located errors before anything runs. */
export function prepareQuery(req: QueryRequest): PreparedQuery {
  const parsed = parseQuery(req.query)
  const ranged = req.since !== undefined || req.until !== undefined || req.step !== undefined
  if (ranged && req.at !== undefined) throw new InputError('--at is an instant query; --since/--until/--step make a range query: give one or the other')
  const lookbackMs = req.lookbackMs ?? DEFAULT_LOOKBACK_MS
  const timeoutMs = req.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS
  if (!ranged) {
    const at = req.at === undefined ? req.now : parseTime(req.at, req.now, '--at')
    return {
      text: req.query,
      parsed,
      type: 'instant',
      start: at,
      end: at,
      async run(store, observe) {
        const deadline = new QueryDeadline(timeoutMs, req.clock)
        const {value} = await runInstant(parsed, store, at, {lookbackMs, deadline, observe})
        return instantResult(req.query, at, value)
      },
      explain: () => [`instant query at ${new Date(at).toISOString()}; selectors look back ${formatDuration(lookbackMs)}; rate(x) without [d] reads ${formatDuration(implicitRange(lookbackMs))}`],
    }
  }

  const end = req.until ? parseTime(req.until, req.now, '--until') : req.now
  const start = parseTime(req.since ?? '1h', req.now, '--since')
  if (start >= end) throw new InputError(`--since (${new Date(start).toISOString()}) is not before --until (${new Date(end).toISOString()})`)
  let step: number
  if (req.step === undefined || req.step === 'auto') step = autoEvery(start, end)
  else {
    step = parseDuration(req.step)
    if (step <= 0) throw new InputError(`${req.stepFlag ?? '--step'} must be a positive duration`)
  }

  if ((end - start) / step > 11_000) {
    throw new InputError(`${req.stepFlag ?? '--step'} ${req.step} makes ${Math.ceil((end - start) / step) + 1} steps, more than 11,000`, {hint: 'use a wider --step or a shorter --since (Prometheus has the same limit)'})
  }

  // steps counted back from the end, so the last one is --until (or now) and sees the newest point
  const first = end - Math.floor((end - start) / step) * step
  return {
    text: req.query,
    parsed,
    type: 'range',
    start: first,
    end,
    step,
    async run(store, observe) {
      const deadline = new QueryDeadline(timeoutMs, req.clock)
      const series = await runRange(parsed, store, first, end, step, {lookbackMs, deadline, observe})
      return {
        query: req.query,
        type: 'range',
        resultType: 'matrix',
        start: new Date(first).toISOString(),
        end: new Date(end).toISOString(),
        step: formatDuration(step),
        every: formatDuration(step),
        series: series.map((s) => ({
          name: s.labels[METRIC_NAME] ?? '',
          tags: withoutName(s.labels),
          columns: ['time', 'value'],
          values: s.samples.map((p) => [new Date(p.t).toISOString(), p.v]),
        })),
      }
    },
    explain: () => [
      `range query from ${new Date(first).toISOString()} to ${new Date(end).toISOString()} every ${formatDuration(step)} (${Math.floor((end - first) / step) + 1} steps); selectors look back ${formatDuration(lookbackMs)}; rate(x) without [d] reads ${formatDuration(implicitRange(lookbackMs, step))}`,
    ],
  }
}

function instantResult(query: string, at: number, value: Value): QueryResult {
  const base = {query, type: 'instant' as const, start: new Date(at).toISOString(), end: new Date(at).toISOString()}
  const iso = (t: number) => new Date(t).toISOString()
  switch (value.type) {
    case 'scalar':
      return {...base, resultType: 'scalar', series: [{name: '', tags: {}, columns: ['time', 'value'], values: [[iso(at), value.v]]}]}
    case 'string':
      return {...base, resultType: 'string', series: [{name: '', tags: {}, columns: ['time', 'value'], values: [[iso(at), value.v]]}]}
    case 'vector':
      return {
        ...base,
        resultType: 'vector',
        // a value that is one stored point is shown at that point's time
        series: value.elements.map((e) => ({name: e.labels[METRIC_NAME] ?? '', tags: withoutName(e.labels), columns: ['time', 'value'], values: [[iso(e.sampleT ?? e.t), e.v]]})),
      }
    case 'matrix':
      return {
        ...base,
        resultType: 'matrix',
        series: value.series.map((s) => ({name: s.labels[METRIC_NAME] ?? '', tags: withoutName(s.labels), columns: ['time', 'value'], values: s.samples.map((p) => [iso(p.t), p.v])})),
      }
  }
}
