/**
 * Cron mode without a daemon: `mon alerts eval --once` evaluates the rule groups that are due,
 * with the alert state kept in state.db between runs (so `for: 5m` works across cron runs), hands
 * the alerts to the notifier and sends what is due, then exits. `mon collect --once` is the other
 * half (src/core/pipeline/once.ts); this module also holds its lock wait.
 *
 * Differences from the daemon, because each run is one instant: `group_wait` is 0 (one
 * evaluation already sees every alert that fires together, and the next chance to send is a
 * whole cron period away); a group's `group_interval` is at least the cron period; notifications
 * that fail stay in the outbox and are retried by the next run.
 */
import {mkdirSync} from 'node:fs'
import {createRuleEngine, engineOptionsFromConfig, type GroupEvaluation} from '../alerting/engine.js'
import {loadRuleFiles, type RuleGroup} from '../alerting/rules.js'
import type {Clock} from '../clock.js'
import {formatDuration} from '../config/duration.js'
import type {LoadedConfig} from '../config/load.js'
import {secretValues} from '../config/redact.js'
import {InputError, UserError, errorMessage} from '../errors.js'
import {countAlertsInDb, localIncidentsFromConfig, openIncidentDb, type AlertCounts} from '../incidents/index.js'
import {silentLogger, type Logger} from '../log.js'
import {compileFromConfig, Dispatcher} from '../notify/index.js'
import type {CompiledRoute} from '../notify/route/router.js'
import {parseSchedule} from '../scheduler/schedule.js'
import {sleep, type Timer} from '../scheduler/timer.js'
import type {Store} from '../store/types.js'
import {acquireLockWaiting, daemonPidPath, LockHeldError, readLock, rulesLockPath, spoolLockPath, waitUntilFree} from '../lock.js'

export interface AlertsEvalOnceOptions {
  loaded: LoadedConfig
  store: () => Promise<Store>
  clock: Clock
  timer: Timer
  log?: Logger
  /** evaluate every group, not only those due */
  all?: boolean
  /** how long to wait for another `mon alerts eval --once` to finish */
  lockWaitMs: number
  /** how long to keep sending; what is not delivered by then is retried by the next run */
  deliverTimeoutMs: number
}

export interface GroupRun {
  name: string
  schedule: string
  evaluated: boolean
  /** why it was not evaluated */
  skipped?: string
  rules: number
  failing: number
}

export interface AlertsEvalOnceSummary {
  at: string
  groups: GroupRun[]
  /** state changes in this run */
  transitions: Array<{fingerprint: string; alertname: string; group: string; from: string; to: string}>
  alerts: AlertCounts
  ruleErrors: Array<{rule: string; error: string}>
  /** recording rules evaluated in this run and the points each wrote */
  recorded: Array<{rule: string; points: number}>
  notifications: {enqueued: number; delivered: number; retried: number; dead: number; stillPending: number; timedOut: boolean}
}

/** A daemon's evaluations and this run would notify twice: refuse, naming it. */
function refuseIfDaemon(dataDir: string): void {
  const daemon = readLock(daemonPidPath(dataDir))
  if (daemon?.alive) {
    throw new UserError(`a mon daemon (pid ${daemon.pid}) already evaluates the rules for ${dataDir}`, {
      hint: 'cron mode and the daemon are alternatives: remove the crontab line, or stop the daemon',
    })
  }
}

export async function alertsEvalOnce(opts: AlertsEvalOnceOptions): Promise<AlertsEvalOnceSummary> {
  const {loaded, clock, timer} = opts
  const log = opts.log ?? silentLogger
  const dataDir = loaded.dataDir
  const rules = loaded.config.rules
  refuseIfDaemon(dataDir)
  if (rules.files.length === 0) throw new InputError('no rule files: rules.files in the config is empty', {hint: 'add rule files under rules.files (mon rules check checks them)'})
  const groups = await loadRuleFiles(rules.files, {defaultInterval: rules.default_interval})
  try {
    mkdirSync(dataDir, {recursive: true})
  } catch (err) {
    throw new UserError(`cannot create data directory ${dataDir}: ${errorMessage(err)}`, {hint: 'set data_dir (or MON_DATA_DIR) to a writable directory'})
  }

  const lock = await acquireLockWaiting(
    rulesLockPath(dataDir),
    (pid, waited) => ({
      message: `another \`mon alerts eval --once\` (pid ${pid}) is still evaluating rules for ${dataDir} after ${formatDuration(waited)}; this run is skipped`,
      hint: 'a run takes longer than the cron period: check the store and the notification channels (mon status), or run less often',
    }),
    {waitMs: opts.lockWaitMs, clock, timer, refuse: () => refuseIfDaemon(dataDir)},
  )
  const db = openIncidentDb(dataDir)
  try {
    const store = await opts.store()
    const incidents = localIncidentsFromConfig({loaded, clock, db, log, store})
    const notify = compileFromConfig(loaded, {db, log})
    if (notify.root) zeroGroupWait(notify.root)
    const dispatcher = new Dispatcher({notify, db, clock, log, ackState: incidents.ackState, secrets: secretValues(loaded)})
    const engine = createRuleEngine({groups, store, stateDb: db, clock, log, sink: dispatcher, ...oneInstantEngineOptions(rules, loaded.config.query), internalTags: {host: loaded.config.host}, countAlerts: () => countAlertsInDb(db)})
    const at = clock.now()
    const lastEval = lastEvaluations(engine.reader.rules())
    const runs: GroupRun[] = []
    const evaluations: GroupEvaluation[] = []
    for (const g of groups) {
      const schedule = parseSchedule(g.interval, {timezone: loaded.config.agent.timezone})
      const run: GroupRun = {name: g.name, schedule: schedule.describe(), evaluated: false, rules: g.rules.length, failing: 0}
      const due = opts.all || isDue(g, schedule, lastEval.get(g.name), at)
      if (due) {
        const ev = await engine.evaluateGroup(g.name, at)
        evaluations.push(ev)
        run.evaluated = true
        run.failing = ev.rules.filter((r) => r.health === 'error').length
      } else {
        run.skipped = `not due: last evaluated ${formatDuration(Math.max(0, Math.round((at - lastEval.get(g.name)!) / 1000) * 1000))} ago`
      }

      runs.push(run)
    }

    const notifications = await deliver(dispatcher, at, opts.deliverTimeoutMs, timer, log)
    const alerts = countAlertsInDb(db)
    await incidents.close()
    return {
      at: new Date(at).toISOString(),
      groups: runs,
      transitions: evaluations.flatMap((e) => e.transitions.map((t) => ({fingerprint: t.alert.fingerprint, alertname: t.alert.labels.alertname ?? '', group: t.alert.group, from: t.from, to: t.to}))),
      alerts,
      ruleErrors: evaluations.flatMap((e) => e.rules.filter((r) => r.error !== undefined).map((r) => ({rule: r.rule, error: r.error!}))),
      recorded: evaluations.flatMap((e) => e.rules.filter((r) => r.type === 'record' && r.error === undefined).map((r) => ({rule: r.rule, points: r.recorded ?? 0}))),
      notifications: {...notifications, stillPending: countPending(dispatcher)},
    }
  } finally {
    db.close()
    lock.release()
  }
}

/**
 * The daemon's engine options, except that the query cache keeps each window where it is. The
 * cache moves windows back to its step boundary so that rules evaluated within one step share
 * reads; the daemon evaluates on step boundaries, so nothing moves there. A cron run evaluates at
 * whatever second it started, just after `mon collect --once` of the same minute wrote its points:
 * moved back to the boundary, the window would end before them and the rules would lag one run.
 */
function oneInstantEngineOptions(rules: LoadedConfig['config']['rules'], query: LoadedConfig['config']['query']): ReturnType<typeof engineOptionsFromConfig> {
  const options = engineOptionsFromConfig(rules, query)
  return {...options, cache: options.cache === false ? false : {...options.cache, step: 1}}
}

/** Sends what is due now; gives up (aborting sends, which the next run retries) after `timeoutMs`. */
async function deliver(dispatcher: Dispatcher, at: number, timeoutMs: number, timer: Timer, log: Logger) {
  const ac = new AbortController()
  const tick = dispatcher.tick(at)
  const outcome = await Promise.race([
    tick.then((r) => ({...r, timedOut: false})),
    sleep(timer, timeoutMs, ac.signal).then(
      () => undefined,
      () => undefined,
    ),
  ])
  ac.abort()
  if (outcome) return outcome
  log.warn('notifications still being sent after the timeout: aborted; the next run retries them', {timeoutMs})
  dispatcher.close()
  const r = await tick.catch(() => ({enqueued: 0, delivered: 0, retried: 0, dead: 0}))
  return {enqueued: r.enqueued, delivered: r.delivered, retried: r.retried, dead: r.dead, timedOut: true}
}

function countPending(dispatcher: Dispatcher): number {
  const c = dispatcher.outbox.counts()
  return c.pending + c.sending
}

/** In cron mode each run is one instant: nothing is gained by waiting for more alerts of a group. */
function zeroGroupWait(route: CompiledRoute): void {
  route.groupWaitMs = 0
  for (const child of route.routes) zeroGroupWait(child)
}

function lastEvaluations(rules: Array<{group: string; lastEvalAt?: number}>): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of rules) if (r.lastEvalAt !== undefined) out.set(r.group, Math.max(out.get(r.group) ?? 0, r.lastEvalAt))
  return out
}

/**
 * A group is due when it was never evaluated, or the first slot of its schedule after the last
 * evaluation has come (intervals are aligned, as in the daemon: a 5m group is due at :00, :05 …).
 * Cron starts a run just after its minute begins, so a 1-minute crontab line evaluates a 1m group
 * every time and a 5m group every fifth time. A clock stepped back makes it due at once.
 */
export function isDue(_g: RuleGroup, schedule: {next(after: number): number}, last: number | undefined, now: number): boolean {
  if (last === undefined || now < last) return true
  return schedule.next(last) <= now
}

/**
 * For `mon collect --once`: runs `run` (which opens the spool first thing) once no other process
 * holds the spool, waiting up to `waitMs` (see {@link waitForSpool}). Two runs that start at the
 * same moment both see the spool free; the one that loses the race at the spool's lock waits for
 * its turn and tries again — nothing was collected yet when the lock was refused.
 */
export async function whenSpoolIsFree<T>(dataDir: string, opts: {waitMs: number; clock: Clock; timer: Timer}, run: () => Promise<T>): Promise<T> {
  const started = opts.clock.now()
  for (;;) {
    await waitForSpool(dataDir, {...opts, waitMs: Math.max(0, opts.waitMs - (opts.clock.now() - started))})
    try {
      return await run()
    } catch (err) {
      const holder = readLock(spoolLockPath(dataDir))
      const lostTheRace = err instanceof UserError && holder?.alive === true && opts.clock.now() - started < opts.waitMs
      if (!lostTheRace) throw err
      await sleep(opts.timer, 50 + Math.floor(Math.random() * 100))
    }
  }
}

/**
 * For `mon collect --once`: waits (up to `waitMs`) while another `mon collect --once` holds the
 * spool, so two crontab lines that fire in the same minute both run; refuses at once when the
 * holder is a daemon or a continuous `mon collect` (they never let go). Returns how long it waited.
 */
export async function waitForSpool(dataDir: string, opts: {waitMs: number; clock: Clock; timer: Timer; signal?: AbortSignal}): Promise<number> {
  const daemon = readLock(daemonPidPath(dataDir))
  const refuse = (pid: number) => {
    if (daemon?.alive && daemon.pid === pid) {
      throw new LockHeldError(spoolLockPath(dataDir), pid, `a mon daemon (pid ${pid}) collects for ${dataDir}`, 'cron mode and the daemon are alternatives: remove the crontab line, or stop the daemon')
    }
  }

  return waitUntilFree(
    spoolLockPath(dataDir),
    (pid, waited) => ({
      message: `another mon process (pid ${pid}) still holds the spool in ${dataDir} after ${formatDuration(waited < 1000 ? waited : Math.round(waited / 1000) * 1000)}; this run is skipped`,
      hint: 'a run takes longer than the cron period (check the inputs\' timeouts and the store), or a continuous `mon collect` runs on this data dir',
    }),
    {...opts, refuse},
  )
}
