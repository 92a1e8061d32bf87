/**
 * `mon daemon`: collection, the alert engine, the notifier and the HTTP API in one process.
 *
 *   inputs ─► spool ─► store ◄── rule groups (each on its interval or cron) ─► dispatcher ─► outbox ─► channels
 *                          ▲                                                    ▲
 *              retention pass every 5 min                 API: /api/v1 (alerts, acks, silences, status), /healthz, /metrics
 *
 * Lifecycle: start() takes the data dir's locks and starts everything; reload() (SIGHUP) re-reads
 * the config and rule files and applies them only if all of it is valid; stop(deadline)
 * (SIGTERM/SIGINT) stops evaluating, flushes the spool to the store and finishes notifications in
 * flight within the deadline. Time comes from the injected clock and timer. See docs/daemon.md.
 */
import {mkdirSync} from 'node:fs'
import {performance} from 'node:perf_hooks'
import {createRuleEngine, engineOptionsFromConfig, type RuleEngine} from '../alerting/engine.js'
import {loadRuleFiles, type RuleGroup} from '../alerting/rules.js'
import type {Alert, AlertSink} from '../alerting/types.js'
import {systemClock, type Clock} from '../clock.js'
import {buildInputs, collectorContext} from '../collectors/registry.js'
import {formatDuration, parseDuration} from '../config/duration.js'
import type {LoadedConfig} from '../config/load.js'
import {secretValues} from '../config/redact.js'
import {UserError, errorMessage} from '../errors.js'
import {countAlertsInDb, localIncidentsFromConfig, openIncidentDb, type AlertCounts, type LocalIncidents} from '../incidents/index.js'
import type {IncidentService} from '../incidents/types.js'
import type {Logger} from '../log.js'
import {createDispatcher, type Dispatcher} from '../notify/index.js'
import {Outbox} from '../notify/outbox.js'
import {createAgent, type Agent} from '../pipeline/agent.js'
import {releaseDiskReserve} from '../pipeline/spool.js'
import {intervalSchedule, parseSchedule} from '../scheduler/schedule.js'
import {Scheduler} from '../scheduler/scheduler.js'
import {systemTimer, type Timer} from '../scheduler/timer.js'
import type {StateDb} from '../state/db.js'
import {describeStore, openStore} from '../store/open.js'
import type {FullStore} from '../store/types.js'
import {apiServerFromConfig, type ApiServer, type ListenAddress} from './api.js'
import {assessHealth, healthHttpStatus, type Health} from './health.js'
import {acquireLock, acquireLockWaiting, daemonPidPath, rulesLockPath, type Lock} from '../lock.js'
import {daemonLogger, type DaemonLogger} from './logging.js'
import {METRICS_CONTENT_TYPE, renderMetrics} from './metrics.js'
import {NotifyLoop} from './notify-loop.js'
import {ruleJobName, ruleScheduler} from './rule-jobs.js'
import {statusView, writeStatusFile, type DaemonStatusView} from './status.js'
import type {DaemonFacts, LifecycleState, MaintenanceFacts, ReloadFacts, RuleGroupFacts} from './types.js'
import {roundMs} from '../format.js'

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
/** resolved alerts are kept this long, to re-push them to a dispatcher rebuilt by a reload */
const RECENT_RESOLVED_MS = 3_600_000
/** ended incidents and old audit rows are pruned this often (rules.incident_retention) */
const INCIDENT_PRUNE_MS = 3_600_000

export function createDaemon(opts: DaemonOptions): Daemon {
  const clock = opts.clock ?? systemClock
  const timer = opts.timer ?? systemTimer
  const env = opts.env ?? process.env
  const log: DaemonLogger = daemonLogger(opts.log, {clock, secrets: secretValues(opts.loaded)})
  let loaded = opts.loaded
  const dataDir = loaded.dataDir
  let state: LifecycleState = 'starting'
  const startedAt = clock.now()

  // set by start()
  let locks: Lock[] = []
  let db: StateDb | undefined
  let store: FullStore | undefined
  let agent: Agent | undefined
  let engine: RuleEngine | undefined
  let groups: RuleGroup[] = []
  let rulesScheduler: Scheduler | undefined
  let housekeeping: Scheduler | undefined
  let dispatcher: Dispatcher | undefined
  let incidents: LocalIncidents | undefined
  let api: ApiServer | undefined
  let apiAddress: ListenAddress | undefined
  let notifyLoop: NotifyLoop | undefined
  let outbox: Outbox | undefined
  const groupRuns = new Map<string, {at: number; durationMs: number}>()
  const recentResolved = new Map<string, {alert: Alert; at: number}>()
  const maintenance: MaintenanceFacts = {enabled: false, intervalMs: opts.maintenanceEveryMs ?? DEFAULT_MAINTENANCE_MS, runs: 0, failures: 0}
  const reloads: ReloadFacts = {count: 0, failures: 0, lastSuccessAt: startedAt}
  let reloading: Promise<ReloadOutcome> | undefined
  let reloadAgain = false

  const storeName = describeStore(loaded.config.store, dataDir)

  // ------------------------------------------------------------------ pieces

  /** The engine hands alerts here; the current dispatcher gets them (a reload may swap it). */
  const sink: AlertSink = {
    push(alerts, now) {
      for (const a of alerts) if (a.state === 'resolved') recentResolved.set(a.fingerprint, {alert: a, at: now})
      for (const [fp, r] of recentResolved) if (now - r.at > RECENT_RESOLVED_MS) recentResolved.delete(fp)
      dispatcher?.push(alerts, now)
      notifyLoop?.kick()
    },
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

  const newEngine = (cfg: LoadedConfig, gs: RuleGroup[]): RuleEngine =>
    createRuleEngine({
      groups: gs,
      store: store!,
      stateDb: db,
      clock,
      log: log.child({component: 'rules'}),
      sink,
      ...engineOptionsFromConfig(cfg.config.rules, cfg.config.query),
      internalTags: {host: cfg.config.host},
      countAlerts: db ? () => countAlertsInDb(db!) : undefined,
    })

  const evaluate = async (group: string): Promise<void> => {
    if (!engine || !engine.groups.some((g) => g.name === group)) return
    const started = performance.now()
    const at = clock.now()
    await engine.evaluateGroup(group, at)
    groupRuns.set(group, {at, durationMs: roundMs(performance.now() - started)})
  }

  const newRuleScheduler = (cfg: LoadedConfig, gs: RuleGroup[]) => ruleScheduler({groups: gs, evaluate, clock, timer, log: log.child({component: 'rules'}), timezone: cfg.config.agent.timezone, jitterMs: parseDuration(cfg.config.rules.jitter), random: opts.random})

  // an ack or a silence from the API: the notifier acts on it now, not at its next poll
  const newIncidents = (cfg: LoadedConfig) => localIncidentsFromConfig({loaded: cfg, clock, db, log: log.child({component: 'incidents'}), store, onChange: () => notifyLoop?.kick()})
  const newDispatcher = (cfg: LoadedConfig, inc: LocalIncidents) => createDispatcher({loaded: cfg, db, clock, log: log.child({component: 'notify'}), ackState: inc.ackState})

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
  }

  const newApi = (cfg: LoadedConfig): ApiServer => {
    const server = apiServerFromConfig(cfg, {
      incidents: forwardingIncidents,
      auditAuthFailure: (source, detail) => incidents?.recordAuthFailure(source, detail),
      clock,
      log: log.child({component: 'api'}),
      env,
    })
    mountRoutes(server)
    return server
  }

  const runMaintenance = async (): Promise<void> => {
    if (!store?.maintain) return
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

  const writeStatus = () => {
    try {
      writeStatusFile(dataDir, statusView(daemon.facts(), daemon.health(), 'snapshot'))
    } catch (err) {
      log.debug('cannot write the status file', {error: errorMessage(err)})
    }
  }

  const pruneIncidents = () => {
    if (!incidents) return
    const pruned = incidents.store.purge(clock.now() - parseDuration(loaded.config.rules.incident_retention))
    if (pruned.incidents + pruned.audit > 0) log.info('pruned ended incidents and audit rows', pruned)
  }

  const newHousekeeping = () => {
    const s = new Scheduler({clock, timer, log})
    if (store?.maintain) s.add({name: 'retention', schedule: intervalSchedule(maintenance.intervalMs), jitter: 0, run: runMaintenance})
    s.add({name: 'status-file', schedule: intervalSchedule(opts.statusEveryMs ?? DEFAULT_STATUS_MS), jitter: 0, run: async () => writeStatus()})
    s.add({name: 'incident-retention', schedule: intervalSchedule(INCIDENT_PRUNE_MS), jitter: 0, run: async () => pruneIncidents()})
    return s
  }

  const loadRules = (cfg: LoadedConfig) => loadRuleFiles(cfg.config.rules.files, {defaultInterval: cfg.config.rules.default_interval})

  /** Undo in reverse order (a failed start). */
  const teardown = async () => {
    await rulesScheduler?.stop().catch(() => {})
    await housekeeping?.stop().catch(() => {})
    await notifyLoop?.pause().catch(() => {})
    dispatcher?.close()
    await api?.close().catch(() => {})
    await agent?.stop(0).catch(() => {})
    await incidents?.close().catch(() => {})
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

    let next: LoadedConfig
    let nextGroups: RuleGroup[]
    try {
      next = await opts.loadConfig()
      nextGroups = await loadRules(next)
      // everything that can be refused is checked before anything is applied
      buildInputs(next.config, collectorContext(next.config, dataDir, clock, log))
      for (const g of nextGroups) parseSchedule(g.interval, {timezone: next.config.agent.timezone})
    } catch (err) {
      return reject(describeError(err))
    }

    const prev = loaded
    const same = (pick: (c: LoadedConfig) => unknown) => JSON.stringify(pick(prev)) === JSON.stringify(pick(next))
    const needsRestart: string[] = []
    if (next.dataDir !== prev.dataDir) needsRestart.push('data_dir')
    if (!same((c) => c.config.store)) needsRestart.push('store')
    if (!same((c) => c.config.retention)) needsRestart.push('retention')
    const changes: string[] = []
    const problems: string[] = []

    if (opts.makeLogger && !same((c) => c.config.log)) {
      log.setTarget(opts.makeLogger(next))
      changes.push('log')
    }

    log.setSecrets(secretValues(next))

    try {
      await agent!.reload(next.config)
      changes.push(`inputs: ${agent!.inputs.length}`)
    } catch (err) {
      return reject(`inputs: ${describeError(err)}`)
    }

    // rules: stop the schedule (the evaluation in progress finishes), swap, start again
    await rulesScheduler?.drain()
    const rulesSettingsChanged = !same((c) => ({...c.config.rules, files: [], default_interval: ''}))
    if (rulesSettingsChanged) engine = newEngine(next, nextGroups)
    else engine!.replaceGroups(nextGroups)
    groups = nextGroups
    for (const name of [...groupRuns.keys()]) if (!groups.some((g) => g.name === name)) groupRuns.delete(name)
    rulesScheduler = newRuleScheduler(next, groups)
    rulesScheduler.start()
    changes.push(`rules: ${groups.length} groups, ${groups.reduce((n, g) => n + g.rules.length, 0)} rules`)

    if (!same((c) => c.config.notify)) {
      await notifyLoop!.pause()
      dispatcher!.close()
      await incidents!.close()
      incidents = newIncidents(next)
      dispatcher = newDispatcher(next, incidents)
      // what the old dispatcher held in memory: firing alerts, and resolutions not yet sent
      const firing = engine!.activeAlerts().filter((a) => a.state === 'firing')
      dispatcher.push([...firing, ...[...recentResolved.values()].map((r) => r.alert)], clock.now())
      notifyLoop!.start()
      changes.push('notify')
    }

    const tokenOf = (c: LoadedConfig) => c.config.api.token || env.MON_API_TOKEN || ''
    // any key of the section: listen, token, timeouts, caps, TLS files
    if (!same((c) => ({...c.config.api, token: tokenOf(c)}))) {
      const old = api!
      await old.close()
      try {
        const fresh = newApi(next)
        apiAddress = await fresh.listen()
        api = fresh
        changes.push(`api: ${apiAddress.url}`)
      } catch (err) {
        problems.push(`api: ${describeError(err)}; still serving on ${apiAddress?.url}`)
        const again = newApi(prev)
        apiAddress = await again.listen()
        api = again
      }
    }

    loaded = next
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
      return apiAddress
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

        groups = await loadRules(loaded)
        for (const g of groups) parseSchedule(g.interval, {timezone: loaded.config.agent.timezone})
        db = openIncidentDb(dataDir)
        outbox = new Outbox(db)
        store = await openStore(loaded.config.store, {dataDir, clock, retention: loaded.config.retention, cacheKiB: STORE_CACHE_KIB})
        maintenance.enabled = typeof store.maintain === 'function'
        agent = await createAgent({config: loaded.config, dataDir, store: store!, clock, timer, log, random: opts.random})
        incidents = newIncidents(loaded)
        dispatcher = newDispatcher(loaded, incidents)
        engine = newEngine(loaded, groups)
        api = newApi(loaded)
        apiAddress = await api.listen()

        await agent.start()
        notifyLoop = new NotifyLoop({dispatcher: () => dispatcher!, clock, timer, log: log.child({component: 'notify'}), pollMs: opts.notifyPollMs})
        notifyLoop.start()
        rulesScheduler = newRuleScheduler(loaded, groups)
        rulesScheduler.start()
        housekeeping = newHousekeeping()
        housekeeping.start()
      } catch (err) {
        await teardown()
        throw err
      }

      state = 'running'
      writeStatus()
      log.info('daemon running', {
        pid: process.pid,
        dataDir,
        store: storeName,
        inputs: agent.inputs.length,
        ruleGroups: groups.length,
        rules: groups.reduce((n, g) => n + g.rules.length, 0),
        api: apiAddress.url,
      })
      return {api: apiAddress}
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
      await housekeeping?.stop()
      // the evaluation in progress finishes (its alerts reach the dispatcher); no new ones start
      await rulesScheduler?.drain()
      const left = () => Math.max(0, deadline - clock.now())
      const [summary, notified] = await Promise.all([
        agent!.stop(left()).catch((err) => {
          log.error('stopping collection failed; unwritten points stay in the spool', {error: errorMessage(err)})
          return {written: 0, pending: 0, drained: false}
        }),
        notifyLoop!.stop(deadline).catch((err) => {
          log.error('stopping the notifier failed; unsent notifications stay in the outbox', {error: errorMessage(err)})
          return {finished: false}
        }),
        api?.close().catch((err) => log.warn('closing the API failed', {error: errorMessage(err)})),
      ])
      await incidents?.close().catch(() => {})
      await store?.close().catch((err) => log.warn('closing the store failed', {error: errorMessage(err)}))
      state = 'stopped'
      writeStatus()
      db?.close()
      for (const l of locks.reverse()) l.release()
      locks = []
      log.info('daemon stopped', {written: summary.written, pendingInSpool: summary.pending, drained: summary.drained, notificationsFinished: notified.finished})
      return {written: summary.written, pending: summary.pending, drained: summary.drained && notified.finished, notificationsFinished: notified.finished}
    },

    facts() {
      const now = clock.now()
      const ruleStatus = engine?.ruleStatus() ?? []
      const jobs = new Map((rulesScheduler?.status() ?? []).map((j) => [j.name, j]))
      const groupFacts: RuleGroupFacts[] = groups.map((g) => {
        const run = groupRuns.get(g.name)
        return {
          name: g.name,
          file: g.file,
          schedule: jobs.get(ruleJobName(g.name))?.schedule ?? g.interval,
          rules: g.rules.length,
          job: jobs.get(ruleJobName(g.name)),
          lastEvalAt: run?.at,
          lastDurationMs: run?.durationMs,
          failing: ruleStatus.filter((r) => r.group === g.name && r.health === 'error').length,
        }
      })
      const stats = engine?.stats()
      let alertCounts: AlertCounts = {firing: stats?.firing ?? 0, acked: 0, pending: stats?.pending ?? 0}
      try {
        if (db && state !== 'stopped') alertCounts = countAlertsInDb(db)
      } catch {}
      let outboxCounts = {pending: 0, sending: 0, delivered: 0, dead: 0, dropped: 0}
      try {
        if (outbox && state !== 'stopped') outboxCounts = outbox.counts()
      } catch {}
      return {
        now,
        pid: process.pid,
        version: opts.version,
        startedAt,
        state,
        dataDir,
        configFile: loaded.file,
        storeName,
        api: apiAddress ? {url: apiAddress.url} : undefined,
        agent: agent!.status(),
        rules: {
          files: loaded.config.rules.files,
          groups: groupFacts,
          rules: ruleStatus,
          stats: stats ?? {groups: 0, rules: 0, evaluations: 0, ruleErrors: 0, duplicates: 0, pending: 0, firing: 0},
        },
        alerts: alertCounts,
        outbox: outboxCounts,
        notify: {routes: loaded.config.notify.route !== undefined, ...(notifyLoop?.facts ?? {ticks: 0, delivered: 0, retried: 0, dead: 0, enqueued: 0})},
        maintenance: {...maintenance},
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
      if (!rulesScheduler) throw new Error('the daemon is not running')
      await rulesScheduler.runNow(ruleJobName(group))
    },
  }

  return daemon
}

/** One line for the log: the message, plus the details and hint of a located config error. */
function describeError(err: unknown): string {
  if (err instanceof UserError) return [err.message, err.details, err.hint ? `hint: ${err.hint}` : undefined].filter(Boolean).join('\n')
  return errorMessage(err)
}
