import {ALERTING_MIGRATIONS, AlertStateReader} from '../alerting/persist.js'
import type {Alert} from '../alerting/types.js'
import {formatDuration} from '../config/duration.js'
import {enqueueAcknowledgement} from '../notify/deliver/ack.js'
import {EscalationStore} from '../notify/deliver/escalation.js'
import {NOTIFY_MIGRATIONS} from '../notify/migrations.js'
import {buildNotification} from '../notify/deliver/notification.js'
import type {CompiledNotify} from '../notify/notifier.js'
import {Outbox, type OutboxEntry} from '../notify/deliver/outbox.js'
import {toNotificationAlert, type AckState} from '../notify/types.js'
import {migrate, type StateDb} from '../state/db.js'
import {IncidentConflictError, NotFoundError} from './errors.js'
import {INCIDENT_MIGRATIONS} from './migrations.js'
import type {AuditAction} from './types.js'

/**
 * Incidents and the audit trail in state.db, on top of the engine's alert state (same file, same
 * fingerprints). Every action is one IMMEDIATE transaction that re-reads the alert and its
 * incident, checks the state, changes it, appends the audit row and queues the notifications — so
 * two terminals acking at once are serialised by SQLite: one wins, the other is told who acked.
 * Synchronous (better-sqlite3); the service in service.ts adds views, ids and events.
 */

export interface IncidentRecord {
  id: number
  fingerprint: string
  /** the episode: alerting_alerts.active_at when it was opened */
  activeAt: number
  alertname: string
  labels: Record<string, string>
  openedAt: number
  ackedBy?: string
  ackedAt?: number
  ackComment?: string
  resolvedBy?: string
  resolvedAt?: number
  resolveComment?: string
}

export interface AuditRecord {
  seq: number
  at: number
  action: AuditAction
  fingerprint?: string
  incidentId?: number
  silenceId?: string
  alertname?: string
  severity?: string
  actor: string
  source: string
  comment?: string
  detail?: string
}

export interface Actor {
  by: string
  source: string
  comment?: string
}

/** What an action did, for the service to turn into an ActionResult and an event. */
export interface ActionOutcome {
  alert: Alert
  incident: IncidentRecord
  /** the same person had already acked it: nothing changed, nothing audited */
  unchanged: boolean
  /** `receiver/channel` of every notification queued */
  notified: string[]
  escalationsCancelled: number
  /** unack: escalations started again */
  escalationsRestarted?: number
  warning?: string
}

interface IncidentRow {
  id: number
  fingerprint: string
  active_at: number
  alertname: string
  labels: string
  opened_at: number
  acked_by: string | null
  acked_at: number | null
  ack_comment: string | null
  resolved_by: string | null
  resolved_at: number | null
  resolve_comment: string | null
}

interface AuditRow {
  seq: number
  at: number
  action: AuditAction
  fingerprint: string | null
  incident_id: number | null
  silence_id: string | null
  alertname: string | null
  severity: string | null
  actor: string
  source: string
  comment: string | null
  detail: string | null
}

export const STATE_MIGRATIONS = [...ALERTING_MIGRATIONS, ...NOTIFY_MIGRATIONS, ...INCIDENT_MIGRATIONS]

export class IncidentStore {
  readonly reader: AlertStateReader
  readonly outbox: Outbox
  private readonly notify?: CompiledNotify
  private readonly selectCurrent
  private readonly selectAcker

  constructor(
    private readonly db: StateDb,
    opts: {notify?: CompiledNotify} = {},
  ) {
    migrate(db, STATE_MIGRATIONS)
    this.reader = new AlertStateReader(db)
    this.outbox = new Outbox(db)
    this.notify = opts.notify
    this.selectCurrent = db.prepare<[string, number], IncidentRow>('SELECT * FROM incidents WHERE fingerprint = ? AND active_at = ?')
    this.selectAcker = db.prepare<[string], {by: string | null}>(
      `SELECT COALESCE(i.acked_by, i.resolved_by) AS by FROM incidents i
       JOIN alerting_alerts a ON a.fingerprint = i.fingerprint AND a.active_at = i.active_at
       WHERE i.fingerprint = ?`,
    )
  }

  /**
   * The notifier's view of acknowledgements (give it to the Dispatcher): who acked the current
   * episode of an alert — or resolved it by hand — so it gets no repeats and no escalation. An
   * alert that resolves and fires again has a new episode, so the old ack no longer counts.
   */
  readonly ackState: AckState = {
    ackedBy: (fingerprint) => this.selectAcker.get(fingerprint)?.by ?? undefined,
  }

  /** The incident of the alert's current episode, if anybody acted on it. */
  current(alert: Pick<Alert, 'fingerprint' | 'activeAt'>): IncidentRecord | undefined {
    const row = this.selectCurrent.get(alert.fingerprint, alert.activeAt)
    return row ? fromRow(row) : undefined
  }

  /** Current incidents of many alerts at once, by fingerprint. */
  currentAll(): Map<string, IncidentRecord> {
    const rows = this.db
      .prepare<[], IncidentRow>('SELECT i.* FROM incidents i JOIN alerting_alerts a ON a.fingerprint = i.fingerprint AND a.active_at = i.active_at')
      .all()
    return new Map(rows.map((r) => [r.fingerprint, fromRow(r)]))
  }

  /** Every incident of one alert, oldest first. */
  incidentsOf(fingerprint: string): IncidentRecord[] {
    return this.db.prepare<[string], IncidentRow>('SELECT * FROM incidents WHERE fingerprint = ? ORDER BY id').all(fingerprint).map(fromRow)
  }

  ack(fingerprint: string, actor: Actor, now: number): ActionOutcome {
    return this.db
      .transaction((): ActionOutcome => {
        const alert = this.alert(fingerprint)
        const existing = this.current(alert)
        refuseEnded(alert, existing, 'acknowledge', now)
        if (existing?.ackedBy !== undefined) {
          if (existing.ackedBy === actor.by) return {alert, incident: existing, unchanged: true, notified: [], escalationsCancelled: 0}
          throw alreadyAcked(alert, {by: existing.ackedBy, at: existing.ackedAt!, comment: existing.ackComment}, now)
        }
        const incident = existing ?? this.open(alert, now)
        const changed = this.db
          .prepare('UPDATE incidents SET acked_by = ?, acked_at = ?, ack_comment = ? WHERE id = ? AND acked_by IS NULL AND resolved_by IS NULL')
          .run(actor.by, now, actor.comment ?? null, incident.id).changes
        if (changed !== 1) throw new Error(`incident ${incident.id} changed inside its own transaction`)
        this.appendAudit({at: now, action: 'ack', alert, incidentId: incident.id, ...actor})
        const {notified, escalationsCancelled} = this.ackSideEffects(alert, actor, now)
        return {alert, incident: {...incident, ackedBy: actor.by, ackedAt: now, ackComment: actor.comment}, unchanged: false, notified, escalationsCancelled}
      })
      .immediate()
  }

  unack(fingerprint: string, actor: Actor, now: number): ActionOutcome {
    return this.db
      .transaction((): ActionOutcome => {
        const alert = this.alert(fingerprint)
        const existing = this.current(alert)
        refuseEnded(alert, existing, 'unacknowledge', now)
        if (existing?.ackedBy === undefined) throw new IncidentConflictError(`${describe(alert)} is not acknowledged`, {hint: 'nothing changed'})
        this.db.prepare('UPDATE incidents SET acked_by = NULL, acked_at = NULL, ack_comment = NULL WHERE id = ?').run(existing.id)
        this.appendAudit({at: now, action: 'unack', alert, incidentId: existing.id, ...actor, detail: `was acknowledged by ${existing.ackedBy}`})
        const escalationsRestarted = new EscalationStore(this.db).restart(fingerprint, now)
        const {ackedBy: _b, ackedAt: _a, ackComment: _c, ...rest} = existing
        return {alert, incident: rest, unchanged: false, notified: [], escalationsCancelled: 0, escalationsRestarted}
      })
      .immediate()
  }

  /**
   * Resolve by hand: the incident is closed, escalation stops, and every channel that was told it
   * fires (and sends resolutions) is told it is resolved. The engine's own state is the rule's to
   * change: while the condition still holds the alert stays quiet; when it clears and comes back
   * that is a new incident.
   */
  resolve(fingerprint: string, actor: Actor, now: number): ActionOutcome {
    return this.db
      .transaction((): ActionOutcome => {
        const alert = this.alert(fingerprint)
        const existing = this.current(alert)
        refuseEnded(alert, existing, 'resolve', now)
        const incident = existing ?? this.open(alert, now)
        this.db.prepare('UPDATE incidents SET resolved_by = ?, resolved_at = ?, resolve_comment = ? WHERE id = ? AND resolved_by IS NULL').run(actor.by, now, actor.comment ?? null, incident.id)
        this.appendAudit({at: now, action: 'resolve', alert, incidentId: incident.id, ...actor})
        const escalationsCancelled = new EscalationStore(this.db).cancel(fingerprint, now)
        const notified = this.enqueueResolved(alert, actor, now)
        const warning =
          alert.state === 'firing' || alert.state === 'pending'
            ? `the rule's condition still held at its last evaluation (${ago(alert.lastEvalAt, now)}): ${describe(alert)} stays quiet now, and fires as a new incident if it clears and comes back`
            : undefined
        return {alert, incident: {...incident, resolvedBy: actor.by, resolvedAt: now, resolveComment: actor.comment}, unchanged: false, notified, escalationsCancelled, warning}
      })
      .immediate()
  }

  /** A note on the alert's current episode (also after it resolved: post-mortem notes). */
  comment(fingerprint: string, actor: Actor & {comment: string}, now: number): ActionOutcome {
    if (!actor.comment.trim()) throw new IncidentConflictError('a comment needs some text')
    return this.db
      .transaction((): ActionOutcome => {
        const alert = this.alert(fingerprint)
        const incident = this.current(alert) ?? this.open(alert, now)
        this.appendAudit({at: now, action: 'comment', alert, incidentId: incident.id, ...actor})
        return {alert, incident, unchanged: false, notified: [], escalationsCancelled: 0}
      })
      .immediate()
  }

  /**
   * What an acknowledgement sets off (inside the caller's transaction): the acknowledge
   * notifications queued for the channels that were told it fires, escalation cancelled. Also used
   * by the cluster's shared incidents (src/core/cluster/incidents-materialise.ts) applying an ack
   * decided by the incident stream.
   */
  ackSideEffects(alert: Alert, actor: Actor, now: number): {notified: string[]; escalationsCancelled: number} {
    if (!this.notify) return {notified: [], escalationsCancelled: new EscalationStore(this.db).cancel(alert.fingerprint, now)}
    const notified = this.outbox
      .notifiedChannelsFor(alert.fingerprint)
      .filter((t) => this.notify!.channel(t.receiver, t.channel)?.sendAcknowledged)
      .map((t) => `${t.receiver}/${t.channel}`)
    const {escalationsCancelled} = enqueueAcknowledgement({notify: this.notify, db: this.db, outbox: this.outbox, alert, by: actor.by, comment: actor.comment, now})
    return {notified, escalationsCancelled}
  }

  /** Append one audit row (actions on silences, refused API requests). */
  audit(entry: Omit<AuditRecord, 'seq'>): void {
    this.insertAudit(entry)
  }

  /**
   * Forgets what ended before `before`: incidents whose episode is over (no pending or firing alert
   * with that start any more) and whose last action is older, and audit rows older than that which
   * belong to no incident still kept (silence actions, refused API requests, forgotten incidents).
   * An incident still firing keeps its whole trail, however old.
   */
  purge(before: number): {incidents: number; audit: number} {
    return this.db.transaction(() => {
      const incidents = this.db
        .prepare(
          `DELETE FROM incidents WHERE id IN (
             SELECT i.id FROM incidents i
             WHERE NOT EXISTS (SELECT 1 FROM alerting_alerts a WHERE a.fingerprint = i.fingerprint AND a.active_at = i.active_at AND a.state IN ('pending', 'firing'))
               AND max(i.opened_at, coalesce(i.acked_at, 0), coalesce(i.resolved_at, 0), coalesce((SELECT max(x.at) FROM incidents_audit x WHERE x.incident_id = i.id), 0)) < ?)`,
        )
        .run(before).changes
      const audit = this.db
        .prepare('DELETE FROM incidents_audit WHERE at < ? AND (incident_id IS NULL OR NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = incident_id))')
        .run(before).changes
      return {incidents, audit}
    })()
  }

  /** Audit rows, newest first. */
  auditTrail(filter: {since?: number; until?: number; fingerprint?: string; limit?: number} = {}): AuditRecord[] {
    const where: string[] = []
    const params: unknown[] = []
    if (filter.since !== undefined) {
      where.push('at >= ?')
      params.push(filter.since)
    }
    if (filter.until !== undefined) {
      where.push('at < ?')
      params.push(filter.until)
    }
    if (filter.fingerprint !== undefined) {
      where.push('fingerprint = ?')
      params.push(filter.fingerprint)
    }
    params.push(filter.limit ?? 1000)
    return this.db
      .prepare<unknown[], AuditRow>(`SELECT * FROM incidents_audit${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, seq DESC LIMIT ?`)
      .all(...params)
      .map(auditFromRow)
  }

  private alert(fingerprint: string): Alert {
    const alert = this.reader.get(fingerprint)
    if (!alert) throw new NotFoundError(`no alert with fingerprint ${fingerprint}`, {hint: 'list them with: mon alerts list --state all'})
    return alert
  }

  private open(alert: Alert, now: number): IncidentRecord {
    this.db
      .prepare('INSERT OR IGNORE INTO incidents (fingerprint, active_at, alertname, labels, opened_at) VALUES (?, ?, ?, ?, ?)')
      .run(alert.fingerprint, alert.activeAt, alert.labels.alertname ?? '', JSON.stringify(alert.labels), now)
    return this.current(alert)!
  }

  private appendAudit(e: {at: number; action: AuditAction; alert: Alert; incidentId: number; by: string; source: string; comment?: string; detail?: string}): void {
    this.insertAudit({
      at: e.at,
      action: e.action,
      fingerprint: e.alert.fingerprint,
      incidentId: e.incidentId,
      alertname: e.alert.labels.alertname,
      severity: e.alert.labels.severity,
      actor: e.by,
      source: e.source,
      comment: e.comment,
      detail: e.detail,
    })
  }

  private insertAudit(e: Omit<AuditRecord, 'seq'>): void {
    this.db
      .prepare(
        `INSERT INTO incidents_audit (at, action, fingerprint, incident_id, silence_id, alertname, severity, actor, source, comment, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(e.at, e.action, e.fingerprint ?? null, e.incidentId ?? null, e.silenceId ?? null, e.alertname ?? null, e.severity ?? null, e.actor, e.source, e.comment || null, e.detail ?? null)
  }

  /** Resolutions queued for every channel told the alert fires (also the cluster's shared resolve). */
  enqueueResolved(alert: Alert, actor: Actor, now: number): string[] {
    if (!this.notify) return []
    const resolved = toNotificationAlert({...alert, state: 'resolved', resolvedAt: now})
    const entries: OutboxEntry[] = []
    for (const target of this.outbox.notifiedChannelsFor(alert.fingerprint)) {
      const inst = this.notify.channel(target.receiver, target.channel)
      if (!inst || !inst.sendResolved) continue
      entries.push({
        notification: buildNotification({
          kind: 'resolved',
          receiver: target.receiver,
          groupKey: target.groupKey,
          groupLabels: target.groupLabels,
          alerts: [resolved],
          now,
          externalURL: this.notify.externalURL,
          message: `Resolved by ${actor.by}${actor.comment ? `: ${actor.comment}` : ''}`,
        }),
        channel: inst.key,
        channelType: inst.type,
      })
    }
    if (entries.length > 0) this.outbox.enqueue(entries, now)
    return entries.map((e) => `${e.notification.receiver}/${e.channel}`)
  }
}

/** The losing side of two acks: who acknowledged it first (the same words locally, through the API and in a cluster). */
export function alreadyAcked(alert: Pick<Alert, 'labels' | 'fingerprint'>, winner: {by: string; at: number; comment?: string}, now: number): IncidentConflictError {
  return new IncidentConflictError(`${describe(alert)} is already acknowledged by ${winner.by} ${ago(winner.at, now)}${winner.comment ? ` ("${winner.comment}")` : ''}`, {
    hint: 'nothing changed; to take it over: mon alerts unack <id>, then ack it',
  })
}

/** Actions other than comments need an episode that has not ended. */
export function refuseEnded(alert: Alert, incident: IncidentRecord | undefined, verb: string, now: number): void {
  if (incident?.resolvedBy !== undefined) {
    throw new IncidentConflictError(`cannot ${verb} ${describe(alert)}: it was resolved by ${incident.resolvedBy} ${ago(incident.resolvedAt!, now)}`, {
      hint: 'if it fires again that is a new incident, which can be acknowledged',
    })
  }
  if (alert.state === 'resolved' || alert.state === 'inactive') {
    const when = alert.resolvedAt ?? alert.lastEvalAt
    throw new IncidentConflictError(`cannot ${verb} ${describe(alert)}: it ${alert.state === 'resolved' ? 'resolved' : 'stopped being pending'} ${ago(when, now)} (the condition cleared)`, {
      hint: 'nothing to do; mon alerts comment <id> "…" still adds a note to it',
    })
  }
}

/** `HighCpu {host=web-1} (ab12…)` for messages. */
export function describe(alert: Pick<Alert, 'labels' | 'fingerprint'>): string {
  const {alertname, ...rest} = alert.labels
  const labels = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${rest[k]}`)
    .join(', ')
  return `${alertname ?? 'alert'}${labels ? ` {${labels}}` : ''}`
}

export function ago(t: number, now: number): string {
  const d = Math.round(Math.max(0, now - t) / 1000) * 1000
  return d < 1000 ? 'just now' : `${formatDuration(d)} ago`
}

function fromRow(r: IncidentRow): IncidentRecord {
  const out: IncidentRecord = {
    id: r.id,
    fingerprint: r.fingerprint,
    activeAt: r.active_at,
    alertname: r.alertname,
    labels: JSON.parse(r.labels) as Record<string, string>,
    openedAt: r.opened_at,
  }
  if (r.acked_by !== null) {
    out.ackedBy = r.acked_by
    out.ackedAt = r.acked_at ?? r.opened_at
    if (r.ack_comment !== null) out.ackComment = r.ack_comment
  }
  if (r.resolved_by !== null) {
    out.resolvedBy = r.resolved_by
    out.resolvedAt = r.resolved_at ?? r.opened_at
    if (r.resolve_comment !== null) out.resolveComment = r.resolve_comment
  }
  return out
}

function auditFromRow(r: AuditRow): AuditRecord {
  const out: AuditRecord = {seq: r.seq, at: r.at, action: r.action, actor: r.actor, source: r.source}
  if (r.fingerprint !== null) out.fingerprint = r.fingerprint
  if (r.incident_id !== null) out.incidentId = r.incident_id
  if (r.silence_id !== null) out.silenceId = r.silence_id
  if (r.alertname !== null) out.alertname = r.alertname
  if (r.severity !== null) out.severity = r.severity
  if (r.comment !== null) out.comment = r.comment
  if (r.detail !== null) out.detail = r.detail
  return out
}
