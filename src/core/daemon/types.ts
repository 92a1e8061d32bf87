import type {IncidentSyncFacts} from '../cluster/incidents-sync.js'
import type {EngineStats} from '../alerting/engine.js'
import type {AlertCounts} from '../incidents/counts.js'
import type {RuleStatus} from '../alerting/types.js'
import type {OutboxStatus} from '../notify/types.js'
import type {AgentStatus} from '../pipeline/agent.js'
import type {JobStatus} from '../scheduler/scheduler.js'
import type {MaintenanceReport} from '../store/types.js'
import type {RecentLogEntry} from './logging.js'
import type {NotifierFacts} from '../cluster/jetstream-ha-notify.js'

/**
 * What the daemon knows about itself at one moment (ms times): /healthz, /metrics, the status API,
 * the status file in the data dir and `mon status` are all views of this.
 */
export type LifecycleState = 'starting' | 'running' | 'stopping' | 'stopped'

export interface RuleGroupFacts {
  name: string
  file: string
  /** `every 1m` or `cron "*\/5 * * * *" (UTC)` */
  schedule: string
  rules: number
  job?: JobStatus
  lastEvalAt?: number
  lastDurationMs?: number
  /** rules of the group whose last evaluation failed */
  failing: number
}

export interface NotifyFacts {
  /** a route tree is configured (else alerts are evaluated but not delivered) */
  routes: boolean
  ticks: number
  lastTickAt?: number
  delivered: number
  retried: number
  dead: number
  enqueued: number
  lastError?: string
}

export interface MaintenanceFacts {
  /** the store keeps its own tiers (embedded store); InfluxDB does retention itself */
  enabled: boolean
  intervalMs: number
  runs: number
  failures: number
  lastRunAt?: number
  lastDurationMs?: number
  lastError?: string
  lastReport?: MaintenanceReport
}

export interface ReloadFacts {
  count: number
  failures: number
  lastAt?: number
  lastOk?: boolean
  lastError?: string
  lastSuccessAt: number
}

export interface DaemonFacts {
  now: number
  pid: number
  version: string
  startedAt: number
  state: LifecycleState
  dataDir: string
  configFile?: string
  storeName: string
  api?: {url: string}
  agent: AgentStatus
  rules: {files: string[]; groups: RuleGroupFacts[]; rules: RuleStatus[]; stats: EngineStats}
  /** alerts as people count them (hand-resolved ones not firing): see countAlerts */
  alerts: AlertCounts
  outbox: Record<OutboxStatus, number>
  notify: NotifyFacts
  /** cluster HA: the notifier lease as this daemon sees it (docs/cluster.md#notifications) */
  notifier?: NotifierFacts
  maintenance: MaintenanceFacts
  reload: ReloadFacts
  recent: RecentLogEntry[]
  /** cluster: the shared incident stream read by this daemon (docs/cluster.md#shared-incidents) */
  sharedIncidents?: IncidentSyncFacts
}
