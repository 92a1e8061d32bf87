/**
 * `mon daemon`: collection, the alert engine, the notifier and the HTTP API in one process.
 *
 *   inputs ─► spool ─► store ◄── rule groups (each on its interval or cron) ─► dispatcher ─► outbox ─► channels
 *                          ▲                                                    ▲
 *              retention pass every 5 min                 API: /api/v1 (alerts, acks, silences, status), /healthz, /metrics
 *
 * Each part is a component (component.ts, components/*) with start / apply(next, prev) / stop; this
 * file only orders them, holds the locks and the store, and assembles status from them.
 * Lifecycle: start() takes the data dir's locks and starts the components; reload() (SIGHUP) re-reads
 * the config and rule files and applies them only if all of it is valid; stop(deadline)
 * (SIGTERM/SIGINT) stops evaluating, flushes the spool to the store and finishes notifications in
 * flight within the deadline. Time comes from the injected clock and timer. See docs/daemon.md.
 */
import {mkdirSync} from 'node:fs'
import {loadRuleFiles} from '../alerting/rules.js'
import {systemClock, type Clock} from '../clock.js'
import {formatDuration, parseSize} from '../config/duration.js'
import type {LoadedConfig} from '../config/load.js'
import {secretValues} from '../config/redact.js'
import {UserError, errorMessage} from '../errors.js'
import {openIncidentDb} from '../incidents/index.js'
import type {Logger} from '../log.js'
import {releaseDiskReserve} from '../pipeline/spool.js'
import {intervalSchedule} from '../scheduler/schedule.js'
import {Scheduler} from '../scheduler/scheduler.js'
import {systemTimer, type Timer} from '../scheduler/timer.js'
import type {StateDb} from '../state/db.js'
import {describeStore, openStore} from '../store/open.js'
import type {FullStore} from '../store/types.js'
import {acquireLock, acquireLockWaiting, daemonPidPath, rulesLockPath, type Lock} from '../lock.js'
import type {ApiServer, ListenAddress} from './api.js'
import {influxTarget, listenerUrl, mountInfluxRoutes} from './api-influx.js'
import {ComponentApplyError, ComponentSet, describeError, type ComponentContext, type DaemonConfig} from './component.js'
import {apiComponent, type ApiComponent} from './components/api.js'
import {mountPromRoutes, type PromRoutes} from './api-prom.js'
import {collectionComponent, type CollectionComponent} from './components/collection.js'
import {notifyComponent, type NotifyComponent} from './components/notify.js'
import {retentionComponent} from './components/retention.js'
import {sharedIncidentsComponent} from './components/shared-incidents.js'
import {checkRuleSchedules, rulesComponent, type RulesComponent} from './components/rules.js'
import {assessHealth, healthHttpStatus, type Health} from './health.js'
import {daemonLogger, type DaemonLogger} from './logging.js'
import {METRICS_CONTENT_TYPE, renderMetrics} from './metrics.js'
import {statusView, writeStatusFile, type DaemonStatusView} from './status.js'
import type {DaemonFacts, LifecycleState, ReloadFacts} from './types.js'
import {limitInflateCache} from '../store/inflated.js'

export interface DaemonOptions {
  loaded: LoadedConfig
  /** re-reads the config for a reload (the same file the daemon started with) */
  loadConfig: () => Promise<LoadedConfig>
  /** the edge's logger (text or JSON lines on stderr, redacted) */
  log: Logger
  /** a logger for a reloaded config (log.level / log.format may have changed); default: keep the first */
  makeLogger?: (loaded: LoadedConfig) => Logger
  version: string
  clock?: Clock
  timer?: Timer
  random?: () => number
  env?: NodeJS.ProcessEnv
  /** how often the retention pass runs on the embedded store; default 5 min */
  maintenanceEveryMs?: number
  /** how often the status file in the data dir is rewritten; default 5 s */
  statusEveryMs?: number
  /** longest wait for a running `mon alerts eval --once` to finish at start; default 60 s */
  rulesLockWaitMs?: number
  /** longest sleep of the notifier between outbox polls; default 2 s */
  notifyPollMs?: number
}

export interface ReloadOutcome {
  ok: boolean
  /** what changed (applied), e.g. `rules: 3 groups, 12 rules` */
  changes: string[]
  /** why it was rejected (the old config keeps running), with file:line:col */
  error?: string
  /** settings that need a restart to take effect */
  needsRestart: string[]
}

export interface DaemonStopSummary {
  /** points written to the store since start */
  written: number
  /** points left in the spool for the next start */
  pending: number
  /** the spool was flushed and in-flight notifications finished within the deadline */
  drained: boolean
  notificationsFinished: boolean
}

export interface Daemon {
  start(): Promise<{api: ListenAddress}>
  /** Re-reads config and rules; applies them only if everything is valid. Serialised. */
  reload(): Promise<ReloadOutcome>
  /** Graceful shutdown within `deadlineMs`. */
  stop(deadlineMs?: number): Promise<DaemonStopSummary>
  facts(): DaemonFacts
  health(): Health
  status(): DaemonStatusView
  metrics(): string
  /** Evaluates a rule group now, outside its schedule (tests, `mon rules` tooling). */
  evaluateNow(group: string): Promise<void>
  readonly apiAddress: ListenAddress | undefined
  readonly state: LifecycleState
}

const DEFAULT_MAINTENANCE_MS = 5 * 60_000
const DEFAULT_STATUS_MS = 5_000
/**
 * The embedded store's page cache (4 MiB). The rules read recent data, which fits easily; the default
 * (32 MB, for `mon query` over long ranges) would let a daemon's resident memory grow with the
 * database for days.
 */
const STORE_CACHE_KIB = 4096

interface Components {
  set: ComponentSet
  collection: CollectionComponent
  notify: NotifyComponent
  rules: RulesComponent
  api: ApiComponent
}

export function createDaemon(opts: DaemonOptions): Daemon {
  const clock = opts.clock ?? systemClock
  const timer = opts.timer ?? systemTimer
  const env = opts.env ?? process.env
  const log: DaemonLogger = daemonLogger(opts.log, {clock, secrets: secretValues(opts.loaded)})
  let current: DaemonConfig = {loaded: opts.loaded, groups: []}
  // the bound of the inflated-chunk cache its query APIs turn on (store/inflated.ts); a reload applies it
  limitInflateCache(parseSize(opts.loaded.config.query.chunk_cache))
  const dataDir = opts.loaded.dataDir
  let state: LifecycleState = 'starting'
  const startedAt = clock.now()

  // held by the daemon itself, set by start()
  let locks: Lock[] = []
  let db: StateDb | undefined
  let store: FullStore | undefined
  let parts: Components | undefined
  let statusWriter: Scheduler | undefined
  const reloads: ReloadFacts = {count: 0, failures: 0, lastSuccessAt: startedAt}
  let reloading: Promise<ReloadOutcome> | undefined
  let reloadAgain = false

  const storeName = describeStore(opts.loaded.config.store, dataDir)
  const loadRules = (cfg: LoadedConfig) => loadRuleFiles(cfg.config.rules.files, {defaultInterval: cfg.config.rules.default_interval})

  /** The components in stages: started in this order, stopped in reverse (a stage at once). */
  const assemble = (ctx: ComponentContext): Components => {
    const rulesRef: {current?: RulesComponent} = {}
    const notify = notifyComponent(ctx, {pollMs: opts.notifyPollMs, activeAlerts: () => rulesRef.current?.activeAlerts() ?? [], engineStats: () => rulesRef.current?.stats()})
    const rules = (rulesRef.current = rulesComponent(ctx, notify.sink))
    const collection = collectionComponent(ctx)
    const shared = sharedIncidentsComponent(ctx, {local: () => notify.local, fallback: notify.incidents})
    const api = apiComponent(ctx, {incidents: shared.incidents, auditAuthFailure: (source, detail) => notify.recordAuthFailure(source, detail), mountRoutes})
    const retention = retentionComponent(ctx, {everyMs: opts.maintenanceEveryMs ?? DEFAULT_MAINTENANCE_MS, pruneIncidents: (before) => (shared.prune(before), notify.pruneIncidents(before))})
    // on stop, collection, notifications and the API wind down together (sharing the deadline) once
    // the rules have drained, so the last evaluation's alerts still reach the notifier
    return {set: new ComponentSet([[collection, notify, shared, api], [rules], [retention]]), collection, notify, rules, api}
  }

  /** the Prometheus routes of each API server started (their JSON threads stop with the daemon) */
  const promRoutes: PromRoutes[] = []
  const mountRoutes = (server: ApiServer) => {
    server.route(
      'GET',
      '/healthz',
      () => {
        const h = daemon.health()
        return {status: healthHttpStatus(h), json: h, headers: {'Cache-Control': 'no-store'}}
      },
      {auth: false},
    )
    server.route('GET', '/metrics', () => ({text: daemon.metrics(), contentType: METRICS_CONTENT_TYPE}), {auth: false})
    server.route('GET', '/api/v1/status', () => ({json: daemon.status()}))
    // InfluxDB 1.x's /ping and /query for Grafana and the influx CLI (api-influx.ts)
    const config = () => current.loaded.config
    mountInfluxRoutes(server, {target: () => (store ? influxTarget(config(), store) : undefined), clock, log: log.child({component: 'influxql'}), listener: () => listenerUrl(config())})
    promRoutes.push(mountPromRoutes(server, {store: () => store, clock, timeout: () => current.loaded.config.query.timeout}))
  }

  const writeStatus = () => {
    try {
      writeStatusFile(dataDir, statusView(daemon.facts(), daemon.health(), 'snapshot'))
    } catch (err) {
      log.debug('cannot write the status file', {error: errorMessage(err)})
    }
  }

  /** Undo in reverse order (a failed start). */
  const teardown = async () => {
    await statusWriter?.stop().catch(() => {})
    await parts?.set.stop(clock.now())
    await store?.close().catch(() => {})
    db?.close()
    for (const l of locks.reverse()) l.release()
    locks = []
  }

  // ------------------------------------------------------------------ reload

  const doReload = async (): Promise<ReloadOutcome> => {
    const now = clock.now()
    reloads.count++
    reloads.lastAt = now
    const reject = (error: string): ReloadOutcome => {
      reloads.failures++
      reloads.lastOk = false
      reloads.lastError = error
      log.error('reload rejected: still running the previous config and rules', {error})
      writeStatus()
      return {ok: false, changes: [], error, needsRestart: []}
    }

    let next: DaemonConfig
    try {
      const loaded = await opts.loadConfig()
      next = {loaded, groups: await loadRules(loaded)}
      // everything that can be refused is checked before anything is applied
      parts!.set.check(next)
    } catch (err) {
      return reject(describeError(err))
    }

    const prev = current
    const same = (pick: (c: LoadedConfig) => unknown) => JSON.stringify(pick(prev.loaded)) === JSON.stringify(pick(next.loaded))
    const needsRestart: string[] = []
    if (next.loaded.dataDir !== prev.loaded.dataDir) needsRestart.push('data_dir')
    if (!same((c) => c.config.store)) needsRestart.push('store')
    if (!same((c) => c.config.retention)) needsRestart.push('retention')
    const changes: string[] = []

    if (opts.makeLogger && !same((c) => c.config.log)) {
      log.setTarget(opts.makeLogger(next.loaded))
      changes.push('log')
    }

    log.setSecrets(secretValues(next.loaded))

    let problems: string[]
    try {
      const applied = await parts!.set.apply(next, prev)
      changes.push(...applied.changes)
      problems = applied.problems
    } catch (err) {
      if (err instanceof ComponentApplyError) return reject(err.message)
      throw err
    }

    current = next
    limitInflateCache(parseSize(next.loaded.config.query.chunk_cache))
    reloads.lastSuccessAt = clock.now()
    if (needsRestart.length > 0) log.warn('changed settings need a restart to take effect', {settings: needsRestart.join(', ')})
    if (problems.length > 0) {
      reloads.failures++
      reloads.lastOk = false
      reloads.lastError = problems.join('; ')
      log.error('reload applied in part', {error: reloads.lastError})
    } else {
      reloads.lastOk = true
      reloads.lastError = undefined
      log.info('reloaded config and rules', {changes: changes.join('; ')})
    }

    writeStatus()
    return {ok: problems.length === 0, changes, needsRestart, ...(problems.length > 0 ? {error: problems.join('; ')} : {})}
  }

  // ------------------------------------------------------------------ the daemon

  const daemon: Daemon = {
    get apiAddress() {
      return parts?.api.address
    },
    get state() {
      return state
    },

    async start() {
      try {
        mkdirSync(dataDir, {recursive: true})
      } catch (err) {
        throw new UserError(`cannot create data directory ${dataDir}: ${errorMessage(err)}`, {hint: 'set data_dir (or MON_DATA_DIR) to a writable directory'})
      }

      locks.push(
        acquireLock(
          daemonPidPath(dataDir),
          (pid) => ({
            message: `a mon daemon is already running for ${dataDir} (pid ${pid})`,
            hint: `stop it first (kill -TERM ${pid}, or systemctl stop mon), or give this one another data_dir`,
          }),
          // a restart on a full disk: the spool's reserve makes room for the locks, state.db and the store
          {onDiskFull: () => releaseDiskReserve(dataDir)},
        ),
      )
      try {
        locks.push(
          await acquireLockWaiting(
            rulesLockPath(dataDir),
            (pid, waited) => ({
              message: `\`mon alerts eval --once\` (pid ${pid}) still evaluates rules on ${dataDir} after ${formatDuration(waited)}`,
              hint: 'cron mode and the daemon are alternatives: remove the crontab line (mon install crontab shows it)',
            }),
            {waitMs: opts.rulesLockWaitMs ?? 60_000, clock, timer},
          ),
        )

        current = {loaded: current.loaded, groups: await loadRules(current.loaded)}
        checkRuleSchedules(current)
        db = openIncidentDb(dataDir)
        store = await openStore(current.loaded.config.store, {dataDir, clock, retention: current.loaded.config.retention, cacheKiB: STORE_CACHE_KIB, writeThread: true})
        parts = assemble({clock, timer, log, env, random: opts.random, dataDir, store, db})
        await parts.set.start(current, () => clock.now())
        statusWriter = new Scheduler({clock, timer, log})
        statusWriter.add({name: 'status-file', schedule: intervalSchedule(opts.statusEveryMs ?? DEFAULT_STATUS_MS), jitter: 0, run: async () => writeStatus()})
        statusWriter.start()
      } catch (err) {
        await teardown()
        throw err
      }

      state = 'running'
      writeStatus()
      const {groups} = current
      log.info('daemon running', {
        pid: process.pid,
        dataDir,
        store: storeName,
        inputs: parts.collection.inputs,
        ruleGroups: groups.length,
        rules: groups.reduce((n, g) => n + g.rules.length, 0),
        api: parts.api.address!.url,
      })
      return {api: parts.api.address!}
    },

    async reload() {
      if (state !== 'running') return {ok: false, changes: [], error: `the daemon is ${state}`, needsRestart: []}
      if (reloading) {
        // a reload asked for during one re-reads the files once more afterwards
        reloadAgain = true
        return reloading
      }

      reloading = (async () => {
        let outcome: ReloadOutcome
        do {
          reloadAgain = false
          try {
            outcome = await doReload()
          } catch (err) {
            // a bug or an I/O failure half-way: say so; what was applied stays applied
            reloads.failures++
            reloads.lastOk = false
            reloads.lastError = describeError(err)
            log.error('reload failed', {error: reloads.lastError})
            outcome = {ok: false, changes: [], error: reloads.lastError, needsRestart: []}
          }
        } while (reloadAgain && state === 'running')
        return outcome
      })().finally(() => {
        reloading = undefined
      })
      return reloading
    },

    async stop(deadlineMs = 30_000) {
      const deadline = clock.now() + deadlineMs
      if (state === 'stopped') return {written: 0, pending: 0, drained: true, notificationsFinished: true}
      state = 'stopping'
      writeStatus()
      await reloading?.catch(() => {})
      await statusWriter?.stop()
      await parts!.set.stop(deadline)
      await Promise.all(promRoutes.splice(0).map((r) => r.close().catch(() => {})))
      await store?.close().catch((err) => log.warn('closing the store failed', {error: errorMessage(err)}))
      state = 'stopped'
      writeStatus()
      db?.close()
      for (const l of locks.reverse()) l.release()
      locks = []
      const summary = parts!.collection.stopped
      const finished = parts!.notify.finished
      log.info('daemon stopped', {written: summary.written, pendingInSpool: summary.pending, drained: summary.drained, notificationsFinished: finished})
      return {written: summary.written, pending: summary.pending, drained: summary.drained && finished, notificationsFinished: finished}
    },

    facts() {
      const byComponents = parts?.set.status() ?? {}
      return {
        now: clock.now(),
        pid: process.pid,
        version: opts.version,
        startedAt,
        state,
        dataDir,
        configFile: current.loaded.file,
        storeName,
        api: undefined,
        rules: {files: current.loaded.config.rules.files, groups: [], rules: [], stats: {groups: 0, rules: 0, evaluations: 0, ruleErrors: 0, duplicates: 0, pending: 0, firing: 0}},
        alerts: {firing: 0, acked: 0, pending: 0},
        outbox: {pending: 0, sending: 0, delivered: 0, dead: 0, dropped: 0},
        notify: {routes: current.loaded.config.notify.route !== undefined, ticks: 0, delivered: 0, retried: 0, dead: 0, enqueued: 0},
        maintenance: {enabled: false, intervalMs: opts.maintenanceEveryMs ?? DEFAULT_MAINTENANCE_MS, runs: 0, failures: 0},
        ...byComponents,
        agent: byComponents.agent!,
        reload: {...reloads},
        recent: log.recent(),
      }
    },

    health() {
      return assessHealth(daemon.facts())
    },

    status() {
      const f = daemon.facts()
      return statusView(f, assessHealth(f), 'api')
    },

    metrics() {
      const f = daemon.facts()
      return renderMetrics(f, assessHealth(f))
    },

    async evaluateNow(group) {
      if (!parts) throw new Error('the daemon is not running')
      await parts.rules.evaluateNow(group)
    },
  }

  return daemon
}
