import {formatDuration, formatSize} from '../config/duration.js'
import type {DaemonFacts} from './types.js'
import {plural} from '../format.js'

/**
 * `GET /healthz`: one status per component and one for the daemon. `degraded` means mon keeps
 * working but something needs a look (an input failing, the store unreachable while the spool
 * buffers, a rule failing, dead notifications, a rejected reload); the HTTP status is 200 for
 * `ok` and `degraded` (the process is alive and worth keeping), 503 while starting or stopping.
 */
export type ComponentStatus = 'ok' | 'degraded' | 'down' | 'disabled'
export type HealthStatus = 'ok' | 'degraded' | 'starting' | 'stopping'

export interface ComponentHealth {
  status: ComponentStatus
  /** one line for people */
  message: string
}

export interface Health {
  status: HealthStatus
  version: string
  pid: number
  startedAt: string
  uptimeMs: number
  components: {
    collector: ComponentHealth
    spool: ComponentHealth
    store: ComponentHealth
    rules: ComponentHealth
    notify: ComponentHealth
    maintenance: ComponentHealth
    config: ComponentHealth
  }
}

/** The spool is "lagging" when its oldest unwritten point is older than this. */
const SPOOL_LAG_MS = 5 * 60_000

export function assessHealth(f: DaemonFacts): Health {
  const inputs = f.agent.inputs.filter((i) => i.kind !== 'internal')
  const failing = inputs.filter((i) => i.lastError !== undefined)
  const collector: ComponentHealth =
    inputs.length === 0
      ? {status: 'ok', message: 'no inputs configured'}
      : failing.length > 0
        ? {status: 'degraded', message: `${failing.length} of ${inputs.length} inputs failing: ${failing.map((i) => i.name).join(', ')}`}
        : {status: 'ok', message: plural(inputs.length, 'input')}

  const {spool, writer} = f.agent
  const held = f.agent.heldPoints
  const spoolHealth: ComponentHealth = spool.diskFull
    ? {status: 'degraded', message: `disk full: the spool cannot be written until there is room (mon retries by itself); ${plural(held, 'point')} held in memory, ${plural(spool.points, 'point')} waiting in the spool`}
    : spool.full
      ? {status: 'degraded', message: `spool full (max_bytes ${formatSize(spool.maxBytes)}, when_full: reject): new points are refused until the store catches up; ${plural(spool.points, 'point')} waiting`}
      : spool.oldestAgeMs > SPOOL_LAG_MS
        ? {status: 'degraded', message: `${plural(spool.points, 'point')} waiting for the store, the oldest for ${formatDuration(Math.round(spool.oldestAgeMs / 1000) * 1000)}`}
        : {status: 'ok', message: `${plural(spool.points, 'point')} waiting`}
  const store: ComponentHealth = writer.storeUp
    ? {status: 'ok', message: `${f.storeName} accepts writes`}
    : {status: 'down', message: `${f.storeName} unreachable: ${writer.lastError ?? 'write failed'} (points wait in the spool)`}

  const ruleCount = f.rules.rules.length
  const failingRules = f.rules.rules.filter((r) => r.health === 'error')
  const rules: ComponentHealth =
    f.rules.groups.length === 0
      ? {status: 'ok', message: 'no rule files loaded'}
      : failingRules.length > 0
        ? {status: 'degraded', message: `${failingRules.length} of ${ruleCount} rules failing: ${failingRules.slice(0, 5).map((r) => r.id).join(', ')}${failingRules.length > 5 ? ' …' : ''}`}
        : {status: 'ok', message: `${plural(f.rules.groups.length, 'group')}, ${plural(ruleCount, 'rule')}; ${f.alerts.firing} firing, ${f.alerts.pending} pending`}

  const notify: ComponentHealth = !f.notify.routes
    ? {status: 'disabled', message: 'no notify.route configured: alerts are not delivered'}
    : f.outbox.dead > 0
      ? {status: 'degraded', message: `${plural(f.outbox.dead, 'dead notification')} (mon notify outbox)`}
      : f.notifier?.lastError !== undefined
        ? {status: 'degraded', message: `cluster notifier lease: ${f.notifier.lastError}`}
        : {status: 'ok', message: `${f.outbox.pending + f.outbox.sending} pending, ${f.outbox.delivered} delivered${f.notifier ? `; notifier: ${f.notifier.active ? 'this daemon' : (f.notifier.notifier ?? 'none')}` : ''}`}

  const m = f.maintenance
  const maintenance: ComponentHealth = !m.enabled
    ? {status: 'disabled', message: 'the store manages its own retention'}
    : m.lastError !== undefined
      ? {status: 'degraded', message: `last retention pass failed: ${m.lastError}`}
      : {status: 'ok', message: m.lastRunAt === undefined ? `first retention pass within ${formatDuration(m.intervalMs)}` : `last retention pass ${formatDuration(Math.max(0, Math.round((f.now - m.lastRunAt) / 1000) * 1000))} ago`}

  const config: ComponentHealth =
    f.reload.lastOk === false
      ? {status: 'degraded', message: `last reload rejected (running the previous config): ${f.reload.lastError ?? 'error'}`}
      : {status: 'ok', message: f.reload.count > 0 ? `reloaded ${plural(f.reload.count, 'time')}` : 'as started'}

  const components = {collector, spool: spoolHealth, store, rules, notify, maintenance, config}
  const bad = Object.values(components).some((c) => c.status === 'degraded' || c.status === 'down')
  const status: HealthStatus = f.state === 'starting' ? 'starting' : f.state === 'stopping' || f.state === 'stopped' ? 'stopping' : bad ? 'degraded' : 'ok'
  return {status, version: f.version, pid: f.pid, startedAt: new Date(f.startedAt).toISOString(), uptimeMs: f.now - f.startedAt, components}
}

/** 200 while the daemon runs (healthy or degraded), 503 while it starts or stops. */
export function healthHttpStatus(h: Health): number {
  return h.status === 'ok' || h.status === 'degraded' ? 200 : 503
}
