import type {Alert} from '../alerting/types.js'
import type {Clock} from '../clock.js'
import {STATE_MIGRATIONS, type IncidentStore} from '../incidents/store.js'
import type {AuditAction} from '../incidents/types.js'
import {EscalationStore} from '../notify/deliver/escalation.js'
import {formatMatchers, Silences} from '../notify/mute/silences.js'
import {migrate, type Migration, type StateDb} from '../state/db.js'
import type {IncidentEvent} from './incidents-events.js'

/**
 * Applies the cluster's incident stream to this daemon's state.db, in the stream's order, once
 * (docs/cluster.md#shared-incidents).
 *
 * Two layers:
 * - the stream's own view, `cluster_incident_episodes`: per alert (fingerprint) its episodes as
 *   the stream saw them, who acked / resolved each. Every decision — does this ack win, is this
 *   unack refused — reads only this table and the event, so every daemon that applies the same
 *   stream decides the same: the first ack of an episode in stream order wins, a later one is
 *   refused naming the winner. An episode's id is the stream sequence of its first event, the same
 *   on every daemon; it is also the local incident's id where that id is free.
 * - the local projection: the `incidents` row, the audit trail, the silences and what an action
 *   sets off here (acknowledge notifications queued, escalation cancelled …), as a local action
 *   would.
 *
 * Episodes: each daemon's rule engine starts an alert's episode at its own evaluation, so the
 * starts differ by up to an evaluation interval. An event joins the alert's latest stream episode
 * unless that episode was resolved by hand before the event's episode started, or the event's
 * episode started more than {@link EPISODE_SLACK_MS} after the episode's last event.
 *
 * Idempotent: the last applied sequence is kept per stream (`cluster_incidents_applied`) and each
 * event's outcome by its id (`cluster_incident_outcomes`), in the same transaction as the changes;
 * a sequence at or below the applied one, or an event id seen before, is a no-op. A sequence past
 * the next one is refused ('gap'): the reader fetches what is missing first.
 */

/** An event whose episode started this long after the stream episode's last event starts a new episode. */
export const EPISODE_SLACK_MS = 60_000

export const CLUSTER_INCIDENT_MIGRATIONS: Migration[] = [
  {
    id: 'cluster-incidents/1',
    sql: `
CREATE TABLE cluster_incidents_applied (
  stream TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE cluster_incident_episodes (
  id INTEGER PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  first_start INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  acked_by TEXT,
  acked_at INTEGER,
  ack_comment TEXT,
  resolved_by TEXT,
  resolved_at INTEGER,
  resolve_comment TEXT,
  local_id INTEGER
);
CREATE INDEX cluster_incident_episodes_fp ON cluster_incident_episodes (fingerprint, id);
CREATE TABLE cluster_incident_outcomes (
  event_id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  outcome TEXT NOT NULL
);
`,
  },
]

export type RefusalReason = 'acked' | 'resolved' | 'not_acked' | 'silence_missing' | 'silence_expired'

/** What applying one event did, kept by event id so the publisher can answer its caller. */
export interface EventOutcome {
  seq: number
  result: 'applied' | 'unchanged' | 'refused'
  /** the stream episode (the incident id on every daemon) */
  incident?: number
  /** the local incident row */
  localIncident?: number
  reason?: RefusalReason
  /** refused ack: who acked first; refused action on a resolved episode: who resolved it */
  winner?: {by: string; at: number; comment?: string}
  notified: string[]
  escalationsCancelled: number
  escalationsRestarted: number
}

export type ApplyResult = 'applied' | 'replay' | 'gap'

interface EpisodeRow {
  id: number
  fingerprint: string
  first_start: number
  last_at: number
  acked_by: string | null
  acked_at: number | null
  ack_comment: string | null
  resolved_by: string | null
  resolved_at: number | null
  resolve_comment: string | null
  local_id: number | null
}

export interface MaterialiserOptions {
  db: StateDb
  /** this member: audit rows of events published elsewhere say `via <member>` */
  member: string
  clock: Clock
  /** the incident store with the compiled notify config (a reload may swap it) */
  store: () => IncidentStore
  /** something changed: the daemon ticks its notifier */
  onChange?: (action: AuditAction) => void
}

export class IncidentMaterialiser {
  private readonly db: StateDb
  private readonly silences: Silences

  constructor(private readonly opts: MaterialiserOptions) {
    this.db = opts.db
    migrate(this.db, [...STATE_MIGRATIONS, ...CLUSTER_INCIDENT_MIGRATIONS])
    this.silences = new Silences(this.db)
  }

  /** The last sequence of `stream` applied here (0: none). */
  appliedSeq(stream: string): number {
    return (this.db.prepare('SELECT seq FROM cluster_incidents_applied WHERE stream = ?').get(stream) as {seq: number} | undefined)?.seq ?? 0
  }

  /** The outcome of an event applied here, by its id. */
  outcome(eventId: string): EventOutcome | undefined {
    const row = this.db.prepare('SELECT outcome FROM cluster_incident_outcomes WHERE event_id = ?').get(eventId) as {outcome: string} | undefined
    return row ? (JSON.parse(row.outcome) as EventOutcome) : undefined
  }

  /**
   * Applies the event at `seq` of `stream` (an undecodable message: `{invalid}`, skipped). A
   * sequence already applied is a no-op ('replay'); one past the next is refused ('gap').
   */
  apply(stream: string, seq: number, event: IncidentEvent | {invalid: string}): ApplyResult {
    let changed: AuditAction | undefined
    const result = this.db
      .transaction((): ApplyResult => {
        const applied = this.appliedSeq(stream)
        if (seq <= applied) return 'replay'
        if (seq > applied + 1) return 'gap'
        if (!('invalid' in event) && !this.outcome(event.id)) {
          const outcome = this.decide(seq, event)
          this.db.prepare('INSERT INTO cluster_incident_outcomes (event_id, seq, applied_at, outcome) VALUES (?, ?, ?, ?)').run(event.id, seq, this.opts.clock.now(), JSON.stringify(outcome))
          if (outcome.result === 'applied') changed = event.kind
        }
        this.setApplied(stream, seq)
        return 'applied'
      })
      .immediate()
    if (changed) this.opts.onChange?.(changed)
    return result
  }

  /** Moves past messages the stream no longer has (removed by its age limit) up to `seq`. */
  skipTo(stream: string, seq: number): void {
    this.db
      .transaction(() => {
        if (this.appliedSeq(stream) < seq) this.setApplied(stream, seq)
      })
      .immediate()
  }

  /** Starts `stream` over (it was recreated: its sequences restarted); events seen before stay no-ops by id. */
  reset(stream: string): void {
    this.db.prepare('DELETE FROM cluster_incidents_applied WHERE stream = ?').run(stream)
  }

  /**
   * Joins shared incidents to this daemon's own episode of the alert once its engine has one: an
   * event applied before the engine here saw the alert fire keeps the publisher's start until then.
   */
  reconcile(): number {
    const rows = this.db
      .prepare(
        `SELECT e.id, e.first_start, e.last_at, e.resolved_at, i.id AS local_id, a.fingerprint, a.active_at AS alert_start
         FROM cluster_incident_episodes e
         JOIN incidents i ON i.id = e.local_id
         JOIN alerting_alerts a ON a.fingerprint = e.fingerprint
         WHERE i.active_at != a.active_at
           AND e.id = (SELECT max(x.id) FROM cluster_incident_episodes x WHERE x.fingerprint = e.fingerprint)`,
      )
      .all() as Array<{id: number; first_start: number; last_at: number; resolved_at: number | null; local_id: number; fingerprint: string; alert_start: number}>
    let moved = 0
    for (const r of rows) {
      if (!sameEpisode(r.alert_start, r)) continue
      const taken = this.db.prepare('SELECT 1 FROM incidents WHERE fingerprint = ? AND active_at = ?').get(r.fingerprint, r.alert_start)
      if (taken) continue
      moved += this.db.prepare('UPDATE incidents SET active_at = ? WHERE id = ?').run(r.alert_start, r.local_id).changes
    }
    return moved
  }

  /**
   * Forgets shared episodes whose last event is older than `before` and the outcomes of events
   * applied before it (the stream drops such events by the same age, so none can come back).
   */
  purge(before: number): {episodes: number; outcomes: number} {
    return this.db.transaction(() => ({
      episodes: this.db.prepare('DELETE FROM cluster_incident_episodes WHERE last_at < ?').run(before).changes,
      outcomes: this.db.prepare('DELETE FROM cluster_incident_outcomes WHERE applied_at < ?').run(before).changes,
    }))()
  }

  private setApplied(stream: string, seq: number): void {
    this.db
      .prepare('INSERT INTO cluster_incidents_applied (stream, seq, updated_at) VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at')
      .run(stream, seq, this.opts.clock.now())
  }

  // ------------------------------------------------------------------ deciding

  private decide(seq: number, e: IncidentEvent): EventOutcome {
    const none = {notified: [], escalationsCancelled: 0, escalationsRestarted: 0}
    if (e.kind === 'silence_add') return {seq, result: this.addSilence(e) ? 'applied' : 'unchanged', ...none}
    if (e.kind === 'silence_expire') return {seq, ...none, ...this.expireSilence(e)}

    const latest = this.db.prepare('SELECT * FROM cluster_incident_episodes WHERE fingerprint = ? ORDER BY id DESC LIMIT 1').get(e.fingerprint!) as EpisodeRow | undefined
    const ep = latest && belongsTo(e.activeAt!, latest) ? latest : undefined
    const refuse = (reason: RefusalReason, winner?: {by: string; at: number; comment: string | null}): EventOutcome => ({
      seq,
      result: 'refused',
      reason,
      ...(ep ? {incident: ep.id} : {}),
      ...(winner ? {winner: {by: winner.by, at: winner.at, ...(winner.comment ? {comment: winner.comment} : {})}} : {}),
      ...none,
    })
    const resolvedBy = ep?.resolved_by ? {by: ep.resolved_by, at: ep.resolved_at!, comment: ep.resolve_comment} : undefined
    switch (e.kind) {
      case 'ack':
        if (resolvedBy) return refuse('resolved', resolvedBy)
        if (ep?.acked_by) {
          if (ep.acked_by === e.by) return {seq, result: 'unchanged', incident: ep.id, ...none}
          return refuse('acked', {by: ep.acked_by, at: ep.acked_at!, comment: ep.ack_comment})
        }
        break
      case 'unack':
        if (resolvedBy) return refuse('resolved', resolvedBy)
        if (!ep?.acked_by) return refuse('not_acked')
        break
      case 'resolve':
        if (resolvedBy) return refuse('resolved', resolvedBy)
        break
      default:
        break
    }
    const episode = ep ? this.touch(ep, e) : this.open(seq, e)
    return {seq, result: 'applied', incident: episode.id, ...this.project(episode, e)}
  }

  private open(seq: number, e: IncidentEvent): EpisodeRow {
    this.db.prepare('INSERT INTO cluster_incident_episodes (id, fingerprint, first_start, last_at) VALUES (?, ?, ?, ?)').run(seq, e.fingerprint!, e.activeAt!, e.at)
    return this.episode(seq)
  }

  private touch(ep: EpisodeRow, e: IncidentEvent): EpisodeRow {
    this.db.prepare('UPDATE cluster_incident_episodes SET first_start = min(first_start, ?), last_at = max(last_at, ?) WHERE id = ?').run(e.activeAt!, e.at, ep.id)
    return this.episode(ep.id)
  }

  private episode(id: number): EpisodeRow {
    return this.db.prepare('SELECT * FROM cluster_incident_episodes WHERE id = ?').get(id) as EpisodeRow
  }

  // ------------------------------------------------------------------ the local projection

  private project(ep: EpisodeRow, e: IncidentEvent): Pick<EventOutcome, 'localIncident' | 'notified' | 'escalationsCancelled' | 'escalationsRestarted'> {
    const store = this.opts.store()
    const now = this.opts.clock.now()
    const alert = store.reader.get(e.fingerprint!)
    const localId = this.localIncident(ep, e, alert)
    const actor = {by: e.by, source: this.source(e), ...(e.comment ? {comment: e.comment} : {})}
    const audit = (action: AuditAction, detail?: string) =>
      store.audit({
        at: e.at,
        action,
        fingerprint: e.fingerprint,
        incidentId: localId,
        alertname: e.labels?.alertname,
        severity: e.labels?.severity,
        actor: e.by,
        source: actor.source,
        comment: e.comment,
        ...(detail ? {detail} : {}),
      })
    const out = {localIncident: localId, notified: [] as string[], escalationsCancelled: 0, escalationsRestarted: 0}
    switch (e.kind) {
      case 'ack': {
        this.db.prepare('UPDATE cluster_incident_episodes SET acked_by = ?, acked_at = ?, ack_comment = ? WHERE id = ?').run(e.by, e.at, e.comment ?? null, ep.id)
        this.db.prepare('UPDATE incidents SET acked_by = ?, acked_at = ?, ack_comment = ? WHERE id = ?').run(e.by, e.at, e.comment ?? null, localId)
        audit('ack')
        if (alert) Object.assign(out, store.ackSideEffects(alert, actor, now))
        else out.escalationsCancelled = new EscalationStore(this.db).cancel(e.fingerprint!, now)
        break
      }
      case 'unack': {
        this.db.prepare('UPDATE cluster_incident_episodes SET acked_by = NULL, acked_at = NULL, ack_comment = NULL WHERE id = ?').run(ep.id)
        this.db.prepare('UPDATE incidents SET acked_by = NULL, acked_at = NULL, ack_comment = NULL WHERE id = ?').run(localId)
        audit('unack', `was acknowledged by ${ep.acked_by}`)
        out.escalationsRestarted = new EscalationStore(this.db).restart(e.fingerprint!, now)
        break
      }
      case 'resolve': {
        this.db.prepare('UPDATE cluster_incident_episodes SET resolved_by = ?, resolved_at = ?, resolve_comment = ? WHERE id = ?').run(e.by, e.at, e.comment ?? null, ep.id)
        this.db.prepare('UPDATE incidents SET resolved_by = ?, resolved_at = ?, resolve_comment = ? WHERE id = ?').run(e.by, e.at, e.comment ?? null, localId)
        audit('resolve')
        out.escalationsCancelled = new EscalationStore(this.db).cancel(e.fingerprint!, now)
        if (alert) out.notified = store.enqueueResolved(alert, actor, now)
        break
      }
      default:
        audit('comment')
    }
    return out
  }

  /** The local incident row of a stream episode: this daemon's own episode of the alert when it has one, created with the episode's id where free. */
  private localIncident(ep: EpisodeRow, e: IncidentEvent, alert: Alert | undefined): number {
    if (ep.local_id !== null && this.db.prepare('SELECT 1 FROM incidents WHERE id = ?').get(ep.local_id)) return ep.local_id
    const start = alert && sameEpisode(alert.activeAt, ep) ? alert.activeAt : ep.first_start
    const existing = this.db.prepare('SELECT id FROM incidents WHERE fingerprint = ? AND active_at = ?').get(e.fingerprint!, start) as {id: number} | undefined
    let id = existing?.id
    if (id === undefined) {
      const free = !this.db.prepare('SELECT 1 FROM incidents WHERE id = ?').get(ep.id)
      const labels = alert?.labels ?? e.labels ?? {}
      id = Number(
        this.db
          .prepare('INSERT INTO incidents (id, fingerprint, active_at, alertname, labels, opened_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(free ? ep.id : null, e.fingerprint!, start, labels.alertname ?? '', JSON.stringify(labels), e.at).lastInsertRowid,
      )
    }
    this.db.prepare('UPDATE cluster_incident_episodes SET local_id = ? WHERE id = ?').run(id, ep.id)
    return id
  }

  private addSilence(e: IncidentEvent): boolean {
    const s = e.silence!
    const added = this.silences.insertSilence({...s, updatedAt: s.createdAt})
    if (added) {
      this.opts.store().audit({at: e.at, action: 'silence_add', silenceId: s.id, actor: e.by, source: this.source(e), comment: s.comment, detail: `${formatMatchers(s.matchers)} until ${new Date(s.endsAt).toISOString()}`})
    }
    return added
  }

  private expireSilence(e: IncidentEvent): Pick<EventOutcome, 'result' | 'reason'> {
    const found = this.silences.getSilence(e.silenceId!, e.at)
    if (!found) return {result: 'refused', reason: 'silence_missing'}
    if (found.state === 'expired') return {result: 'refused', reason: 'silence_expired'}
    const s = this.silences.expireSilence(found.id, e.at)
    this.opts.store().audit({
      at: e.at,
      action: 'silence_expire',
      silenceId: s.id,
      actor: e.by,
      source: this.source(e),
      ...(e.comment ? {comment: e.comment} : {}),
      detail: `${formatMatchers(s.matchers)} until ${new Date(s.endsAt).toISOString()}`,
    })
    return {result: 'applied'}
  }

  private source(e: IncidentEvent): string {
    return e.member === this.opts.member ? e.source : `${e.source} via ${e.member}`
  }
}

/** Does an event whose episode (on its publisher) started at `start` belong to this stream episode? */
export function belongsTo(start: number, ep: Pick<EpisodeRow, 'last_at' | 'resolved_at'>): boolean {
  if (ep.resolved_at !== null && start > ep.resolved_at) return false
  return start <= ep.last_at + EPISODE_SLACK_MS
}

/** Is this daemon's episode starting at `start` the same as the stream episode (its starts within the slack)? */
function sameEpisode(start: number, ep: Pick<EpisodeRow, 'first_start' | 'last_at' | 'resolved_at'>): boolean {
  return start >= ep.first_start - EPISODE_SLACK_MS && belongsTo(start, ep)
}
