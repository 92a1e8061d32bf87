/**
 * The collection agent: inputs on their schedules → batcher → disk spool → writer → store, plus
 * the push listener and mon's own metrics. `mon collect` runs one in the foreground; the daemon
 * embeds one. Everything time-related comes from the injected clock and timer.
 *
 *   const agent = await createAgent({config, dataDir, store: () => openStore(...), clock, log})
 *   await agent.start()
 *   …
 *   const {pending} = await agent.stop(10_000)   // flushes; what is left stays in the spool
 */
import {needOptimizingCompiler, takeBulkBuffers} from '../runtime.js'
import {deadline} from '../abort.js'
import {systemClock, type Clock} from '../clock.js'
import {Listener, type ListenerStats} from '../collectors/listener.js'
import {checkServerSocket, serverSocketOptions} from '../server/socket.js'
import {PartialCollectError} from '../collectors/partial.js'
import {buildInputs, collectorContext, type Input} from '../collectors/registry.js'
import {createSharding, type ShardingStatus} from '../cluster/shard-filter.js'
import {parseDuration, parseSize} from '../config/duration.js'
import type {MonConfig} from '../config/schema.js'
import {errorMessage, InputError} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {Point} from '../model/point.js'
import {parseSchedule} from '../scheduler/schedule.js'
import {Scheduler, type Job, type JobStatus} from '../scheduler/scheduler.js'
import {systemTimer, type Timer} from '../scheduler/timer.js'
import {WindowAggregator, type AggregatorStats} from './aggregator.js'
import {Batcher} from './batcher.js'
import {mergeDropCounts, totalDropped} from './drops.js'
import {selfMetricsPoints, type InputCounters} from './self-metrics.js'
import {Spool, spoolDir, type SpoolStatus} from './spool.js'
import {Writer, type StoreSource, type WriterStats} from './writer.js'
import {roundMs} from '../format.js'
import {forwarding, openForwarder, type ForwardStats, type StreamForwarder} from '../cluster/forward.js'

export interface AgentOptions {
  config: MonConfig
  dataDir: string
  /** the store, or how to open it (retried until it opens) */
  store: StoreSource
  clock?: Clock
  timer?: Timer
  log?: Logger
  random?: () => number
  /** only these inputs (names or kinds), as `mon collect --input` */
  only?: string[]
  /** start the push listener when the config enables it (default true) */
  listener?: boolean
}

export interface InputStatus extends InputCounters {
  schedule: string
  nextRun?: number
  lastRun?: number
  /** points of the last run */
  points: number
  lastError?: string
  lastErrorAt?: number
  missed: number
  overlapped: number
  /** with `aggregate:` — late: points left out of the summaries (their window was already sent) */
  aggregate?: AggregatorStats
  /** a service input's own counters (statsd, udp) */
  service?: Record<string, number>
}

export interface AgentStatus {
  startedAt: number
  running: boolean
  inputs: InputStatus[]
  spool: SpoolStatus
  /** points collected but kept in memory because the spool refused them (a full disk, or when_full: reject) */
  heldPoints: number
  writer: WriterStats
  /** cluster.forward: what went to the points stream (the writer's figures count the same points) */
  forward?: ForwardStats
  listener?: ListenerStats & {address?: {host: string; port: number}}
  /** cluster scrape sharding: the static shard, or the members as this one sees them */
  sharding?: ShardingStatus
}

export interface AgentStopSummary {
  /** points written to the store since start */
  written: number
  /** points still in the spool (written by a later run) */
  pending: number
  /** everything was written before the deadline */
  drained: boolean
}

export interface Agent {
  start(): Promise<void>
  /** Stops collecting and listening, flushes to the store until `deadlineMs` passes, closes the spool. */
  stop(deadlineMs?: number): Promise<AgentStopSummary>
  /** Spools what is batched and waits (up to `deadlineMs`) until the store has everything. */
  flushNow(deadlineMs?: number): Promise<boolean>
  status(): AgentStatus
  /** Applies a new config: inputs rebuilt, listener restarted if its settings changed, limits updated. */
  reload(config: MonConfig): Promise<void>
  /** where the push listener listens, once started; scheme `https` with tls_cert */
  readonly listenerAddress: {host: string; port: number; scheme: 'http' | 'https'} | undefined
  /** the inputs being run */
  readonly inputs: readonly Input[]
}

export const SELF_INPUT = 'internal'

/** Opens the spool (recovering what an earlier run left) and builds the inputs; call `start()` to run. */
export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const clock = opts.clock ?? systemClock
  const timer = opts.timer ?? systemTimer
  const log = opts.log ?? silentLogger
  let config = opts.config
  const spool = Spool.open({
    dir: spoolDir(opts.dataDir),
    maxBytes: parseSize(config.spool.max_bytes),
    segmentBytes: parseSize(config.spool.segment_bytes),
    reserveBytes: parseSize(config.spool.reserve_bytes),
    fsync: config.spool.fsync,
    whenFull: config.spool.when_full,
    clock,
    log: log.child({component: 'spool'}),
  })
  const batcher = new Batcher({spool, batchSize: config.agent.batch_size, flushIntervalMs: parseDuration(config.agent.flush_interval), timer, log})
  // cluster.forward: the spool drains into the cluster's points stream, not the store
  let forwarder: StreamForwarder | undefined
  const store: StoreSource = forwarding(config.cluster) ? async () => (forwarder = await openForwarder(config.cluster, {log: log.child({component: 'forward'})})) : opts.store
  const writer = new Writer({spool, store, clock, timer, log: log.child({component: 'writer'}), batchSize: config.agent.batch_size, concurrency: config.agent.write_concurrency, random: opts.random})
  const startedAt = clock.now()
  // cluster scrape sharding: which pull targets this member scrapes (joined in start())
  const sharding = createSharding(config, {clock, timer, log})
  const counters = new Map<string, InputStatus>()
  let inputs: Input[] = []
  let scheduler: Scheduler
  let listener: Listener | undefined
  let running = false

  // agent-side aggregation: one aggregator per input with `aggregate:`, flushed by a timer when
  // its earliest window closes (and every open window on stop)
  const aggregators = new Map<string, {key: string; agg: WindowAggregator; timer?: ReturnType<Timer['setTimeout']>}>()
  const sendSummaries = (name: string, now: number, all = false) => {
    const entry = aggregators.get(name)
    if (!entry) return
    const summaries = entry.agg.flush(now, all)
    if (summaries.length > 0) void batcher.add(name, summaries).catch(() => {})
  }
  const armAggregator = (name: string) => {
    const entry = aggregators.get(name)
    if (!entry || entry.timer !== undefined) return
    const close = entry.agg.nextClose()
    if (close === undefined) return
    entry.timer = timer.setTimeout(() => {
      entry.timer = undefined
      sendSummaries(name, clock.now())
      armAggregator(name)
    }, close - clock.now())
  }
  const syncAggregators = (list: Input[], flushAll: boolean) => {
    const wanted = new Map(list.filter((i) => i.aggregate).map((i) => [i.name, i.aggregate!]))
    for (const [name, entry] of aggregators) {
      const cfg = wanted.get(name)
      if (!flushAll && cfg && WindowAggregator.key(cfg) === entry.key) continue
      if (entry.timer !== undefined) timer.clearTimeout(entry.timer)
      sendSummaries(name, clock.now(), true)
      aggregators.delete(name)
    }
    if (flushAll) return
    for (const [name, cfg] of wanted) if (!aggregators.has(name)) aggregators.set(name, {key: WindowAggregator.key(cfg), agg: new WindowAggregator(cfg)})
  }

  const countersFor = (name: string, kind: string, schedule: string): InputStatus => {
    let c = counters.get(name)
    if (!c) counters.set(name, (c = {name, kind, schedule, gathered: 0, written: 0, dropped: 0, errors: 0, runs: 0, points: 0, missed: 0, overlapped: 0}))
    c.schedule = schedule
    return c
  }

  /** per input: the collector hears whether each run's points reached the spool, in run order */
  const spoolChains = new WeakMap<Input, Promise<void>>()
  const tellSpooled = (input: Input, ok: Promise<boolean>) => {
    const hook = input.collector.spooled
    if (!hook) return
    const chain = (spoolChains.get(input) ?? Promise.resolve()).then(() => ok).then((v) => hook.call(input.collector, v))
    spoolChains.set(
      input,
      chain.catch(() => {}),
    )
  }

  const runInput = (input: Input, c: InputStatus, period: number | undefined) => async (signal: AbortSignal) => {
    const started = performance.now()
    const timeout = input.timeout ?? Math.min(period ?? 60_000, 60_000)
    let points: Point[] = []
    let error: string | undefined
    const limit = deadline(signal, timeout)
    try {
      points = await input.collector.collect(limit.signal)
    } catch (err) {
      if (err instanceof PartialCollectError) points = err.points
      else if (signal.aborted) {
        tellSpooled(input, Promise.resolve(false))
        return // stopping: not the input's fault
      }
      error = errorMessage(err)
    } finally {
      limit.dispose()
    }
    c.runs++
    c.lastRun = clock.now()
    c.lastDurationMs = roundMs(performance.now() - started)
    c.points = points.length
    c.gathered += points.length
    c.lastOk = error === undefined
    if (error !== undefined) {
      c.errors++
      if (c.lastError !== error) log.warn('input failed', {input: input.name, error})
      c.lastError = error
      c.lastErrorAt = c.lastRun
    } else if (c.lastError !== undefined) {
      log.info('input recovered', {input: input.name})
      c.lastError = undefined
    }
    // with `aggregate:` the points go into their windows (and on only without drop_original)
    const aggregator = aggregators.get(input.name)
    if (aggregator && points.length > 0) {
      points = aggregator.agg.add(points)
      armAggregator(input.name)
    }
    // not awaited: the run is over once collected; spooling errors are counted by the batcher.
    // Unless the spool is full (when_full: reject): then the run lasts until its points are
    // taken, so the input's next runs are skipped (counted as overlapped) instead of piling up.
    const added = points.length > 0 ? batcher.add(input.name, points) : Promise.resolve()
    tellSpooled(
      input,
      added.then(
        () => true,
        () => false,
      ),
    )
    if (points.length > 0) {
      const spooled = added.catch(() => {})
      if (batcher.holding() && !signal.aborted) {
        // stopping ends the wait: the final flush then counts what could not be spooled
        let stopped = (): void => {}
        await Promise.race([spooled, new Promise<void>((resolve) => signal.addEventListener('abort', (stopped = () => resolve()), {once: true}))])
        signal.removeEventListener('abort', stopped)
      }
    }
  }

  const selfJob = (): Job => ({
    name: SELF_INPUT,
    schedule: parseSchedule(config.agent.interval, {timezone: config.agent.timezone}),
    jitter: 0,
    run: async () => {
      const c = countersFor(SELF_INPUT, SELF_INPUT, config.agent.interval)
      const points = selfMetricsPoints({now: clock.now(), startedAt, inputs: inputCounters(), spool: spool.status(), heldPoints: batcher.stats().held, writer: writer.stats(), latency: writer.takeLatency(), listener: listener?.stats(), forward: forwarder?.stats()})
      c.runs++
      c.lastRun = clock.now()
      c.points = points.length
      c.gathered += points.length
      c.lastOk = true
      void batcher.add(SELF_INPUT, points).catch(() => {})
    },
  })

  /** counters with what only the pipeline knows (written, dropped) filled in */
  const inputCounters = (): InputStatus[] => {
    const w = writer.stats().writtenByInput
    const s = spool.status().droppedByReason
    const b = batcher.stats()
    for (const input of inputs) {
      const service = input.collector.serviceStats?.()
      if (service) countersFor(input.name, input.kind, input.schedule).service = service
    }
    if (listener) {
      const l = listener.stats()
      const c = countersFor(listener.name, 'listener', 'push')
      c.gathered = l.points
      c.points = l.points
      c.errors = l.badRequests + l.errors + l.unauthorized + l.throttled + l.tooLarge + l.overloaded + l.spoolFull
    }
    return [...counters.values()].map((c) => {
      const droppedBy = mergeDropCounts({unserializable: b.invalidByInput[c.name], spool_write_failed: b.failedByInput[c.name]}, s[c.name])
      const agg = aggregators.get(c.name)?.agg.status()
      return {...c, written: w[c.name] ?? 0, dropped: totalDropped(droppedBy), droppedBy, ...(agg ? {aggregate: agg} : {})}
    })
  }

  const buildScheduler = () => {
    const ctx = {...collectorContext(config, opts.dataDir, clock, log), ...(sharding ? {shard: sharding.filter} : {})}
    inputs = buildInputs(config, ctx, opts.only)
    syncAggregators(inputs, false)
    const s = new Scheduler({clock, timer, log, random: opts.random})
    for (const input of inputs) {
      const schedule = parseSchedule(input.schedule, {timezone: config.agent.timezone})
      const c = countersFor(input.name, input.kind, schedule.describe())
      s.add({name: input.name, schedule, jitter: input.jitter, run: runInput(input, c, schedule.period)})
    }
    if (config.agent.self_metrics && (!opts.only?.length || opts.only.includes(SELF_INPUT))) s.add(selfJob())
    return s
  }

  /** Binds the service inputs (statsd, udp) of `list`; one that cannot leaves none bound. */
  const startServices = async (list: readonly Input[]) => {
    const started: Input[] = []
    for (const input of list) {
      if (!input.collector.start) continue
      try {
        await input.collector.start()
      } catch (err) {
        for (const s of started) await s.collector.stop?.().catch(() => {})
        throw new InputError(`inputs.${input.kind}: cannot listen: ${errorMessage(err)}`, {hint: 'another process may hold the address: change inputs.' + input.kind + '.listen'})
      }
      started.push(input)
    }
  }
  /** Closes the service inputs' sockets, then writes what they held (the last interval's aggregates). */
  const stopServices = async (list: readonly Input[]) => {
    for (const input of list) {
      if (!input.collector.stop) continue
      await input.collector.stop().catch((err) => log.warn('input stop failed', {input: input.name, error: errorMessage(err)}))
      const points = await input.collector.collect(new AbortController().signal).catch(() => [] as Point[])
      if (points.length === 0) continue
      const c = countersFor(input.name, input.kind, input.schedule)
      c.gathered += points.length
      // not awaited (a full spool with when_full: reject holds it): stop()'s final flush counts what is not taken
      void batcher.add(input.name, points).catch(() => {})
    }
  }

  const listenerWanted = () => opts.listener !== false && config.inputs.listener.enabled && (!opts.only?.length || opts.only.includes('listener'))
  const listenerKey = (c: MonConfig) => JSON.stringify([c.inputs.listener, c.host, c.global_tags])
  const startListener = async () => {
    const lc = config.inputs.listener
    const l = new Listener({
      listen: lc.listen,
      token: lc.token,
      maxBodyBytes: parseSize(lc.max_body),
      maxBufferedBytes: parseSize(lc.max_buffered),
      spool,
      ctx: {host: config.host, globalTags: config.global_tags, clock, log: log.child({component: 'listener'})},
      tags: lc.tags,
      socket: serverSocketOptions('inputs.listener', lc),
    })
    const address = await l.start()
    needOptimizingCompiler() // the listener's check is the hot path that needs it
    takeBulkBuffers() // and its bodies: fewer major collections (runtime.ts)
    countersFor(l.name, 'listener', 'push')
    log.info('listening for line protocol', {address: `${address.host}:${address.port}`, scheme: l.scheme})
    listener = l
  }

  try {
    scheduler = buildScheduler()
  } catch (err) {
    await spool.close()
    throw err
  }

  const agent: Agent = {
    get listenerAddress() {
      return listener?.address && {...listener.address, scheme: listener.scheme}
    },
    get inputs() {
      return inputs
    },

    async start() {
      if (running) return
      writer.start()
      try {
        if (listenerWanted()) await startListener()
        await startServices(inputs)
      } catch (err) {
        await listener?.stop()
        listener = undefined
        await writer.stop()
        throw err
      }
      // joins before the first run (never fails: unreachable NATS → every target until it answers)
      await sharding?.start()
      scheduler.start()
      running = true
    },

    async stop(deadlineMs = 10_000) {
      const deadline = clock.now() + deadlineMs
      running = false
      await scheduler.stop()
      // after the last run: the others take this member's targets from the next interval
      await sharding?.stop().catch((err) => log.warn('leaving the cluster failed', {error: errorMessage(err)}))
      await stopServices(inputs)
      await listener?.stop(Math.max(0, Math.min(5000, deadlineMs / 2)))
      // open aggregation windows are sent as they are
      syncAggregators([], true)
      await batcher.flush({final: true}).catch(() => {})
      const drained = await writer.drain(deadline)
      await writer.stop()
      await forwarder?.close().catch(() => {})
      const written = writer.stats().points
      const pending = spool.backlog().points
      await spool.close()
      return {written, pending, drained}
    },

    async flushNow(deadlineMs = 10_000) {
      await batcher.flush()
      return writer.drain(clock.now() + deadlineMs)
    },

    status() {
      const jobs = new Map<string, JobStatus>(scheduler.status().map((j) => [j.name, j]))
      const list = inputCounters().map((c) => {
        const j = jobs.get(c.name)
        return j ? {...c, nextRun: j.nextRun, missed: j.missed, overlapped: j.overlapped} : c
      })
      return {
        startedAt,
        running,
        inputs: list,
        spool: spool.status(),
        heldPoints: batcher.stats().held,
        writer: writer.stats(),
        ...(forwarder ? {forward: forwarder.stats()} : {}),
        listener: listener ? {...listener.stats(), address: listener.address} : undefined,
        ...(sharding ? {sharding: sharding.status()} : {}),
      }
    },

    async reload(next) {
      const listenerChanged = listenerKey(next) !== listenerKey(config)
      const previous = config
      const previousInputs = inputs
      config = next
      let fresh: Scheduler
      try {
        fresh = buildScheduler()
        // a bad TLS file must not cost the running listener
        if (listenerChanged && listenerWanted()) checkServerSocket(serverSocketOptions('inputs.listener', next.inputs.listener))
      } catch (err) {
        config = previous // keep running as before
        inputs = previousInputs
        throw err
      }
      await scheduler.stop()
      scheduler = fresh
      if (running) {
        // the new service inputs bind the addresses the old ones free
        await stopServices(previousInputs)
        try {
          await startServices(inputs)
        } catch (err) {
          // the other inputs keep running; the one that cannot listen says so in its status
          log.error('input cannot listen', {error: errorMessage(err)})
          for (const input of inputs) {
            if (!input.collector.start) continue
            const c = countersFor(input.name, input.kind, input.schedule)
            c.lastError = errorMessage(err)
            c.lastErrorAt = clock.now()
          }
        }
      }
      spool.configure({maxBytes: parseSize(next.spool.max_bytes), segmentBytes: parseSize(next.spool.segment_bytes), fsync: next.spool.fsync, whenFull: next.spool.when_full})
      batcher.configure({batchSize: next.agent.batch_size, flushIntervalMs: parseDuration(next.agent.flush_interval)})
      writer.configure({batchSize: next.agent.batch_size, concurrency: next.agent.write_concurrency})
      if (running && (listenerChanged || !listenerWanted())) {
        await listener?.stop()
        listener = undefined
      }
      if (running && !listener && listenerWanted()) await startListener()
      if (running) scheduler.start()
    },
  }
  return agent
}
