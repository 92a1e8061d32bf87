import type {Clock} from '../clock.js'
import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import type {Schedule} from './schedule.js'
import {systemTimer, type Timer, type TimerHandle} from './timer.js'

/** Something run on a schedule. `run` should honour the signal (stop, or the next run being due). */
export interface Job {
  name: string
  schedule: Schedule
  /** each run starts up to this many ms after its scheduled time (random, to spread load) */
  jitter: number
  run(signal: AbortSignal): Promise<void>
}

export interface JobStatus {
  name: string
  schedule: string
  /** when the next run is due (ms), undefined when stopped */
  nextRun?: number
  lastStart?: number
  lastEnd?: number
  running: boolean
  runs: number
  /** scheduled times that passed while the process was suspended or the clock jumped (run once, not in a burst) */
  missed: number
  /** runs skipped because the previous one was still going */
  overlapped: number
}

export interface SchedulerOptions {
  clock: Clock
  timer?: Timer
  log?: Logger
  /** [0, 1) source for jitter; tests pass a fixed one */
  random?: () => number
  /**
   * Longest single timer. Timers run on a monotonic clock that stops during suspend and ignores
   * wall-clock steps, so a long wait is split into pieces and the wall clock re-checked after each.
   */
  maxSleepMs?: number
}

/** A wall clock step backwards larger than this re-plans from the new time (else we would sit out the gap). */
const BACKWARD_STEP_MS = 1000
const MAX_MISSED_COUNTED = 10_000

class ScheduledJob {
  status: JobStatus
  private handle?: TimerHandle
  private fireAt = 0
  private base = 0
  private lastSeen = 0
  private inflight?: Promise<void>
  private abort?: AbortController

  constructor(
    readonly job: Job,
    private readonly opts: Required<Omit<SchedulerOptions, 'log'>> & {log?: Logger},
  ) {
    this.status = {name: job.name, schedule: job.schedule.describe(), running: false, runs: 0, missed: 0, overlapped: 0}
  }

  private stopped = false

  start(): void {
    this.stopped = false
    this.plan(this.opts.clock.now())
  }

  /** Stops planning; aborts a running run (or lets it finish) and waits for it. */
  async stop(abortRunning = true): Promise<void> {
    this.stopped = true
    if (this.handle) this.opts.timer.clearTimeout(this.handle)
    this.handle = undefined
    this.status.nextRun = undefined
    if (abortRunning) this.abort?.abort(new Error('stopping'))
    await this.inflight
  }

  private jitter(): number {
    const period = this.job.schedule.period
    const max = period === undefined ? this.job.jitter : Math.min(this.job.jitter, period - 1)
    return max > 0 ? Math.floor(this.opts.random() * max) : 0
  }

  private plan(after: number): void {
    this.base = this.job.schedule.next(after)
    this.fireAt = this.base + this.jitter()
    this.status.nextRun = this.fireAt
    this.lastSeen = after
    this.arm(after)
  }

  private arm(now: number): void {
    const delay = Math.min(Math.max(0, this.fireAt - now), this.opts.maxSleepMs)
    this.handle = this.opts.timer.setTimeout(() => this.wake(), delay)
  }

  private wake(): void {
    this.handle = undefined
    if (this.stopped) return
    const now = this.opts.clock.now()
    if (now < this.lastSeen - BACKWARD_STEP_MS) {
      this.opts.log?.warn('wall clock stepped back, re-planning', {job: this.job.name, stepMs: this.lastSeen - now})
      this.plan(now)
      return
    }
    this.lastSeen = now
    if (now < this.fireAt) {
      this.arm(now)
      return
    }

    const missed = this.countMissed(now)
    if (missed > 0) {
      this.status.missed += missed
      this.opts.log?.warn('runs missed (suspend or clock jump); running once now', {job: this.job.name, missed})
    }
    if (this.inflight) {
      this.status.overlapped++
      this.opts.log?.warn('previous run still going; skipping this one', {job: this.job.name})
    } else {
      this.launch(now)
    }
    this.plan(now)
  }

  /** Runs the job now, outside its schedule (e.g. `flushNow`); resolves when it has finished. */
  async runNow(): Promise<void> {
    if (this.inflight) return this.inflight
    this.launch(this.opts.clock.now())
    await this.inflight
  }

  /** scheduled times after the one being served that are already in the past */
  private countMissed(now: number): number {
    const {schedule} = this.job
    const latest = now - (this.fireAt - this.base)
    if (schedule.period !== undefined) return Math.max(0, Math.floor((latest - this.base) / schedule.period))
    let n = 0
    for (let t = schedule.next(this.base); t <= latest && n < MAX_MISSED_COUNTED; t = schedule.next(t)) n++
    return n
  }

  private launch(now: number): void {
    const ac = new AbortController()
    this.abort = ac
    this.status.running = true
    this.status.lastStart = now
    this.status.runs++
    this.inflight = (async () => {
      try {
        await this.job.run(ac.signal)
      } catch (err) {
        this.opts.log?.error('scheduled run failed', {job: this.job.name, error: errorMessage(err)})
      } finally {
        this.status.running = false
        this.status.lastEnd = this.opts.clock.now()
        this.inflight = undefined
        this.abort = undefined
      }
    })()
  }
}

/**
 * Runs jobs on their schedules with jitter. A run that is still going when the next is due makes
 * that one skip (counted), and runs missed while the machine slept are counted and replaced by a
 * single run, never replayed in a burst. Time comes from the injected clock and timer.
 */
export class Scheduler {
  private readonly jobs = new Map<string, ScheduledJob>()
  private started = false
  private readonly opts: Required<Omit<SchedulerOptions, 'log'>> & {log?: Logger}

  constructor(opts: SchedulerOptions) {
    this.opts = {...opts, timer: opts.timer ?? systemTimer, random: opts.random ?? Math.random, maxSleepMs: opts.maxSleepMs ?? 60_000}
  }

  add(job: Job): void {
    if (this.jobs.has(job.name)) throw new Error(`duplicate job ${job.name}`)
    const sj = new ScheduledJob(job, this.opts)
    this.jobs.set(job.name, sj)
    if (this.started) sj.start()
  }

  async remove(name: string): Promise<void> {
    const sj = this.jobs.get(name)
    this.jobs.delete(name)
    await sj?.stop()
  }

  start(): void {
    if (this.started) return
    this.started = true
    for (const sj of this.jobs.values()) sj.start()
  }

  /** Stops planning; aborts running jobs and waits for them. */
  async stop(): Promise<void> {
    this.started = false
    await Promise.all([...this.jobs.values()].map((sj) => sj.stop()))
  }

  /** Stops planning and lets running jobs finish (up to the caller's deadline). */
  async drain(): Promise<void> {
    this.started = false
    await Promise.all([...this.jobs.values()].map((sj) => sj.stop(false)))
  }

  /** Runs one job now, outside its schedule, and waits for it. */
  async runNow(name: string): Promise<void> {
    await this.jobs.get(name)?.runNow()
  }

  status(): JobStatus[] {
    return [...this.jobs.values()].map((sj) => ({...sj.status}))
  }
}
