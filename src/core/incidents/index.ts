/**
 * The incident workflow: what other modules use. Commands open a {@link LocalIncidents} (or the
 * daemon API client) through the {@link IncidentService} interface; the daemon builds one with
 * {@link localIncidentsFromConfig}, gives its `ackState` to the notify Dispatcher and its service
 * to the API server (src/core/daemon/api.ts).
 */
import type {Clock} from '../clock.js'
import type {LoadedConfig} from '../config/load.js'
import type {Logger} from '../log.js'
import {compileFromConfig} from '../notify/index.js'
import {openMemoryStateDb, openStateDb, stateDbPath, type StateDb} from '../state/db.js'
import {isReadOnlyStore, type Store} from '../store/types.js'
import {LocalIncidents, type LocalIncidentOptions} from './service.js'
import {STATE_MIGRATIONS} from './store.js'

export {defaultActor} from './actor.js'
export {countAlerts, countAlertsInDb, displayState, type AlertCounts} from './counts.js'
export {AmbiguousIdError, IncidentConflictError, NotFoundError, type IdCandidate} from './errors.js'
export {EVENTS_MEASUREMENT, eventPoint} from './events.js'
export {MIN_ID_LENGTH, matchPrefix, shortIds, type PrefixMatch} from './ids.js'
export {INCIDENT_MIGRATIONS} from './migrations.js'
export {LocalIncidents, type LocalIncidentOptions} from './service.js'
export {IncidentStore, STATE_MIGRATIONS, type ActionOutcome, type Actor, type AuditRecord, type IncidentRecord} from './store.js'
export * from './types.js'

/** state.db with every table the incident workflow reads (alerting, notify, incidents). */
export function openIncidentDb(dataDir: string): StateDb {
  return openStateDb(dataDir, STATE_MIGRATIONS)
}

/** The same tables in memory, for a view of a data dir that has no state.db yet (`mon top` creates nothing). */
export function openMemoryIncidentDb(): StateDb {
  return openMemoryStateDb(STATE_MIGRATIONS)
}

/**
 * The local service for a loaded config: state.db in its data dir (or the given db), the notify
 * section compiled so acks reach PagerDuty/Opsgenie/Slack, events written to `store` if given.
 */
export function localIncidentsFromConfig(opts: {
  loaded: LoadedConfig
  clock: Clock
  db?: StateDb
  log?: Logger
  store?: Pick<Store, 'write'>
  onChange?: LocalIncidentOptions['onChange']
}): LocalIncidents {
  const db = opts.db ?? openIncidentDb(opts.loaded.dataDir)
  const store = opts.store
  return new LocalIncidents({
    db,
    ownsDb: opts.db === undefined,
    notify: compileFromConfig(opts.loaded, {db, log: opts.log}),
    clock: opts.clock,
    log: opts.log,
    // a read-only store (Prometheus) gets no incident events: the audit trail in state.db has them
    writeEvents: store && !isReadOnlyStore(store) ? async (points) => void (await store.write(points)) : undefined,
    where: stateDbPath(opts.loaded.dataDir),
    onChange: opts.onChange,
  })
}
