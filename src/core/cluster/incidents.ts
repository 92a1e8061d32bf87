/**
 * Shared incidents in a cluster (docs/cluster.md#shared-incidents): what the daemon and the CLI use.
 * With `cluster.enabled` and `cluster.ha.enabled`, acks, unacks, hand resolves, comments and
 * silences go through the incident stream and every daemon applies it in order.
 */
import {hostname} from 'node:os'
import type {NatsConnection} from 'nats'
import type {Clock} from '../clock.js'
import {parseDuration} from '../config/duration.js'
import type {LocalIncidents} from '../incidents/service.js'
import type {Logger} from '../log.js'
import type {StateDb} from '../state/db.js'
import type {ClusterConfig} from './config.js'
import {IncidentMaterialiser} from './incidents-materialise.js'
import {SharedIncidents} from './incidents-service.js'
import {IncidentSync, type IncidentSyncFacts} from './incidents-sync.js'
import {connectNats, memberId} from './nats.js'

export {SharedIncidents} from './incidents-service.js'
export {IncidentSync, type IncidentSyncFacts} from './incidents-sync.js'
export {IncidentMaterialiser, EPISODE_SLACK_MS, type EventOutcome} from './incidents-materialise.js'

/** Are incidents shared through the cluster? */
export function sharedIncidentsEnabled(cluster: ClusterConfig | undefined): cluster is ClusterConfig {
  return Boolean(cluster?.enabled && cluster.ha.enabled)
}

export interface SharedIncidentsHandle {
  service: SharedIncidents
  sync: IncidentSync
  materialiser: IncidentMaterialiser
  member: string
  close(): Promise<void>
}

/**
 * Connects to NATS, creates the incident stream if missing, and builds the shared service over the
 * local one. `role`: names the connection (`mon-daemon-<member>`, `mon-cli-<member>`).
 */
export async function openSharedIncidents(opts: {
  cluster: ClusterConfig
  local: () => LocalIncidents
  db: StateDb
  clock: Clock
  log?: Logger
  role: 'daemon' | 'cli'
  /** how long the stream keeps events (rules.incident_retention) */
  retention?: string
  onChange?: () => void
  nc?: NatsConnection
}): Promise<SharedIncidentsHandle> {
  const member = memberId(opts.cluster, hostname())
  const nc = opts.nc ?? (await connectNats(opts.cluster.nats, {name: `mon-${opts.role}-${member}`}))
  try {
    const {openJetStreamIncidentLog} = await import('./jetstream-incidents.js')
    const log = await openJetStreamIncidentLog(nc, opts.cluster, {maxAgeMs: opts.retention ? parseDuration(opts.retention) : undefined})
    const materialiser = new IncidentMaterialiser({db: opts.db, member, clock: opts.clock, store: () => opts.local().store, onChange: (action) => opts.local().changed(action)})
    const sync = new IncidentSync({log, materialiser, logger: opts.log, now: () => opts.clock.now()})
    const service = new SharedIncidents({local: opts.local, db: opts.db, log, sync, materialiser, member, clock: opts.clock})
    return {
      service,
      sync,
      materialiser,
      member,
      close: async () => {
        if (!opts.nc) await nc.close().catch(() => {})
      },
    }
  } catch (err) {
    if (!opts.nc) await nc.close().catch(() => {})
    throw err
  }
}

/** For `mon status`: the stream's last sequence, the one applied here, the lag. */
export async function incidentsStatus(sync: IncidentSync | undefined): Promise<(IncidentSyncFacts & {enabled: true}) | {enabled: false}> {
  if (!sync) return {enabled: false}
  return {enabled: true, ...(await sync.refresh())}
}
