import {matchesAll, type Matcher} from '../model/matcher.js'
import {migrate, openMemoryStateDb, openStateDb, type Migration, type StateDb} from '../state/db.js'
import type {Alert, AlertState, AlertTransition, RuleHealth, RuleStatus} from './types.js'

/**
 * Alert state in state.db: the current state of every alert by fingerprint (`alerting_alerts`),
 * every transition (`alerting_transitions`) and each rule's last evaluation (`alerting_rules`).
 * The engine writes; {@link AlertStateReader} is the read-only view for `mon alerts`, `mon top`
 * and the daemon API. Acknowledgements, silences and incidents live in their modules' own tables,
 * keyed by the same fingerprint.
 */
export const ALERTING_MIGRATIONS: Migration[] = [
  {
    id: 'alerting/1',
    sql: `
      CREATE TABLE alerting_alerts (
        fingerprint TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        grp TEXT NOT NULL,
        alertname TEXT NOT NULL,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        state TEXT NOT NULL,
        value REAL,
        active_at INTEGER NOT NULL,
        fired_at INTEGER,
        resolved_at INTEGER,
        kept_firing_since INTEGER,
        last_eval_at INTEGER NOT NULL,
        health TEXT NOT NULL DEFAULT 'ok',
        error TEXT
      ) WITHOUT ROWID;
      CREATE INDEX alerting_alerts_state ON alerting_alerts (state, last_eval_at);
      CREATE INDEX alerting_alerts_rule ON alerting_alerts (rule_id);
      CREATE TABLE alerting_transitions (
        id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        grp TEXT NOT NULL,
        alertname TEXT NOT NULL,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        at INTEGER NOT NULL,
        active_at INTEGER NOT NULL,
        value REAL,
        health TEXT NOT NULL DEFAULT 'ok',
        error TEXT
      );
      CREATE INDEX alerting_transitions_fp ON alerting_transitions (fingerprint, at);
      CREATE INDEX alerting_transitions_at ON alerting_transitions (at);
      CREATE TABLE alerting_rules (
        rule_id TEXT PRIMARY KEY,
        grp TEXT NOT NULL,
        name TEXT NOT NULL,
        health TEXT NOT NULL,
        last_error TEXT,
        last_eval_at INTEGER,
        duration_ms REAL,
        samples INTEGER NOT NULL DEFAULT 0,
        active_alerts INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
    `,
  },
]

interface AlertRow {
  fingerprint: string
  rule_id: string
  grp: string
  alertname: string
  labels: string
  annotations: string
  state: AlertState
  value: number | null
  active_at: number
  fired_at: number | null
  resolved_at: number | null
  kept_firing_since: number | null
  last_eval_at: number
  health: 'ok' | 'error' | 'nodata'
  error: string | null
}

interface TransitionRow extends Omit<AlertRow, 'state' | 'fired_at' | 'resolved_at' | 'kept_firing_since' | 'last_eval_at'> {
  id: number
  from_state: AlertState
  to_state: AlertState
  at: number
}

interface RuleRow {
  rule_id: string
  grp: string
  name: string
  health: RuleHealth
  last_error: string | null
  last_eval_at: number | null
  duration_ms: number | null
  samples: number
  active_alerts: number
}

/** Opens (creating if needed) the in-memory equivalent of state.db, for `mon rules test|eval`. */
export function memoryStateDb(): StateDb {
  return openMemoryStateDb(ALERTING_MIGRATIONS)
}

/** Writes of the engine; one transaction per group evaluation. */
export class AlertStateWriter {
  private readonly upsertAlert
  private readonly insertTransition
  private readonly upsertRule
  private readonly selectActive
  private readonly pruneTransitions
  private readonly pruneAlerts

  constructor(private readonly db: StateDb) {
    migrate(db, ALERTING_MIGRATIONS)
    this.upsertAlert = db.prepare(`
      INSERT INTO alerting_alerts (fingerprint, rule_id, grp, alertname, labels, annotations, state, value, active_at, fired_at, resolved_at, kept_firing_since, last_eval_at, health, error)
      VALUES (@fingerprint, @rule_id, @grp, @alertname, @labels, @annotations, @state, @value, @active_at, @fired_at, @resolved_at, @kept_firing_since, @last_eval_at, @health, @error)
      ON CONFLICT (fingerprint) DO UPDATE SET rule_id = excluded.rule_id, grp = excluded.grp, alertname = excluded.alertname, labels = excluded.labels,
        annotations = excluded.annotations, state = excluded.state, value = excluded.value, active_at = excluded.active_at, fired_at = excluded.fired_at,
        resolved_at = excluded.resolved_at, kept_firing_since = excluded.kept_firing_since, last_eval_at = excluded.last_eval_at, health = excluded.health, error = excluded.error`)
    this.insertTransition = db.prepare(`
      INSERT INTO alerting_transitions (fingerprint, rule_id, grp, alertname, labels, annotations, from_state, to_state, at, active_at, value, health, error)
      VALUES (@fingerprint, @rule_id, @grp, @alertname, @labels, @annotations, @from_state, @to_state, @at, @active_at, @value, @health, @error)`)
    this.upsertRule = db.prepare(`
      INSERT OR REPLACE INTO alerting_rules (rule_id, grp, name, health, last_error, last_eval_at, duration_ms, samples, active_alerts)
      VALUES (@rule_id, @grp, @name, @health, @last_error, @last_eval_at, @duration_ms, @samples, @active_alerts)`)
    this.selectActive = db.prepare<[], AlertRow>(`SELECT * FROM alerting_alerts WHERE state IN ('pending', 'firing')`)
    this.pruneTransitions = db.prepare('DELETE FROM alerting_transitions WHERE at < ?')
    this.pruneAlerts = db.prepare(`DELETE FROM alerting_alerts WHERE state IN ('resolved', 'inactive') AND last_eval_at < ?`)
  }

  /** Pending and firing alerts, to continue where the last run left off. */
  loadActive(): Alert[] {
    return this.selectActive.all().map(rowToAlert)
  }

  save(alerts: Alert[], transitions: AlertTransition[], rules: RuleStatus[]): void {
    if (alerts.length === 0 && transitions.length === 0 && rules.length === 0) return
    this.db.transaction(() => {
      for (const a of alerts) this.upsertAlert.run(alertToRow(a))
      for (const t of transitions) {
        const row = alertToRow(t.alert)
        this.insertTransition.run({
          fingerprint: row.fingerprint,
          rule_id: row.rule_id,
          grp: row.grp,
          alertname: row.alertname,
          labels: row.labels,
          annotations: row.annotations,
          from_state: t.from,
          to_state: t.to,
          at: t.at,
          active_at: row.active_at,
          value: row.value,
          health: row.health,
          error: row.error,
        })
      }

      for (const r of rules) {
        this.upsertRule.run({
          rule_id: r.id,
          grp: r.group,
          name: r.name,
          health: r.health,
          last_error: r.lastError ?? null,
          last_eval_at: r.lastEvalAt ?? null,
          duration_ms: r.durationMs ?? null,
          samples: r.samples,
          active_alerts: r.activeAlerts,
        })
      }
    })()
  }

  /** Drops transitions and ended alerts older than `before`. */
  prune(before: number): {transitions: number; alerts: number} {
    return this.db.transaction(() => ({transitions: this.pruneTransitions.run(before).changes, alerts: this.pruneAlerts.run(before).changes}))()
  }

  /** Forgets the status of rules that are no longer loaded. */
  dropRules(keep: string[]): void {
    const placeholders = keep.map(() => '?').join(', ')
    this.db.prepare(`DELETE FROM alerting_rules${keep.length > 0 ? ` WHERE rule_id NOT IN (${placeholders})` : ''}`).run(...keep)
  }
}

export interface AlertFilter {
  /** default: pending and firing */
  states?: AlertState[]
  group?: string
  /** label matchers (`severity="critical"`, `host=~"web.*"`) */
  matchers?: Matcher[]
}

export interface HistoryFilter {
  fingerprint?: string
  since?: number
  until?: number
  /** newest first; default 100 */
  limit?: number
}

/**
 * Read-only view of alert state for `mon alerts`, `mon top` and the daemon API. Safe to use from
 * another process while the daemon writes (WAL).
 */
export class AlertStateReader {
  constructor(private readonly db: StateDb) {
    migrate(db, ALERTING_MIGRATIONS)
  }

  list(filter: AlertFilter = {}): Alert[] {
    const states = filter.states ?? ['pending', 'firing']
    const where = [`a.state IN (${states.map(() => '?').join(', ')})`]
    const params: unknown[] = [...states]
    if (filter.group) {
      where.push('a.grp = ?')
      params.push(filter.group)
    }

    const rows = this.db
      .prepare<unknown[], AlertRow & {rule_eval: number | null}>(
        `SELECT a.*, r.last_eval_at AS rule_eval FROM alerting_alerts a LEFT JOIN alerting_rules r ON r.rule_id = a.rule_id
         WHERE ${where.join(' AND ')} ORDER BY CASE a.state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, a.active_at DESC, a.fingerprint`,
      )
      .all(...params)
    const alerts = rows.map((r) => {
      const a = rowToAlert(r)
      // an active alert was evaluated with its rule, also when nothing about it changed
      if ((a.state === 'pending' || a.state === 'firing') && r.rule_eval !== null && r.rule_eval > a.lastEvalAt) a.lastEvalAt = r.rule_eval
      return a
    })
    return filter.matchers?.length ? alerts.filter((a) => matchesAll(filter.matchers!, a.labels)) : alerts
  }

  get(fingerprint: string): Alert | undefined {
    const row = this.db.prepare<[string], AlertRow>('SELECT * FROM alerting_alerts WHERE fingerprint = ?').get(fingerprint)
    return row ? rowToAlert(row) : undefined
  }

  /** Fingerprints starting with `prefix` (for commands that accept a short fingerprint). */
  findByPrefix(prefix: string, limit = 10): string[] {
    return this.db
      .prepare<[string, number], {fingerprint: string}>("SELECT fingerprint FROM alerting_alerts WHERE fingerprint LIKE ? || '%' ESCAPE '\\' ORDER BY fingerprint LIMIT ?")
      .all(prefix.replace(/[%_\\]/g, '\\$&'), limit)
      .map((r) => r.fingerprint)
  }

  history(filter: HistoryFilter = {}): AlertTransition[] {
    const where: string[] = []
    const params: unknown[] = []
    if (filter.fingerprint) {
      where.push('fingerprint = ?')
      params.push(filter.fingerprint)
    }

    if (filter.since !== undefined) {
      where.push('at >= ?')
      params.push(filter.since)
    }

    if (filter.until !== undefined) {
      where.push('at < ?')
      params.push(filter.until)
    }

    params.push(filter.limit ?? 100)
    const rows = this.db
      .prepare<unknown[], TransitionRow>(`SELECT * FROM alerting_transitions${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`)
      .all(...params)
    return rows.map(rowToTransition)
  }

  rules(): RuleStatus[] {
    return this.db
      .prepare<[], RuleRow>('SELECT * FROM alerting_rules ORDER BY grp, rule_id')
      .all()
      .map((r) => ({
        id: r.rule_id,
        group: r.grp,
        name: r.name,
        health: r.health,
        lastError: r.last_error ?? undefined,
        lastEvalAt: r.last_eval_at ?? undefined,
        durationMs: r.duration_ms ?? undefined,
        samples: r.samples,
        activeAlerts: r.active_alerts,
      }))
  }

  counts(): Record<AlertState, number> {
    const out: Record<AlertState, number> = {inactive: 0, pending: 0, firing: 0, resolved: 0}
    for (const r of this.db.prepare<[], {state: AlertState; n: number}>('SELECT state, count(*) AS n FROM alerting_alerts GROUP BY state').all()) out[r.state] = r.n
    return out
  }
}

/** Opens `<dataDir>/state.db` and returns the reader (close it with `reader.close()`). */
export function openAlertReader(dataDir: string): AlertStateReader & {close(): void} {
  const db = openStateDb(dataDir, ALERTING_MIGRATIONS)
  const reader = new AlertStateReader(db) as AlertStateReader & {close(): void}
  reader.close = () => db.close()
  return reader
}

function alertToRow(a: Alert): AlertRow {
  return {
    fingerprint: a.fingerprint,
    rule_id: a.rule ?? `${a.group}/${a.labels.alertname ?? ''}`,
    grp: a.group,
    alertname: a.labels.alertname ?? '',
    labels: JSON.stringify(a.labels),
    annotations: JSON.stringify(a.annotations),
    state: a.state,
    value: a.value !== null && Number.isFinite(a.value) ? a.value : null,
    active_at: a.activeAt,
    fired_at: a.firedAt ?? null,
    resolved_at: a.resolvedAt ?? null,
    kept_firing_since: a.keptFiringSince ?? null,
    last_eval_at: a.lastEvalAt,
    health: a.health ?? 'ok',
    error: a.error ?? null,
  }
}

function rowToAlert(r: AlertRow): Alert {
  const a: Alert = {
    fingerprint: r.fingerprint,
    group: r.grp,
    labels: JSON.parse(r.labels) as Record<string, string>,
    annotations: JSON.parse(r.annotations) as Record<string, string>,
    state: r.state,
    value: r.value,
    activeAt: r.active_at,
    lastEvalAt: r.last_eval_at,
    health: r.health,
    rule: r.rule_id,
  }
  if (r.fired_at !== null) a.firedAt = r.fired_at
  if (r.resolved_at !== null) a.resolvedAt = r.resolved_at
  if (r.kept_firing_since !== null) a.keptFiringSince = r.kept_firing_since
  if (r.error !== null) a.error = r.error
  return a
}

function rowToTransition(r: TransitionRow): AlertTransition {
  const alert: Alert = {
    fingerprint: r.fingerprint,
    group: r.grp,
    labels: JSON.parse(r.labels) as Record<string, string>,
    annotations: JSON.parse(r.annotations) as Record<string, string>,
    state: r.to_state,
    value: r.value,
    activeAt: r.active_at,
    lastEvalAt: r.at,
    health: r.health as Alert['health'],
    rule: r.rule_id,
  }
  if (r.error !== null) alert.error = r.error
  return {alert, from: r.from_state, to: r.to_state, at: r.at}
}
