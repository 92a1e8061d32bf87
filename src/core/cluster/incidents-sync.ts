import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import {sleep, type Timer} from '../scheduler/timer.js'
import {decodeIncidentEvent} from './incidents-events.js'
import type {IncidentLog, IncidentLogInfo} from './incidents-log.js'
import type {IncidentMaterialiser} from './incidents-materialise.js'

/**
 * Reads the incident log in order from the sequence after the last one applied here and applies
 * each event (incidents-materialise.ts). `catchUp` is serialised in the process; across processes
 * (the daemon and a CLI on its data dir) the materialiser's transaction makes a second apply a
 * no-op. `run` keeps applying until stopped: woken by the log's watch, polling as a fallback.
 */
export interface IncidentSyncFacts {
  stream: string
  /** the log's last sequence when last read */
  streamSeq: number
  /** the last sequence applied to this state.db */
  appliedSeq: number
  /** streamSeq − appliedSeq */
  lag: number
  /** events applied by this process since it started */
  applied: number
  /** undecodable messages skipped */
  invalid: number
  lastError: string | null
  lastSyncAt: number | null
}

export class IncidentSync {
  private chain: Promise<unknown> = Promise.resolve()
  private info: IncidentLogInfo | undefined
  private appliedCount = 0
  private invalid = 0
  private lastError: string | null = null
  private lastSyncAt: number | null = null
  private wakeUp: (() => void) | undefined
  private woke = false

  constructor(
    private readonly opts: {
      log: IncidentLog
      materialiser: IncidentMaterialiser
      logger?: Logger
      now: () => number
    },
  ) {}

  get logName(): string {
    return this.opts.log.name
  }

  /** Applies the log through its current end (at least through `seq`); resolves with the applied sequence. */
  catchUp(): Promise<number> {
    const next = this.chain.then(() => this.doCatchUp())
    this.chain = next.catch(() => {})
    return next
  }

  private async doCatchUp(): Promise<number> {
    const {log, materialiser: m} = this.opts
    const logger = this.opts.logger ?? silentLogger
    try {
      const info = await log.info()
      this.info = info
      let applied = m.appliedSeq(log.name)
      if (info.lastSeq < applied) {
        logger.warn('the incident stream has fewer events than this daemon applied (it was recreated): reading it from the start; events seen before are skipped by id', {stream: log.name, streamSeq: info.lastSeq, applied})
        m.reset(log.name)
        applied = 0
      }
      if (info.firstSeq > applied + 1) {
        logger.warn('the incident stream no longer has events this daemon has not applied (removed by age): skipping them', {stream: log.name, from: applied + 1, to: info.firstSeq - 1})
        m.skipTo(log.name, info.firstSeq - 1)
        applied = m.appliedSeq(log.name)
      }
      while (applied < info.lastSeq) {
        const entry = await log.read(applied + 1)
        if ('missing' in entry) {
          m.skipTo(log.name, entry.seq)
        } else {
          const event = decodeIncidentEvent(entry.data)
          if ('invalid' in event) {
            this.invalid++
            logger.warn('skipping a message of the incident stream that is not an incident event', {stream: log.name, seq: entry.seq, reason: event.invalid})
          }
          if (m.apply(log.name, entry.seq, event) === 'applied') this.appliedCount++
        }
        applied = m.appliedSeq(log.name)
      }
      m.reconcile()
      this.lastError = null
      this.lastSyncAt = this.opts.now()
      return applied
    } catch (err) {
      this.lastError = errorMessage(err)
      throw err
    }
  }

  /** Applies until `signal` aborts: at each wake-up of the log and every `pollMs`. */
  async run(signal: AbortSignal, timer: Timer, pollMs: number): Promise<void> {
    const logger = this.opts.logger ?? silentLogger
    const unwatch = this.opts.log.watch(() => {
      this.woke = true
      this.wakeUp?.()
    })
    let failing = false
    try {
      while (!signal.aborted) {
        this.woke = false
        try {
          await this.catchUp()
          if (failing) logger.info('the incident stream is readable again', {stream: this.logName})
          failing = false
        } catch (err) {
          if (!failing) logger.warn('cannot read the incident stream; retrying (acks through this daemon wait until it can)', {stream: this.logName, error: errorMessage(err)})
          failing = true
        }
        if (signal.aborted) break
        const nap = new AbortController()
        const stop = () => nap.abort()
        signal.addEventListener('abort', stop, {once: true})
        this.wakeUp = stop
        if (!this.woke) await sleep(timer, pollMs, nap.signal).catch(() => {})
        signal.removeEventListener('abort', stop)
        this.wakeUp = undefined
      }
    } finally {
      unwatch()
    }
  }

  /** Reads the log's end now (for status), then {@link facts}. */
  async refresh(): Promise<IncidentSyncFacts> {
    try {
      this.info = await this.opts.log.info()
    } catch (err) {
      this.lastError = errorMessage(err)
    }
    return this.facts()
  }

  facts(): IncidentSyncFacts {
    const appliedSeq = this.opts.materialiser.appliedSeq(this.opts.log.name)
    const streamSeq = Math.max(this.info?.lastSeq ?? 0, appliedSeq)
    return {
      stream: this.opts.log.name,
      streamSeq,
      appliedSeq,
      lag: streamSeq - appliedSeq,
      applied: this.appliedCount,
      invalid: this.invalid,
      lastError: this.lastError,
      lastSyncAt: this.lastSyncAt,
    }
  }
}
