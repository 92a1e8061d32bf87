/**
 * Notifications and incidents: the dispatcher the rule engine's alerts go to, the outbox and the
 * notifier that drains it, and the incident service the API acks and silences through.
 */
import type {EngineStats} from '../../alerting/engine.js'
import type {Alert, AlertSink} from '../../alerting/types.js'
import {errorMessage} from '../../errors.js'
import {countAlertsInDb, localIncidentsFromConfig, type AlertCounts, type LocalIncidents} from '../../incidents/index.js'
import type {IncidentService} from '../../incidents/types.js'
import {createDispatcher, type Dispatcher} from '../../notify/index.js'
import {Outbox} from '../../notify/deliver/outbox.js'
import {NotificationLog} from '../../notify/deliver/nflog.js'
import type {ComponentContext, DaemonComponent, DaemonConfig} from '../component.js'
import {NotifyLoop} from '../notify-loop.js'
import type {NotifierFacts} from '../../cluster/jetstream-ha-notify.js'
import type {NotifierLease} from '../../cluster/ha-notify.js'
import {connectNats, memberId} from '../../cluster/nats.js'
import type {NatsConnection} from 'nats'

/** resolved alerts are kept this long, to re-push them to a dispatcher rebuilt by a reload */
const RECENT_RESOLVED_MS = 3_600_000

export interface NotifyComponentOptions {
  /** longest sleep of the notifier between outbox polls; default 2 s */
  pollMs?: number
  /** the rule engine's alerts now (a rebuilt dispatcher gets the firing ones) */
  activeAlerts: () => Alert[]
  /** the rule engine's counts (alert counts when the state db is closed) */
  engineStats: () => EngineStats | undefined
}

export interface NotifyComponent extends DaemonComponent {
  /** The engine hands alerts here; the current dispatcher gets them (a reload may swap it). */
  readonly sink: AlertSink
  /** The current incident service (a reload may swap it); for the API. */
  readonly incidents: IncidentService
  /** Audits a refused API request, if incidents are running. */
  recordAuthFailure(source: string, detail: string): void
  /** Prunes ended incidents and audit rows older than `before`. */
  pruneIncidents(before: number): {incidents: number; audit: number}
  /** the local incident service now (a reload may swap it); the cluster's shared incidents apply through it */
  readonly local: LocalIncidents | undefined
  /** the notifier finished what was in flight at the last stop */
  readonly finished: boolean
}

export function notifyComponent(ctx: ComponentContext, opts: NotifyComponentOptions): NotifyComponent {
  const log = ctx.log.child({component: 'notify'})
  const outbox = new Outbox(ctx.db)
  const recentResolved = new Map<string, {alert: Alert; at: number}>()
  let incidents: LocalIncidents | undefined
  let dispatcher: Dispatcher | undefined
  let notifyLoop: NotifyLoop | undefined
  let stopped = false
  let finished = true
  let routes = false
  // HA mode (cluster.enabled && cluster.ha.enabled, docs/cluster.md#notifications): only the
  // daemon holding the notifier lease has a dispatcher and sends; the others keep the alerts
  let ha: {nc: NatsConnection; notifier: NotifierLease & {facts(): NotifierFacts}; cfg: DaemonConfig; transitions: Promise<void>} | undefined

  // an ack or a silence from the API: the notifier acts on it now, not at its next poll
  const newIncidents = (cfg: DaemonConfig) =>
    localIncidentsFromConfig({loaded: cfg.loaded, clock: ctx.clock, db: ctx.db, log: ctx.log.child({component: 'incidents'}), store: ctx.store, onChange: () => notifyLoop?.kick()})
  const newDispatcher = (cfg: DaemonConfig, inc: LocalIncidents) => createDispatcher({loaded: cfg.loaded, db: ctx.db, clock: ctx.clock, log, ackState: inc.ackState, gate: ha?.notifier})

  /** HA: stop sending (the lease is gone, or a reload rebuilds the dispatcher). */
  const standDown = async () => {
    await notifyLoop?.pause()
    dispatcher?.close()
    dispatcher = undefined
    notifyLoop = undefined
  }

  /**
   * HA: this daemon just became the notifier. What it had queued was decided without what the
   * previous notifier delivered: drop it, take the shared notification log as its own, and decide
   * again from the engine's alerts (the path a reload takes), sending only what is new.
   */
  const takeOver = async () => {
    await standDown()
    if (!ha || stopped || !ha.notifier.isActive()) return
    const now = ctx.clock.now()
    const dropped = outbox.dropQueuedBeforeTakeover(now)
    new NotificationLog(ctx.db).replaceAll(ha.notifier.ledger.nflogEntries())
    dispatcher = newDispatcher(ha.cfg, incidents!)
    const firing = opts.activeAlerts().filter((a) => a.state === 'firing')
    const firingNow = new Set(firing.map((a) => a.fingerprint))
    const resolved = [...recentResolved.values()].map((r) => r.alert).filter((a) => !firingNow.has(a.fingerprint))
    dispatcher.push([...firing, ...resolved], now)
    log.info('notifier: taking over', {firing: firing.length, resolved: resolved.length, dropped, shared: ha.notifier.ledger.records.size})
    notifyLoop = new NotifyLoop({dispatcher: () => dispatcher!, clock: ctx.clock, timer: ctx.timer, log, pollMs: opts.pollMs})
    notifyLoop.start()
  }

  /** HA: lease changes are handled one at a time, in order. */
  const onActiveChange = (active: boolean) => {
    if (!ha) return
    ha.transitions = ha.transitions
      .then(() => (active ? takeOver() : standDown()))
      .catch((err) => log.error('notifier hand-over failed', {error: errorMessage(err)}))
  }

  const startHa = async (cfg: DaemonConfig) => {
    const cluster = cfg.loaded.config.cluster
    const member = memberId(cluster, cfg.loaded.config.host, 'daemon')
    const nc = await connectNats(cluster.nats, {name: `mon-daemon-${member}`})
    const {JetStreamNotifier} = await import('../../cluster/jetstream-ha-notify.js')
    const notifier = new JetStreamNotifier({nc, cluster, member, clock: ctx.clock, timer: ctx.timer, log: log.child({part: 'notifier'}), onActiveChange})
    ha = {nc, notifier, cfg, transitions: Promise.resolve()}
    try {
      await notifier.start()
    } catch (err) {
      ha = undefined
      await nc.close().catch(() => {})
      throw err
    }
  }

  const forwardingIncidents: IncidentService = {
    get where() {
      return incidents!.where
    },
    list: (q) => incidents!.list(q),
    get: (id, o) => incidents!.get(id, o),
    ack: (id, input) => incidents!.ack(id, input),
    unack: (id, input) => incidents!.unack(id, input),
    resolve: (id, input) => incidents!.resolve(id, input),
    comment: (id, input) => incidents!.comment(id, input),
    history: (q) => incidents!.history(q),
    addSilence: (input) => incidents!.addSilence(input),
    listSilences: (o) => incidents!.listSilences(o),
    expireSilence: (id, input) => incidents!.expireSilence(id, input),
    close: async () => {},
  }

  return {
    name: 'notify',
    incidents: forwardingIncidents,
    get finished() {
      return finished
    },
    get local() {
      return incidents
    },
    sink: {
      push(alerts, now) {
        for (const a of alerts) if (a.state === 'resolved') recentResolved.set(a.fingerprint, {alert: a, at: now})
        for (const [fp, r] of recentResolved) if (now - r.at > RECENT_RESOLVED_MS) recentResolved.delete(fp)
        dispatcher?.push(alerts, now)
        notifyLoop?.kick()
      },
    },
    recordAuthFailure(source, detail) {
      incidents?.recordAuthFailure(source, detail)
    },
    pruneIncidents(before) {
      return incidents ? incidents.store.purge(before) : {incidents: 0, audit: 0}
    },
    async start(cfg) {
      routes = cfg.loaded.config.notify.route !== undefined
      incidents = newIncidents(cfg)
      const cluster = cfg.loaded.config.cluster
      if (cluster.enabled && cluster.ha.enabled) return startHa(cfg)
      dispatcher = newDispatcher(cfg, incidents)
      notifyLoop = new NotifyLoop({dispatcher: () => dispatcher!, clock: ctx.clock, timer: ctx.timer, log, pollMs: opts.pollMs})
      notifyLoop.start()
    },
    async apply(next, prev) {
      routes = next.loaded.config.notify.route !== undefined
      if (JSON.stringify(next.loaded.config.notify) === JSON.stringify(prev.loaded.config.notify)) return undefined
      if (ha) {
        // HA: the notifier rebuilds its dispatcher from the shared log; the others only keep the config
        const h = ha
        await (h.transitions = h.transitions.then(async () => {
          await standDown()
          await incidents!.close()
          incidents = newIncidents(next)
          h.cfg = next
          if (h.notifier.isActive()) await takeOver()
        }))
        return 'notify'
      }
      await notifyLoop!.pause()
      dispatcher!.close()
      await incidents!.close()
      incidents = newIncidents(next)
      dispatcher = newDispatcher(next, incidents)
      // what the old dispatcher held in memory: firing alerts, and resolutions not yet sent
      const firing = opts.activeAlerts().filter((a) => a.state === 'firing')
      dispatcher.push([...firing, ...[...recentResolved.values()].map((r) => r.alert)], ctx.clock.now())
      notifyLoop!.start()
      return 'notify'
    },
    async stop(deadline) {
      // HA: a hand-over in progress finishes first; the lease is released once in-flight sends are recorded
      if (ha) await ha.transitions.catch(() => {})
      if (notifyLoop) {
        const notified = await notifyLoop.stop(deadline).catch((err) => {
          log.error('stopping the notifier failed; unsent notifications stay in the outbox', {error: errorMessage(err)})
          return {finished: false}
        })
        finished = notified.finished
      }
      if (ha) {
        await ha.notifier.stop().catch(() => {})
        await ha.transitions.catch(() => {})
        await ha.nc.close().catch(() => {})
      }
      dispatcher?.close()
      await incidents?.close().catch(() => {})
      stopped = true
    },
    status() {
      const stats = opts.engineStats()
      let alerts: AlertCounts = {firing: stats?.firing ?? 0, acked: 0, pending: stats?.pending ?? 0}
      try {
        if (!stopped) alerts = countAlertsInDb(ctx.db)
      } catch {}
      let counts = {pending: 0, sending: 0, delivered: 0, dead: 0, dropped: 0}
      try {
        if (!stopped) counts = outbox.counts()
      } catch {}
      return {
        alerts,
        outbox: counts,
        notify: {routes, ...(notifyLoop?.facts ?? {ticks: 0, delivered: 0, retried: 0, dead: 0, enqueued: 0})},
        ...(ha ? {notifier: ha.notifier.facts()} : {}),
      }
    },
  }
}
