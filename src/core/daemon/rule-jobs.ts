import type {RuleGroup} from '../alerting/rules.js'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import {parseSchedule} from '../scheduler/schedule.js'
import {Scheduler, type Job} from '../scheduler/scheduler.js'
import type {Timer} from '../scheduler/timer.js'

/**
 * How the daemon schedules rule groups: one scheduler job per group, on the group's `interval` — a
 * duration (aligned to multiples of it since the epoch, as inputs are) or a cron expression
 * (from `rules.default_interval`) in `agent.timezone`, each run up to the group's `jitter` (or
 * `rules.jitter`) late so that many mon instances do not query a shared store at the same
 * instant. Runs missed during a suspend are counted
 * and replaced by one run (no burst); a group still being evaluated when its next run is due skips
 * that run. Evaluations of different groups run one at a time: they share the store and state.db,
 * and queries of one step share the engine's cache.
 */
export const RULE_JOB_PREFIX = 'rules:'

export interface RuleSchedulerOptions {
  groups: readonly RuleGroup[]
  /** evaluates one group now (the engine's evaluateGroup) */
  evaluate: (group: string) => Promise<void>
  clock: Clock
  timer: Timer
  log?: Logger
  /** IANA zone for cron schedules (agent.timezone); default the system's */
  timezone?: string
  random?: () => number
  /** each run starts up to this many ms after its time, for groups that set no `jitter` (config rules.jitter; default 0) */
  jitterMs?: number
}

export function ruleJobName(group: string): string {
  return RULE_JOB_PREFIX + group
}

/** A scheduler (not started) with one job per group; throws for a bad schedule. */
export function ruleScheduler(opts: RuleSchedulerOptions): Scheduler {
  const scheduler = new Scheduler({clock: opts.clock, timer: opts.timer, log: opts.log, random: opts.random})
  const serial = serialize()
  for (const g of opts.groups) {
    const job: Job = {
      name: ruleJobName(g.name),
      schedule: parseSchedule(g.interval, {timezone: opts.timezone}),
      jitter: g.jitterMs ?? opts.jitterMs ?? 0,
      run: () => serial(() => opts.evaluate(g.name)),
    }
    scheduler.add(job)
  }

  return scheduler
}

/** Runs the functions it is given one after another. */
export function serialize(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(fn: () => Promise<T>) => {
    const run = tail.then(fn, fn)
    tail = run.catch(() => {})
    return run
  }
}
