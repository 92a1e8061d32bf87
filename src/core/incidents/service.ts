import type {Alert, AlertState, AlertTransition} from '../alerting/types.js'
import {countAlerts, displayState} from './counts.js'
import type {Clock} from '../clock.js'
import {InputError, errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import {InvalidRegexError, formatMatcher, parseMatcher, type Matcher} from '../model/matcher.js'
import type {Point} from '../model/point.js'
import type {CompiledNotify} from '../notify/notifier.js'
import {silenceMatches, Silences, type Silence} from '../notify/mute/silences.js'
import type {Delivery} from '../notify/types.js'
import type {StateDb} from '../state/db.js'
import {checkActor, checkComment} from './actor.js'
import {AmbiguousIdError, NotFoundError, type IdCandidate} from './errors.js'
import {eventPoint} from './events.js'
import {matchPrefix, shortIds} from './ids.js'
import {IncidentStore, describe, type ActionOutcome, type AuditRecord, type IncidentRecord} from './store.js'
import type {
  ActionInput,
  AuditAction,
  ActionResult,
  AlertDetail,
  AlertView,
  DisplayState,
  HistoryEntry,
  HistoryQuery,
  IncidentService,
  IncidentView,
  ListQuery,
  SilenceInput,
  SilenceView,
  TimelineEntry,
} from './types.js'

/**
 * The incident workflow on a local state.db: what `mon alerts …` runs without --remote and what
 * the daemon's API server serves. Reads the engine's alert state, the notifier's outbox and
 * silences, and keeps incidents and the audit trail (store.ts). Each action is also written to the
 * metrics store as an `alert_events` point; when that fails the action still stands (state.db has
 * it) and the failure is logged.
 */
export interface LocalIncidentOptions {
  /** state.db (opened with any migrations; the ones needed here are applied) */
  db: StateDb
  /** the compiled notify config: acks and resolutions are propagated to its channels */
  notify?: CompiledNotify
  clock: Clock
  log?: Logger
  /** where events go (the metrics store) */
  writeEvents?: (points: Point[]) => Promise<void>
  /** for messages: `state.db in /var/lib/mon` */
  where?: string
  /** close the db on close() */
  ownsDb?: boolean
  /**
   * Called after each change (ack, unack, resolve, comment, silence add/expire): the daemon uses it
   * to tick its dispatcher now, so a queued acknowledgement goes out at once.
   */
  onChange?: (action: AuditAction) => void
}

const SEVERITY_RANK: Record<string, number> = {critical: 0, page: 0, error: 1, high: 1, warning: 2, warn: 2, info: 3}
const STATE_RANK: Record<DisplayState, number> = {firing: 0, acked: 1, pending: 2, resolved: 3, inactive: 4}
const ALL_STATES: AlertState[] = ['pending', 'firing', 'resolved', 'inactive']

export class LocalIncidents implements IncidentService {
  readonly where: string
  readonly store: IncidentStore
  private readonly silences: Silences
  private readonly clock: Clock
  private readonly log: Logger

  constructor(private readonly opts: LocalIncidentOptions) {
    this.store = new IncidentStore(opts.db, {notify: opts.notify})
    this.silences = new Silences(opts.db)
    this.clock = opts.clock
    this.log = opts.log ?? silentLogger
    this.where = opts.where ?? 'state.db'
  }

  /** For the Dispatcher: acked (or hand-resolved) alerts get no repeats and no escalation. */
  get ackState() {
    return this.store.ackState
  }

  async list(q: ListQuery = {}): Promise<AlertView[]> {
    const now = this.clock.now()
    const matchers = (q.labels ?? []).map(labelMatcher)
    const severities = new Set((q.severity ?? []).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean))
    const state = q.state ?? 'firing'
    const engineStates: AlertState[] = state === 'all' || state === 'resolved' ? ALL_STATES : ['pending', 'firing']
    const ids = this.ids()
    const incidents = this.store.currentAll()
    const silences = this.silences.active(now)
    const views = this.store.reader
      .list({states: engineStates, matchers})
      .map((a) => this.view(a, incidents.get(a.fingerprint), ids, silences, now))
      .filter((v) => keepState(v, state))
      .filter((v) => severities.size === 0 || severities.has((v.severity ?? '').toLowerCase()))
      .filter((v) => q.since === undefined || now - v.ageMs >= q.since)
    return views.sort(
      (a, b) =>
        STATE_RANK[a.state] - STATE_RANK[b.state] ||
        (SEVERITY_RANK[a.severity ?? ''] ?? 9) - (SEVERITY_RANK[b.severity ?? ''] ?? 9) ||
        a.ageMs - b.ageMs ||
        (a.fingerprint < b.fingerprint ? -1 : 1),
    )
  }

  async get(id: string, opts: {timeline?: boolean; allEpisodes?: boolean} = {}): Promise<AlertDetail> {
    const now = this.clock.now()
    const fingerprint = this.resolveId(id)
    const alert = this.store.reader.get(fingerprint)!
    const view = this.view(alert, this.store.current(alert), this.ids(), this.silences.active(now), now)
    if (opts.timeline === false) return {...view, timeline: [], episodes: 0}
    return {...view, ...this.timeline(alert, opts.allEpisodes ?? false)}
  }

  async ack(id: string, input: ActionInput): Promise<ActionResult> {
    const fp = this.resolveId(id)
    const actor = this.actor(input)
    return this.finish('ack', this.store.ack(fp, actor, this.clock.now()), actor)
  }

  async unack(id: string, input: ActionInput): Promise<ActionResult> {
    const fp = this.resolveId(id)
    const actor = this.actor(input)
    return this.finish('unack', this.store.unack(fp, actor, this.clock.now()), actor)
  }

  async resolve(id: string, input: ActionInput): Promise<ActionResult> {
    const fp = this.resolveId(id)
    const actor = this.actor(input)
    return this.finish('resolve', this.store.resolve(fp, actor, this.clock.now()), actor)
  }

  async comment(id: string, input: ActionInput & {comment: string}): Promise<ActionResult> {
    const fp = this.resolveId(id)
    const actor = this.actor(input)
    if (!actor.comment) throw new InputError('the comment is empty', {hint: 'e.g. mon alerts comment ab12 "restarted the service, watching"'})
    return this.finish('comment', this.store.comment(fp, {...actor, comment: actor.comment}, this.clock.now()), actor)
  }

  async history(q: HistoryQuery): Promise<HistoryEntry[]> {
    const fingerprint = q.id === undefined ? undefined : this.resolveId(q.id)
    const limit = q.limit ?? 200
    const ids = this.ids()
    const audit = this.store.auditTrail({since: q.since, until: q.until, fingerprint, limit})
    const transitions = this.store.reader
      .history({since: q.since, until: q.until, fingerprint, limit: limit * 2})
      .filter((t) => t.to === 'firing' || t.to === 'resolved')
    const entries: Array<{at: number; seq: number; entry: HistoryEntry}> = [
      ...audit.map((a) => ({at: a.at, seq: 1, entry: auditEntry(a, ids)})),
      ...transitions.map((t) => ({at: t.at, seq: 0, entry: transitionEntry(t, ids)})),
    ]
    return entries
      .sort((a, b) => b.at - a.at || b.seq - a.seq)
      .slice(0, limit)
      .map((e) => e.entry)
  }

  async addSilence(input: SilenceInput): Promise<SilenceView> {
    const now = this.clock.now()
    const by = checkActor(input.by, 'unknown')
    const comment = checkComment(input.comment)
    if (!comment) throw new InputError('a silence needs a comment: why is it silenced?', {hint: 'e.g. --comment "db-1 maintenance, JIRA-123"'})
    const startsAt = input.startsAt ?? now
    const endsAt = input.endsAt ?? (input.durationMs !== undefined ? startsAt + input.durationMs : undefined)
    if (endsAt === undefined) throw new InputError('a silence needs a duration or an end time', {hint: 'e.g. --duration 2h'})
    const silence = this.silences.createSilence({matchers: input.matchers, startsAt, endsAt, createdBy: by, comment}, now)
    const record = {at: now, action: 'silence_add' as const, silenceId: silence.id, actor: by, source: input.source ?? 'local', comment, detail: silenceText(silence)}
    this.store.audit(record)
    await this.event(record)
    return this.silenceView(silence, now)
  }

  async listSilences(opts: {state?: 'current' | 'active' | 'pending' | 'expired' | 'all'} = {}): Promise<SilenceView[]> {
    const now = this.clock.now()
    const state = opts.state ?? 'current'
    const all = this.silences.listSilences({now, state: 'all'})
    const kept = state === 'all' ? all : state === 'current' ? all.filter((s) => s.state !== 'expired') : all.filter((s) => s.state === state)
    return kept.map((s) => this.silenceView(s, now))
  }

  async expireSilence(id: string, input: ActionInput): Promise<SilenceView> {
    const now = this.clock.now()
    const by = checkActor(input.by, 'unknown')
    const typed = id.trim()
    const found = this.silences.getSilence(typed, now)
    if (!found) {
      throw new NotFoundError(`no silence with id '${typed}'${typed.length < 4 ? ' (give at least 4 characters)' : ''}`, {hint: 'list them with: mon alerts silence list --state all'})
    }
    const silence = this.silences.expireSilence(found.id, now)
    const record = {at: now, action: 'silence_expire' as const, silenceId: silence.id, actor: by, source: input.source ?? 'local', comment: checkComment(input.comment), detail: silenceText(silence)}
    this.store.audit(record)
    await this.event(record)
    return this.silenceView(silence, now)
  }

  /** A refused API request (wrong or missing token), for the audit trail and the events. */
  async recordAuthFailure(source: string, detail: string): Promise<void> {
    const record = {at: this.clock.now(), action: 'auth_failed' as const, actor: 'anonymous', source, detail}
    this.store.audit(record)
    await this.event(record)
  }

  async close(): Promise<void> {
    if (this.opts.ownsDb) this.opts.db.close()
  }

  /** Fingerprint of a typed id: exact, or a unique prefix (≥ 4). */
  resolveId(typed: string): string {
    const match = matchPrefix(typed, this.store.reader.findByPrefix(typed.trim().toLowerCase(), 50))
    switch (match.kind) {
      case 'found':
        return match.fingerprint
      case 'invalid':
        throw new InputError(match.reason, {hint: 'the ids are in the first column of mon alerts list'})
      case 'none':
        throw new NotFoundError(`no alert with id '${typed}'`, {hint: 'list them with: mon alerts list --state all'})
      case 'ambiguous': {
        const ids = this.ids()
        const candidates: IdCandidate[] = match.candidates.map((fp) => {
          const a = this.store.reader.get(fp)!
          const {alertname = '', ...labels} = a.labels
          return {id: ids.get(fp) ?? fp, fingerprint: fp, alertname, state: a.state, labels}
        })
        const details = candidates.map((c) => `  ${c.id}  ${describe({labels: {alertname: c.alertname, ...c.labels}, fingerprint: c.fingerprint})}  ${c.state}`).join('\n')
        throw new AmbiguousIdError(`alert id '${typed}' is ambiguous: it matches ${candidates.length} alerts`, candidates, {details, hint: 'give more characters of the id'})
      }
    }
  }

  /** Short ids of every alert, by fingerprint. */
  ids(): Map<string, string> {
    return shortIds(this.store.reader.findByPrefix('', 1_000_000_000))
  }

  actor(input: ActionInput): {by: string; source: string; comment?: string} {
    return {by: checkActor(input.by, 'unknown'), source: input.source ?? 'local', comment: checkComment(input.comment)}
  }

  private async finish(action: ActionResult['action'], o: ActionOutcome, actor: {by: string; source: string; comment?: string}): Promise<ActionResult> {
    const now = this.clock.now()
    if (!o.unchanged) {
      await this.event({
        at: now,
        action,
        fingerprint: o.alert.fingerprint,
        incidentId: o.incident.id,
        alertname: o.alert.labels.alertname,
        severity: o.alert.labels.severity,
        actor: actor.by,
        source: actor.source,
        comment: actor.comment,
      })
    }
    return {
      action,
      id: this.ids().get(o.alert.fingerprint) ?? o.alert.fingerprint,
      fingerprint: o.alert.fingerprint,
      alertname: o.alert.labels.alertname ?? '',
      incident: o.incident.id,
      by: actor.by,
      at: iso(now),
      comment: actor.comment ?? null,
      unchanged: o.unchanged,
      notified: o.notified,
      escalationsCancelled: o.escalationsCancelled,
      escalationsRestarted: o.escalationsRestarted ?? 0,
      warning: o.warning ?? null,
    }
  }

  /** Tells the daemon something changed (it ticks its notifier now): also for changes the cluster's incident stream applies. */
  changed(action: AuditAction): void {
    try {
      this.opts.onChange?.(action)
    } catch (error) {
      this.log.error('onChange failed', {error: errorMessage(error)})
    }
  }

  /** Announces an action: onChange, and an `alert_events` point in the metrics store (the cluster's origin daemon writes it once). */
  async event(record: Omit<AuditRecord, 'seq'>, opts: {changed?: boolean} = {}): Promise<void> {
    if (record.action !== 'auth_failed' && opts.changed !== false) this.changed(record.action)
    if (!this.opts.writeEvents) return
    try {
      await this.opts.writeEvents([eventPoint(record)])
    } catch (error) {
      this.log.warn(`the ${record.action} was not written to the metrics store as an event (the audit trail in state.db has it): ${errorMessage(error)}`)
    }
  }

  private view(a: Alert, incident: IncidentRecord | undefined, ids: Map<string, string>, silences: Silence[], now: number): AlertView {
    const state = displayState(a.state, incident)
    const since = state === 'resolved' ? (incident?.resolvedAt ?? a.resolvedAt ?? a.lastEvalAt) : state === 'inactive' ? a.lastEvalAt : (a.firedAt ?? a.activeAt)
    return {
      id: ids.get(a.fingerprint) ?? a.fingerprint,
      fingerprint: a.fingerprint,
      alertname: a.labels.alertname ?? '',
      severity: a.labels.severity ?? null,
      state,
      alertState: a.state,
      labels: a.labels,
      annotations: a.annotations,
      value: a.value,
      group: a.group,
      rule: a.rule ?? null,
      health: a.health ?? 'ok',
      activeAt: iso(a.activeAt),
      firedAt: a.firedAt === undefined ? null : iso(a.firedAt),
      resolvedAt: state === 'resolved' ? iso(incident?.resolvedAt ?? a.resolvedAt ?? a.lastEvalAt) : null,
      lastEvalAt: iso(a.lastEvalAt),
      ageMs: Math.max(0, now - since),
      ackedBy: incident?.ackedBy ?? null,
      incident: incident ? incidentView(incident) : null,
      silencedBy: a.state === 'firing' ? silences.filter((s) => silenceMatches(s, a.labels)).map((s) => s.id) : [],
    }
  }

  private timeline(alert: Alert, allEpisodes: boolean): {timeline: TimelineEntry[]; episodes: number} {
    const fp = alert.fingerprint
    const transitions = this.store.reader.history({fingerprint: fp, limit: 10_000}).reverse()
    const incidentOf = new Map(this.store.incidentsOf(fp).map((i) => [i.id, i]))
    const entries: Array<{at: number; order: number; e: TimelineEntry}> = []
    for (const t of transitions) entries.push({at: t.at, order: 0, e: transitionTimeline(t)})
    // at the same ms an action comes before the notifications it queued
    for (const d of this.store.outbox.deliveriesFor(fp)) entries.push({at: d.createdAt, order: 2, e: deliveryTimeline(d)})
    for (const a of this.store.auditTrail({fingerprint: fp, limit: 10_000})) {
      if (a.action !== 'ack' && a.action !== 'unack' && a.action !== 'resolve' && a.action !== 'comment') continue
      const incident = a.incidentId === undefined ? undefined : incidentOf.get(a.incidentId)
      entries.push({at: a.at, order: 1, e: actionTimeline(a, incident)})
    }
    const starts = transitions.filter((t) => (t.from === 'inactive' || t.from === 'resolved') && (t.to === 'pending' || t.to === 'firing')).length
    const kept = allEpisodes ? entries : entries.filter((x) => x.at >= alert.activeAt)
    kept.sort((a, b) => a.at - b.at || a.order - b.order)
    return {timeline: kept.map((x) => x.e), episodes: allEpisodes ? Math.max(1, starts) : 1}
  }

  private silenceView(s: Silence, now: number): SilenceView {
    let firing = 0
    if (s.state === 'active') {
      const incidents = this.store.currentAll()
      const matching = this.store.reader.list({states: ['firing']}).filter((a) => silenceMatches(s, a.labels))
      firing = countAlerts(matching.map((a) => ({alertState: a.state, state: displayState(a.state, incidents.get(a.fingerprint))}))).firing
    }
    return {
      id: s.id,
      matchers: s.matchers.map(formatMatcher),
      state: s.state,
      startsAt: iso(s.startsAt),
      endsAt: iso(s.endsAt),
      createdBy: s.createdBy,
      comment: s.comment,
      createdAt: iso(s.createdAt),
      silencing: now >= s.startsAt ? firing : 0,
    }
  }
}

/** `--label` values: `k=v` or any matcher (`k!=v`, `k=~re`, `k!~re`). */
export function labelMatcher(text: string): Matcher {
  try {
    return parseMatcher(text)
  } catch (error) {
    if (error instanceof InvalidRegexError) throw new InputError(`invalid --label '${text}': ${error.message}`, {hint: error.hint})
    throw new InputError(`invalid --label '${text}'`, {hint: 'use name=value (or name!=value, name=~regex, name!~regex), e.g. --label host=web-1'})
  }
}

function keepState(v: AlertView, state: ListQuery['state']): boolean {
  switch (state ?? 'firing') {
    case 'firing':
      return v.alertState === 'firing' && v.state !== 'resolved'
    case 'pending':
      return v.alertState === 'pending' && v.state !== 'resolved'
    case 'acked':
      return v.state === 'acked'
    case 'resolved':
      return v.state === 'resolved'
    default:
      return true
  }
}

export function iso(t: number): string {
  return new Date(t).toISOString()
}

function incidentView(i: IncidentRecord): IncidentView {
  return {
    id: i.id,
    openedAt: iso(i.openedAt),
    ackedBy: i.ackedBy ?? null,
    ackedAt: i.ackedAt === undefined ? null : iso(i.ackedAt),
    ackComment: i.ackComment ?? null,
    resolvedBy: i.resolvedBy ?? null,
    resolvedAt: i.resolvedAt === undefined ? null : iso(i.resolvedAt),
    resolveComment: i.resolveComment ?? null,
  }
}

function valueText(v: number | null): string {
  return v === null ? '' : ` (value ${Number.isInteger(v) ? v : Number(v.toPrecision(6))})`
}

function transitionTimeline(t: AlertTransition): TimelineEntry {
  const at = iso(t.at)
  switch (t.to) {
    case 'pending':
      return {at, kind: 'pending', text: `pending: the condition is true${valueText(t.alert.value)}`}
    case 'firing':
      return {at, kind: 'fired', text: `fired${valueText(t.alert.value)}`}
    case 'resolved':
      return {at, kind: 'resolved', text: 'resolved: the condition cleared'}
    default:
      return {at, kind: 'inactive', text: 'the condition cleared before it fired'}
  }
}

function deliveryTimeline(d: Delivery): TimelineEntry {
  const channel = `${d.receiver}/${d.channel}`
  const tries = d.attempts.length
  let result: string = d.status
  if (d.status === 'pending' && tries > 0) result = `pending (retrying after ${tries} failed attempt${tries === 1 ? '' : 's'})`
  if (d.status === 'dead') result = `dead after ${tries} attempt${tries === 1 ? '' : 's'}`
  const error = d.lastError && d.status !== 'delivered' ? `: ${d.lastError}` : ''
  const what = d.kind === 'escalation' ? `escalated to ${d.receiver}` : `${d.kind} notification`
  return {at: iso(d.createdAt), kind: d.kind === 'escalation' ? 'escalation' : 'notification', text: `${what} → ${channel} (${d.channelType}): ${result}${error}`, channel, result: d.status}
}

function actionTimeline(a: AuditRecord, incident: IncidentRecord | undefined): TimelineEntry {
  const verb = {ack: 'acknowledged', unack: 'unacknowledged', resolve: 'resolved by hand', comment: 'comment'}[a.action as 'ack' | 'unack' | 'resolve' | 'comment']
  const from = a.source === 'local' ? '' : ` from ${a.source}`
  const text = a.action === 'comment' ? `comment by ${a.actor}${from}: ${a.comment ?? ''}` : `${verb} by ${a.actor}${from}${a.comment ? `: ${a.comment}` : ''}`
  const e: TimelineEntry = {at: iso(a.at), kind: a.action as TimelineEntry['kind'], text, actor: a.actor, source: a.source}
  if (a.comment) e.comment = a.comment
  if (incident) e.incident = incident.id
  return e
}

function auditEntry(a: AuditRecord, ids: Map<string, string>): HistoryEntry {
  return {
    at: iso(a.at),
    action: a.action,
    id: a.fingerprint ? (ids.get(a.fingerprint) ?? a.fingerprint.slice(0, 8)) : null,
    fingerprint: a.fingerprint ?? null,
    incident: a.incidentId ?? null,
    silence: a.silenceId ?? null,
    alertname: a.alertname ?? null,
    severity: a.severity ?? null,
    actor: a.actor,
    source: a.source,
    comment: a.comment ?? null,
    detail: a.detail ?? null,
  }
}

function transitionEntry(t: AlertTransition, ids: Map<string, string>): HistoryEntry {
  const {alertname, severity, ...rest} = t.alert.labels
  const labels = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${rest[k]}`)
    .join(' ')
  return {
    at: iso(t.at),
    action: t.to === 'firing' ? 'fired' : 'resolved',
    id: ids.get(t.alert.fingerprint) ?? t.alert.fingerprint.slice(0, 8),
    fingerprint: t.alert.fingerprint,
    incident: null,
    silence: null,
    alertname: alertname ?? null,
    severity: severity ?? null,
    actor: 'rules',
    source: 'engine',
    comment: null,
    detail: labels || null,
  }
}

function silenceText(s: Silence): string {
  return `{${s.matchers.map(formatMatcher).join(', ')}} until ${iso(s.endsAt)}`
}
