/**
 * `mon collect --once`: every input once, through the same spool as continuous collection —
 * collect → spool → write to the store → exit. When the store is down the points stay in the
 * spool and the next run (cron's next minute, or `mon collect`) writes them first.
 */
import {deadline} from '../abort.js'
import type {Clock} from '../clock.js'
import {PartialCollectError} from '../collectors/partial.js'
import type {Input} from '../collectors/registry.js'
import {parseSize} from '../config/duration.js'
import type {MonConfig} from '../config/schema.js'
import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {Point} from '../model/point.js'
import type {Timer} from '../scheduler/timer.js'
import {WindowAggregator} from './aggregator.js'
import {toLineProtocol} from './batcher.js'
import {SELF_INPUT} from './agent.js'
import {DropTally, mergeDropCounts, totalDropped, type DropCounts} from './drops.js'
import {selfMetricsPoints} from './self-metrics.js'
import {Spool, spoolDir} from './spool.js'
import {Writer, type StoreSource} from './writer.js'

export interface InputRun {
  input: string
  points: number
  ms: number
  error?: string
  /** a service input's counters: received, parse errors by reason, kernel drops (see collectors/packet-socket.ts) */
  stats?: Record<string, number>
}

export interface CollectSummary {
  points: number
  inputs: number
  failed: number
  runs: InputRun[]
}

/**
 * Runs every input once, concurrently, each bounded by `timeout` (or its own, when shorter);
 * hands each input's points to `sink` as it finishes. A failing input is reported, it does not
 * stop the others; a partly failing one keeps the points it got.
 */
export async function collectOnce(inputs: Input[], sink: (input: Input, points: Point[]) => Promise<void>, opts: {timeout: number; signal?: AbortSignal}): Promise<CollectSummary> {
  let total = 0
  const runs = await Promise.all(
    inputs.map(async (input): Promise<InputRun> => {
      const started = performance.now()
      const limit = deadline(opts.signal, Math.min(opts.timeout, input.timeout ?? opts.timeout))
      let points: Point[] = []
      let error: string | undefined
      let stats: Record<string, number> | undefined
      try {
        // a service input (statsd, udp) binds, and gives what arrived meanwhile: with --once, little
        if (input.collector.start) {
          await input.collector.start()
          await input.collector.stop?.()
        }
        points = await input.collector.collect(limit.signal)
        stats = input.collector.serviceStats?.()
      } catch (err) {
        if (err instanceof PartialCollectError) points = err.points
        error = limit.timedOut && !(err instanceof PartialCollectError) ? `timed out after ${Math.min(opts.timeout, input.timeout ?? opts.timeout)} ms` : errorMessage(err)
      } finally {
        limit.dispose()
      }
      try {
        if (points.length > 0) await sink(input, points)
      } catch (err) {
        input.collector.spooled?.(false)
        throw err
      }
      input.collector.spooled?.(true)
      total += points.length
      const run: InputRun = {input: input.name, points: points.length, ms: Math.round(performance.now() - started)}
      if (error !== undefined) run.error = error
      if (stats) run.stats = stats
      return run
    }),
  )
  return {points: total, inputs: inputs.length, failed: runs.filter((r) => r.error).length, runs}
}

export interface OnceOptions {
  config: MonConfig
  dataDir: string
  inputs: Input[]
  store: StoreSource
  clock: Clock
  timer?: Timer
  log?: Logger
  /** per-input time limit (ms) */
  timeout: number
  /** how long to keep trying the store before leaving the points in the spool (ms) */
  flushTimeout: number
}

export interface OnceSummary extends CollectSummary {
  /** points written to the store in this run (earlier runs' leftovers included) */
  written: number
  /** points an earlier run had left in the spool */
  backlog: number
  /** points left in the spool for the next run */
  pending: number
  spool: string
  /** points of this run not written and never to be: every collected point is written, pending or here */
  dropped: number
  /** the same per input and reason (see pipeline/drops.ts) */
  droppedBy: Record<string, DropCounts>
  /** why the store could not take everything */
  storeError?: string
}

export async function runOnce(opts: OnceOptions): Promise<OnceSummary> {
  const log = opts.log ?? silentLogger
  const spool = Spool.open({
    dir: spoolDir(opts.dataDir),
    maxBytes: parseSize(opts.config.spool.max_bytes),
    segmentBytes: parseSize(opts.config.spool.segment_bytes),
    reserveBytes: parseSize(opts.config.spool.reserve_bytes),
    fsync: opts.config.spool.fsync,
    whenFull: opts.config.spool.when_full,
    clock: opts.clock,
    log,
  })
  try {
    const backlog = spool.backlog().points
    const writer = new Writer({
      spool,
      store: opts.store,
      clock: opts.clock,
      timer: opts.timer,
      log,
      batchSize: opts.config.agent.batch_size,
      concurrency: opts.config.agent.write_concurrency,
      backoffMs: {initial: 200, max: Math.max(200, opts.flushTimeout / 4)},
    })
    // leftovers of earlier runs go first, while the inputs collect
    writer.start()
    const startedAt = opts.clock.now()
    const unserializable = new DropTally()
    const droppedBy = (): Record<string, DropCounts> => {
      const fromSpool = spool.status().droppedByReason
      const early = unserializable.toJSON()
      const out: Record<string, DropCounts> = {}
      for (const input of new Set([...Object.keys(early), ...Object.keys(fromSpool)])) out[input] = mergeDropCounts(early[input], fromSpool[input])
      return out
    }
    let summary: CollectSummary
    let drained: boolean
    try {
      summary = await collectOnce(
        opts.inputs,
        async (input, collected) => {
          // one run is one sample: its window summaries (of what this run saw) go with it or instead of it
          let points = collected
          if (input.aggregate) {
            const agg = new WindowAggregator(input.aggregate)
            points = [...agg.add(collected), ...agg.flush(opts.clock.now(), true)]
          }
          const {text, count, invalid} = toLineProtocol(points)
          unserializable.add(input.name, 'unserializable', invalid)
          if (count > 0) await spool.append([{input: input.name, points: count, precision: 'ms', payload: text}])
        },
        {timeout: opts.timeout},
      )
      const flushBy = opts.clock.now() + opts.flushTimeout
      drained = await writer.drain(flushBy)
      if (opts.config.agent.self_metrics) {
        // after the flush, so that they say what this run wrote and dropped; written by the next run if the store is down
        const written = writer.stats().writtenByInput
        const drops = droppedBy()
        const inputs = summary.runs.map((r) => ({
          name: r.input,
          kind: opts.inputs.find((i) => i.name === r.input)?.kind ?? '',
          gathered: r.points,
          written: written[r.input] ?? 0,
          dropped: totalDropped(drops[r.input] ?? {}),
          droppedBy: drops[r.input],
          errors: r.error ? 1 : 0,
          runs: 1,
          lastDurationMs: r.ms,
          lastOk: !r.error,
          ...(r.stats ? {service: r.stats} : {}),
        }))
        const points = selfMetricsPoints({now: opts.clock.now(), startedAt, inputs, spool: spool.status(), writer: writer.stats(), latency: writer.takeLatency()})
        const {text, count} = toLineProtocol(points)
        await spool.append([{input: SELF_INPUT, points: count, precision: 'ms', payload: text}])
        drained = (await writer.drain(flushBy)) && drained
      }
    } catch (err) {
      // e.g. a full spool that refuses (when_full: reject): the writer's retries must not keep the process alive
      await writer.stop()
      throw err
    }
    await writer.stop()
    const stats = writer.stats()
    const drops = droppedBy()
    const dropped = Object.values(drops).reduce((n, d) => n + totalDropped(d), 0)
    const result: OnceSummary = {...summary, written: stats.points, backlog, pending: spool.backlog().points, spool: spool.dir, dropped, droppedBy: drops}
    if (!drained || result.pending > 0) result.storeError = stats.lastError ?? 'the store did not answer in time'
    return result
  } finally {
    await spool.close()
  }
}
