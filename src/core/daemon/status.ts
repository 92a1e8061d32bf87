import type {ClusterStatusView} from '../cluster/status.js'
import type {IncidentSyncFacts} from '../cluster/incidents-sync.js'
import Database from 'better-sqlite3'
import {existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {errorMessage} from '../errors.js'
import type {OutboxStatus} from '../notify/types.js'
import {stateDbPath} from '../state/db.js'
import {countAlertsInDb, type AlertCounts} from '../incidents/counts.js'
import {sendRequest, type HttpReply} from './api-client.js'
import type {Health, HealthStatus} from './health.js'
import {daemonPidPath, readLock} from '../lock.js'
import type {DaemonFacts, LifecycleState} from './types.js'
import type {WhenFull} from '../pipeline/spool.js'
import type {DropCounts} from '../pipeline/drops.js'
import type {NotifierFacts} from '../cluster/jetstream-ha-notify.js'

/**
 * What `mon status` shows, and where it gets it: from the running daemon's API
 * (`GET /api/v1/status`, with the token) when it can; else from the status file the daemon
 * rewrites every few seconds in its data dir (`daemon.json`); and when no daemon runs, from the
 * data dir itself (spool backlog, outbox, alert counts in state.db). Times are RFC 3339 strings.
 */
export const STATUS_FILE = 'daemon.json'

export interface InputView {
  name: string
  kind: string
  schedule: string
  nextRun: string | null
  lastRun: string | null
  lastDurationMs: number | null
  /** points of the last run */
  points: number
  runs: number
  errors: number
  gathered: number
  written: number
  dropped: number
  /** `dropped` by reason (pipeline/drops.ts); reasons with none are absent */
  droppedBy: DropCounts
  missed: number
  overlapped: number
  lastError: string | null
  lastErrorAt: string | null
  /** with `aggregate:` (docs/collectors.md): late points left out, summaries sent, windows open */
  aggregate?: {late: number; summaries: number; open: number}
}

export interface RuleGroupView {
  name: string
  file: string
  schedule: string
  rules: number
  /** rules whose last evaluation failed */
  failing: number
  nextEval: string | null
  lastEval: string | null
  lastDurationMs: number | null
  evaluations: number
  missed: number
  overlapped: number
}

export interface DaemonStatusView {
  state: LifecycleState
  /** where this came from: the live API, or the status file the daemon writes */
  source: 'api' | 'snapshot'
  /** when it was taken */
  asOf: string
  pid: number
  version: string
  startedAt: string
  uptimeMs: number
  dataDir: string
  config: string | null
  api: {url: string} | null
  health: HealthStatus
  components: Health['components']
  store: {name: string; up: boolean; lastWriteAt: string | null; lastError: string | null}
  inputs: InputView[]
  ruleGroups: RuleGroupView[]
  rules: {files: string[]; total: number; failing: Array<{id: string; error: string | null}>}
  alerts: AlertCounts
  spool: {points: number; records: number; bytes: number; oldestAgeMs: number; droppedPoints: number; maxBytes: number; whenFull: WhenFull; full: boolean; refusedPoints: number; diskFull: boolean; heldPoints: number}
  outbox: Record<OutboxStatus, number>
  notify: {routes: boolean; delivered: number; retried: number; dead: number; enqueued: number; lastTickAt: string | null; lastError: string | null}
  maintenance: {enabled: boolean; runs: number; failures: number; lastRunAt: string | null; lastDurationMs: number | null; lastError: string | null}
  reload: {count: number; failures: number; lastAt: string | null; ok: boolean; lastError: string | null}
  /** the last warnings and errors the daemon logged, oldest first */
  lastErrors: Array<{at: string; level: 'warn' | 'error'; msg: string; detail: string | null}>
  /** cluster: the shared incident stream as this daemon reads it (stream and applied sequence, lag) */
  sharedIncidents?: IncidentSyncFacts
  /** cluster HA: the notifier lease as this daemon sees it (docs/cluster.md#notifications) */
  notifier?: NotifierFacts
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString())

export function statusView(f: DaemonFacts, health: Health, source: DaemonStatusView['source']): DaemonStatusView {
  const {spool, writer} = f.agent
  return {
    state: f.state,
    source,
    asOf: new Date(f.now).toISOString(),
    pid: f.pid,
    version: f.version,
    startedAt: new Date(f.startedAt).toISOString(),
    uptimeMs: f.now - f.startedAt,
    dataDir: f.dataDir,
    config: f.configFile ?? null,
    api: f.api ?? null,
    health: health.status,
    components: health.components,
    store: {name: f.storeName, up: writer.storeUp, lastWriteAt: iso(writer.lastWriteAt), lastError: writer.storeUp ? null : (writer.lastError ?? null)},
    inputs: f.agent.inputs.map((i) => ({
      name: i.name,
      kind: i.kind,
      schedule: i.schedule,
      nextRun: iso(i.nextRun),
      lastRun: iso(i.lastRun),
      lastDurationMs: i.lastDurationMs === undefined ? null : Math.round(i.lastDurationMs),
      points: i.points,
      runs: i.runs,
      errors: i.errors,
      gathered: i.gathered,
      written: i.written,
      dropped: i.dropped,
      droppedBy: i.droppedBy ?? {},
      missed: i.missed,
      overlapped: i.overlapped,
      lastError: i.lastError ?? null,
      lastErrorAt: i.lastError === undefined ? null : iso(i.lastErrorAt),
      ...(i.aggregate ? {aggregate: i.aggregate} : {}),
    })),
    ruleGroups: f.rules.groups.map((g) => ({
      name: g.name,
      file: g.file,
      schedule: g.schedule,
      rules: g.rules,
      failing: g.failing,
      nextEval: iso(g.job?.nextRun),
      lastEval: iso(g.lastEvalAt),
      lastDurationMs: g.lastDurationMs === undefined ? null : Math.round(g.lastDurationMs * 10) / 10,
      evaluations: g.job?.runs ?? 0,
      missed: g.job?.missed ?? 0,
      overlapped: g.job?.overlapped ?? 0,
    })),
    rules: {files: f.rules.files, total: f.rules.rules.length, failing: f.rules.rules.filter((r) => r.health === 'error').map((r) => ({id: r.id, error: r.lastError ?? null}))},
    ...(f.notifier ? {notifier: f.notifier} : {}),
    alerts: f.alerts,
    spool: {points: spool.points, records: spool.records, bytes: spool.bytes, oldestAgeMs: spool.oldestAgeMs, droppedPoints: spool.dropped.points, maxBytes: spool.maxBytes, whenFull: spool.whenFull, full: spool.full, refusedPoints: spool.refused.points, diskFull: spool.diskFull, heldPoints: f.agent.heldPoints},
    outbox: f.outbox,
    notify: {routes: f.notify.routes, delivered: f.notify.delivered, retried: f.notify.retried, dead: f.notify.dead, enqueued: f.notify.enqueued, lastTickAt: iso(f.notify.lastTickAt), lastError: f.notify.lastError ?? null},
    maintenance: {
      enabled: f.maintenance.enabled,
      runs: f.maintenance.runs,
      failures: f.maintenance.failures,
      lastRunAt: iso(f.maintenance.lastRunAt),
      lastDurationMs: f.maintenance.lastDurationMs === undefined ? null : Math.round(f.maintenance.lastDurationMs),
      lastError: f.maintenance.lastError ?? null,
    },
    reload: {count: f.reload.count, failures: f.reload.failures, lastAt: iso(f.reload.lastAt), ok: f.reload.lastOk !== false, lastError: f.reload.lastError ?? null},
    lastErrors: f.recent.map((r) => ({at: new Date(r.at).toISOString(), level: r.level, msg: r.msg, detail: r.detail ?? null})),
    ...(f.sharedIncidents ? {sharedIncidents: f.sharedIncidents} : {}),
  }
}

export function statusFilePath(dataDir: string): string {
  return join(dataDir, STATUS_FILE)
}

/** Replaces the status file atomically (a reader never sees half of it). */
export function writeStatusFile(dataDir: string, view: DaemonStatusView): void {
  const path = statusFilePath(dataDir)
  const tmp = `${path}.tmp`
  writeFileSync(tmp, JSON.stringify(view, null, 1) + '\n', {mode: 0o600})
  renameSync(tmp, path)
}

export function readStatusFile(dataDir: string): DaemonStatusView | undefined {
  try {
    const v = JSON.parse(readFileSync(statusFilePath(dataDir), 'utf8')) as DaemonStatusView
    return typeof v === 'object' && v !== null && typeof v.pid === 'number' ? v : undefined
  } catch {
    return undefined
  }
}

/** What the data dir says when no daemon runs (or its API cannot be asked). */
export interface DataDirFacts {
  /** bytes of spooled line protocol not yet written to the store */
  spoolPendingBytes: number
  outbox?: Record<OutboxStatus, number>
  alerts?: AlertCounts
}

export interface StatusReport {
  running: boolean
  pid: number | null
  dataDir: string
  /** the daemon's own account (live from the API, else its last status file); null if it never ran here */
  daemon: DaemonStatusView | null
  /** read from the data dir when no daemon runs */
  dataDirFacts: DataDirFacts | null
  /** why the live view was not used, stale snapshots, unclean shutdowns */
  notes: string[]
  /** cluster mode: the cluster as NATS sees it */
  cluster?: ClusterStatusView
}

export interface ReadStatusOptions {
  dataDir: string
  /** the API token (api.token / MON_API_TOKEN) */
  token?: string
  /** for a daemon API with TLS: what to trust (see {@link statusClientTls}) */
  tls?: TlsClient
  timeoutMs?: number
  now?: number
}

export async function readDaemonStatus(opts: ReadStatusOptions): Promise<StatusReport> {
  const now = opts.now ?? Date.now()
  const holder = readLock(daemonPidPath(opts.dataDir))
  const snapshot = readStatusFile(opts.dataDir)
  const notes: string[] = []
  if (holder?.alive) {
    const url = snapshot?.pid === holder.pid ? snapshot.api?.url : undefined
    if (url && opts.token) {
      try {
        const live = await fetchStatus(url, opts.token, opts.timeoutMs ?? 5000, opts.tls)
        return {running: true, pid: holder.pid, dataDir: opts.dataDir, daemon: live, dataDirFacts: null, notes}
      } catch (err) {
        notes.push(`cannot ask the daemon's API at ${url} (${errorMessage(err)}); showing its status file`)
      }
    } else if (url) {
      notes.push('no API token (api.token or MON_API_TOKEN): showing the status file the daemon writes every few seconds')
    } else if (snapshot?.pid !== holder.pid) {
      notes.push('the daemon has not written its status file yet (starting?)')
    }

    const usable = snapshot?.pid === holder.pid ? snapshot : null
    if (usable) notes.push(`status as of ${ago(now - Date.parse(usable.asOf))} ago`)
    return {running: true, pid: holder.pid, dataDir: opts.dataDir, daemon: usable, dataDirFacts: null, notes}
  }

  if (snapshot && snapshot.state !== 'stopped') notes.push(`the daemon (pid ${snapshot.pid}) did not shut down cleanly: last seen ${ago(now - Date.parse(snapshot.asOf))} ago`)
  return {running: false, pid: null, dataDir: opts.dataDir, daemon: snapshot ?? null, dataDirFacts: dataDirFacts(opts.dataDir), notes}
}

async function fetchStatus(url: string, token: string, timeoutMs: number, tls: TlsClient | undefined): Promise<DaemonStatusView> {
  let res: HttpReply
  try {
    res = await sendRequest(`${url}/api/v1/status`, {method: 'GET', headers: {Authorization: `Bearer ${token}`}, tls, timeoutMs})
  } catch (err) {
    const code = (err as {code?: string}).code
    throw new Error(code ? `${errorMessage(err)} [${code}]${url.startsWith('https:') ? '; set MON_CA to the CA that signed api.tls_cert' : ''}` : errorMessage(err))
  }
  if (!res.ok) throw new Error(`HTTP ${res.status}${res.status === 401 ? ' (wrong token?)' : ''}`)
  return JSON.parse(res.text) as DaemonStatusView
}

export interface TlsClient {
  ca?: Buffer[]
  cert?: Buffer
  key?: Buffer
}

/**
 * What `mon status` trusts for a daemon API with TLS: the daemon's own certificate (api.tls_cert:
 * enough when it is self-signed or carries its chain) and MON_CA; for api.tls_client_ca, the client
 * certificate in MON_CLIENT_CERT / MON_CLIENT_KEY. Unreadable files are left out: status then
 * falls back to the status file and says why.
 */
export function statusClientTls(api: {tls_cert?: string}, env: NodeJS.ProcessEnv = process.env): TlsClient | undefined {
  const read = (file: string | undefined) => {
    if (!file) return undefined
    try {
      return readFileSync(file)
    } catch {
      return undefined
    }
  }
  const ca: Buffer[] = []
  for (const file of [api.tls_cert, env.MON_CA]) {
    const pem = read(file)
    if (pem) ca.push(pem)
  }
  const [cert, key] = [read(env.MON_CLIENT_CERT), read(env.MON_CLIENT_KEY)]
  if (ca.length === 0 && !cert) return undefined
  return {...(ca.length > 0 ? {ca} : {}), ...(cert && key ? {cert, key} : {})}
}

export function dataDirFacts(dataDir: string): DataDirFacts {
  const facts: DataDirFacts = {spoolPendingBytes: spoolPendingBytes(join(dataDir, 'spool'))}
  if (existsSync(stateDbPath(dataDir))) {
    try {
      // read-only: `mon status` must not create or migrate anything
      const db = new Database(stateDbPath(dataDir), {readonly: true, fileMustExist: true})
      db.pragma('busy_timeout = 2000')
      try {
        const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{name: string}>).map((r) => r.name))
        if (tables.has('notify_outbox')) {
          const out: Record<OutboxStatus, number> = {pending: 0, sending: 0, delivered: 0, dead: 0, dropped: 0}
          for (const r of db.prepare('SELECT status, COUNT(*) AS n FROM notify_outbox GROUP BY status').all() as Array<{status: OutboxStatus; n: number}>) out[r.status] = r.n
          facts.outbox = out
        }

        if (tables.has('alerting_alerts')) facts.alerts = countAlertsInDb(db)
      } finally {
        db.close()
      }
    } catch {
      // an unreadable state.db is reported by the commands that use it
    }
  }

  return facts
}

/** Spooled bytes past the acknowledged position (ack.json), read from file sizes alone. */
export function spoolPendingBytes(dir: string): number {
  let ack: {segment: number; offset: number} | undefined
  try {
    ack = JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8')) as {segment: number; offset: number}
  } catch {}
  let total = 0
  let names: string[]
  try {
    names = readdirSync(dir).filter((n) => /^\d{16}\.seg$/.test(n))
  } catch {
    return 0
  }

  const HEADER = 8
  for (const name of names) {
    const id = Number(name.slice(0, 16))
    let size = 0
    try {
      size = statSync(join(dir, name)).size
    } catch {
      continue
    }

    if (!ack || id > ack.segment) total += Math.max(0, size - HEADER)
    else if (id === ack.segment) total += Math.max(0, size - ack.offset)
  }

  return total
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  if (s < 172_800) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86_400)}d`
}
