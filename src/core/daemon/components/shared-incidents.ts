/**
 * Shared incidents (docs/cluster.md#shared-incidents): with `cluster.enabled` and
 * `cluster.ha.enabled`, the daemon reads the cluster's incident stream in order and applies it to its
 * state.db, and its API's actions go through the stream (the first ack in the stream's order wins).
 * Without them this component does nothing and the API acts on state.db as before.
 */
import {incidentsStatus, openSharedIncidents, sharedIncidentsEnabled, type SharedIncidentsHandle} from '../../cluster/incidents.js'
import {UserError, errorMessage} from '../../errors.js'
import {sleep} from '../../scheduler/timer.js'
import type {LocalIncidents} from '../../incidents/service.js'
import type {IncidentService} from '../../incidents/types.js'
import type {ComponentContext, DaemonComponent, DaemonConfig} from '../component.js'

/** the stream is read at least this often besides the wake-ups of new events */
const POLL_MS = 1_000
/** NATS unreachable at start: try to open the stream again this often */
const RETRY_MS = 5_000

export interface SharedIncidentsComponent extends DaemonComponent {
  /** what the API acts through: the shared service in a cluster, else `fallback` */
  readonly incidents: IncidentService
  /** forgets shared episodes and event outcomes older than `before` (with the incidents' retention) */
  prune(before: number): void
  /** for `mon status`: stream sequence, applied sequence, lag */
  incidentsStatus(): ReturnType<typeof incidentsStatus>
}

export function sharedIncidentsComponent(ctx: ComponentContext, opts: {local: () => LocalIncidents | undefined; fallback: IncidentService}): SharedIncidentsComponent {
  const log = ctx.log.child({component: 'shared-incidents'})
  let handle: SharedIncidentsHandle | undefined
  let enabled = false
  let running: Promise<void> | undefined
  const abort = new AbortController()

  const target = (): IncidentService => {
    if (!enabled) return opts.fallback
    if (!handle) throw new UserError('this daemon is not connected to the cluster\'s incident stream yet: nothing changed', {hint: 'try again in a moment, or through another daemon'})
    return handle.service
  }
  const incidents: IncidentService = {
    get where() {
      return target().where
    },
    list: (q) => target().list(q),
    get: (id, o) => target().get(id, o),
    ack: (id, input) => target().ack(id, input),
    unack: (id, input) => target().unack(id, input),
    resolve: (id, input) => target().resolve(id, input),
    comment: (id, input) => target().comment(id, input),
    history: (q) => target().history(q),
    addSilence: (input) => target().addSilence(input),
    listSilences: (o) => target().listSilences(o),
    expireSilence: (id, input) => target().expireSilence(id, input),
    close: async () => {},
  }

  return {
    name: 'shared-incidents',
    incidents,
    incidentsStatus: () => incidentsStatus(handle?.sync),
    prune(before) {
      const pruned = handle?.materialiser.purge(before)
      if (pruned && pruned.episodes + pruned.outcomes > 0) log.info('pruned shared incident episodes and event outcomes', pruned)
    },
    async start(cfg: DaemonConfig) {
      const cluster = cfg.loaded.config.cluster
      if (!sharedIncidentsEnabled(cluster)) return
      enabled = true
      const local = () => {
        const l = opts.local()
        if (!l) throw new Error('the incident service is not running')
        return l
      }
      const open = () => openSharedIncidents({cluster, local, db: ctx.db, clock: ctx.clock, log, role: 'daemon', retention: cfg.loaded.config.rules.incident_retention})
      const run = async (h: SharedIncidentsHandle) => {
        try {
          const applied = await h.sync.catchUp()
          log.info('applied the incident stream', {stream: h.sync.logName, seq: applied, member: h.member})
        } catch (err) {
          log.warn('cannot read the incident stream yet; retrying', {error: errorMessage(err)})
        }
        await h.sync.run(abort.signal, ctx.timer, POLL_MS)
      }
      try {
        handle = await open()
        running = run(handle).catch((err) => log.error('the incident stream reader stopped', {error: errorMessage(err)}))
      } catch (err) {
        // NATS down at start: the daemon runs (rules, notifications); actions through its API wait for the stream
        log.error('cannot open the cluster\'s incident stream; retrying (acks through this daemon are refused until then)', {error: errorMessage(err)})
        running = (async () => {
          while (!abort.signal.aborted && !handle) {
            await sleep(ctx.timer, RETRY_MS, abort.signal).catch(() => {})
            if (abort.signal.aborted) return
            try {
              handle = await open()
              log.info('opened the cluster\'s incident stream')
            } catch (retryErr) {
              log.debug('cannot open the incident stream yet', {error: errorMessage(retryErr)})
            }
          }
          if (handle) await run(handle)
        })().catch((e) => log.error('the incident stream reader stopped', {error: errorMessage(e)}))
      }
    },
    async apply(next: DaemonConfig, prev: DaemonConfig) {
      if (JSON.stringify(next.loaded.config.cluster) !== JSON.stringify(prev.loaded.config.cluster)) log.warn('cluster settings changed: shared incidents keep the old ones until a restart')
      return undefined
    },
    async stop() {
      abort.abort()
      await running
      await handle?.close()
    },
    status() {
      return handle ? {sharedIncidents: handle.sync.facts()} : {}
    },
  }
}
