/** Retention: the embedded store's rollup and prune pass, and pruning of ended incidents. */
import {performance} from 'node:perf_hooks'
import {parseDuration} from '../../config/duration.js'
import {errorMessage} from '../../errors.js'
import {roundMs} from '../../format.js'
import {intervalSchedule} from '../../scheduler/schedule.js'
import {Scheduler} from '../../scheduler/scheduler.js'
import type {ComponentContext, DaemonComponent, DaemonConfig} from '../component.js'
import type {MaintenanceFacts} from '../types.js'

/** ended incidents and old audit rows are pruned this often (rules.incident_retention) */
const INCIDENT_PRUNE_MS = 3_600_000

export interface RetentionComponentOptions {
  /** how often the retention pass runs on the embedded store */
  everyMs: number
  /** prunes ended incidents and audit rows older than `before` */
  pruneIncidents: (before: number) => {incidents: number; audit: number}
}

export function retentionComponent(ctx: ComponentContext, opts: RetentionComponentOptions): DaemonComponent {
  const {store, clock, log} = ctx
  const maintenance: MaintenanceFacts = {enabled: typeof store.maintain === 'function', intervalMs: opts.everyMs, runs: 0, failures: 0}
  let current: DaemonConfig | undefined
  let scheduler: Scheduler | undefined

  const runMaintenance = async (): Promise<void> => {
    if (!store.maintain) return
    const started = performance.now()
    try {
      const report = await store.maintain(clock.now())
      maintenance.runs++
      maintenance.lastReport = report
      maintenance.lastError = undefined
      const pruned = Object.values(report.pruned).reduce((a, b) => a + b, 0)
      const rolled = Object.values(report.rolledUp).reduce((a, b) => a + b, 0)
      const fields = {rolledUp: report.rolledUp, pruned: report.pruned, ms: Math.round(performance.now() - started)}
      if (pruned > 0) log.info('retention pass', fields)
      else log.debug('retention pass', {...fields, rolled})
    } catch (err) {
      maintenance.runs++
      maintenance.failures++
      maintenance.lastError = errorMessage(err)
      log.error('retention pass failed', {error: maintenance.lastError})
    } finally {
      maintenance.lastRunAt = clock.now()
      maintenance.lastDurationMs = roundMs(performance.now() - started)
    }
  }

  const pruneIncidents = () => {
    if (!current) return
    const pruned = opts.pruneIncidents(clock.now() - parseDuration(current.loaded.config.rules.incident_retention))
    if (pruned.incidents + pruned.audit > 0) log.info('pruned ended incidents and audit rows', pruned)
  }

  return {
    name: 'retention',
    async start(cfg) {
      current = cfg
      scheduler = new Scheduler({clock, timer: ctx.timer, log})
      if (store.maintain) scheduler.add({name: 'retention', schedule: intervalSchedule(maintenance.intervalMs), jitter: 0, run: runMaintenance})
      scheduler.add({name: 'incident-retention', schedule: intervalSchedule(INCIDENT_PRUNE_MS), jitter: 0, run: async () => pruneIncidents()})
      scheduler.start()
    },
    // the store's retention tiers need a restart (the daemon says so); incident_retention is read at each prune
    async apply(next) {
      current = next
      return undefined
    },
    async stop() {
      await scheduler?.stop().catch(() => {})
    },
    status() {
      return {maintenance: {...maintenance}}
    },
  }
}
