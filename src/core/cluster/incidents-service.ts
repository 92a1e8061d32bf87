import {randomUUID} from 'node:crypto'
import type {Alert} from '../alerting/types.js'
import type {Clock} from '../clock.js'
import {InputError, UserError, errorMessage} from '../errors.js'
import {checkActor, checkComment} from '../incidents/actor.js'
import {IncidentConflictError, NotFoundError} from '../incidents/errors.js'
import type {LocalIncidents} from '../incidents/service.js'
import {ago, alreadyAcked, describe, refuseEnded} from '../incidents/store.js'
import type {
  ActionInput,
  ActionResult,
  AlertDetail,
  AlertView,
  HistoryEntry,
  HistoryQuery,
  IncidentService,
  ListQuery,
  SilenceInput,
  SilenceView,
} from '../incidents/types.js'
import {formatMatchers, Silences, type Silence} from '../notify/mute/silences.js'
import type {StateDb} from '../state/db.js'
import {encodeIncidentEvent, INCIDENT_EVENT_VERSION, type IncidentEvent} from './incidents-events.js'
import type {IncidentLog} from './incidents-log.js'
import type {EventOutcome, IncidentMaterialiser} from './incidents-materialise.js'
import type {IncidentSync} from './incidents-sync.js'

/**
 * The incident workflow of a cluster daemon (docs/cluster.md#shared-incidents): reads are this
 * daemon's state.db; every action is checked here as a local one is (the alert exists, it has not
 * ended, it is not already acked by someone else as far as this daemon has applied), then appended
 * to the shared incident stream, and answered only once this daemon has applied the stream through
 * it: the stream's order decides, so of two acks published at once through different daemons the
 * first in the stream wins, and the other gets the same "already acknowledged by …" a local loser
 * gets. Used by the daemon's API (hence `mon alerts … --remote`) and by the CLI on a cluster
 * daemon's data dir.
 */
export interface SharedIncidentsOptions {
  local: () => LocalIncidents
  db: StateDb
  log: IncidentLog
  sync: IncidentSync
  materialiser: IncidentMaterialiser
  member: string
  clock: Clock
}

export class SharedIncidents implements IncidentService {
  private readonly silences: Silences

  constructor(private readonly opts: SharedIncidentsOptions) {
    this.silences = new Silences(opts.db)
  }

  get where(): string {
    return `${this.opts.local().where} (shared through the NATS stream ${this.opts.log.name})`
  }

  list(q?: ListQuery): Promise<AlertView[]> {
    return this.opts.local().list(q)
  }

  get(id: string, o?: {timeline?: boolean; allEpisodes?: boolean}): Promise<AlertDetail> {
    return this.opts.local().get(id, o)
  }

  history(q: HistoryQuery): Promise<HistoryEntry[]> {
    return this.opts.local().history(q)
  }

  listSilences(o?: {state?: 'current' | 'active' | 'pending' | 'expired' | 'all'}): Promise<SilenceView[]> {
    return this.opts.local().listSilences(o)
  }

  async ack(id: string, input: ActionInput): Promise<ActionResult> {
    const {alert, actor, now, local} = this.prepare(id, input)
    const existing = local.store.current(alert)
    refuseEnded(alert, existing, 'acknowledge', now)
    if (existing?.ackedBy !== undefined) {
      if (existing.ackedBy === actor.by) return this.result('ack', alert, actor, now, {seq: 0, result: 'unchanged', localIncident: existing.id, notified: [], escalationsCancelled: 0, escalationsRestarted: 0})
      throw alreadyAcked(alert, {by: existing.ackedBy, at: existing.ackedAt!, comment: existing.ackComment}, now)
    }
    return this.act('ack', alert, actor, now)
  }

  async unack(id: string, input: ActionInput): Promise<ActionResult> {
    const {alert, actor, now, local} = this.prepare(id, input)
    const existing = local.store.current(alert)
    refuseEnded(alert, existing, 'unacknowledge', now)
    if (existing?.ackedBy === undefined) throw new IncidentConflictError(`${describe(alert)} is not acknowledged`, {hint: 'nothing changed'})
    return this.act('unack', alert, actor, now)
  }

  async resolve(id: string, input: ActionInput): Promise<ActionResult> {
    const {alert, actor, now, local} = this.prepare(id, input)
    refuseEnded(alert, local.store.current(alert), 'resolve', now)
    return this.act('resolve', alert, actor, now)
  }

  async comment(id: string, input: ActionInput & {comment: string}): Promise<ActionResult> {
    const {alert, actor, now} = this.prepare(id, input)
    if (!actor.comment) throw new InputError('the comment is empty', {hint: 'e.g. mon alerts comment ab12 "restarted the service, watching"'})
    return this.act('comment', alert, actor, now)
  }

  async addSilence(input: SilenceInput): Promise<SilenceView> {
    const now = this.opts.clock.now()
    const by = checkActor(input.by, 'unknown')
    const comment = checkComment(input.comment)
    if (!comment) throw new InputError('a silence needs a comment: why is it silenced?', {hint: 'e.g. --comment "db-1 maintenance, JIRA-123"'})
    const startsAt = input.startsAt ?? now
    const endsAt = input.endsAt ?? (input.durationMs !== undefined ? startsAt + input.durationMs : undefined)
    if (endsAt === undefined) throw new InputError('a silence needs a duration or an end time', {hint: 'e.g. --duration 2h'})
    const s = this.silences.prepareSilence({matchers: input.matchers, startsAt, endsAt, createdBy: by, comment}, now)
    const event = this.event('silence_add', now, {by, source: input.source ?? 'local', comment}, {
      silence: {id: s.id, matchers: s.matchers, startsAt: s.startsAt, endsAt: s.endsAt, createdBy: s.createdBy, comment: s.comment, createdAt: s.createdAt},
    })
    await this.submit(event, 'the silence')
    await this.opts.local().event({at: now, action: 'silence_add', silenceId: s.id, actor: by, source: event.source, comment, detail: silenceText(s)}, {changed: false})
    return this.silenceView(s.id)
  }

  async expireSilence(id: string, input: ActionInput): Promise<SilenceView> {
    const now = this.opts.clock.now()
    const by = checkActor(input.by, 'unknown')
    const typed = id.trim()
    const found = this.silences.getSilence(typed, now)
    if (!found) throw new NotFoundError(`no silence with id '${typed}'${typed.length < 4 ? ' (give at least 4 characters)' : ''}`, {hint: 'list them with: mon alerts silence list --state all'})
    if (found.state === 'expired') throw new UserError(`silence ${found.id} has already expired`)
    const comment = checkComment(input.comment)
    const event = this.event('silence_expire', now, {by, source: input.source ?? 'local', comment}, {silenceId: found.id})
    const o = await this.submit(event, 'the expiry')
    if (o.result === 'refused') throw new UserError(`silence ${found.id} has already expired`)
    await this.opts.local().event({at: now, action: 'silence_expire', silenceId: found.id, actor: by, source: event.source, comment, detail: silenceText({...found, endsAt: now})}, {changed: false})
    return this.silenceView(found.id)
  }

  async close(): Promise<void> {}

  // ------------------------------------------------------------------ helpers

  private prepare(id: string, input: ActionInput) {
    const local = this.opts.local()
    const fp = local.resolveId(id)
    const alert = local.store.reader.get(fp)!
    return {local, alert, actor: local.actor(input), now: this.opts.clock.now()}
  }

  private async act(action: ActionResult['action'], alert: Alert, actor: {by: string; source: string; comment?: string}, now: number): Promise<ActionResult> {
    const event = this.event(action, now, actor, {fingerprint: alert.fingerprint, activeAt: alert.activeAt, labels: alert.labels})
    const o = await this.submit(event, `the ${action === 'ack' ? 'acknowledgement' : action}`)
    if (o.result === 'refused') throw this.refusal(action, alert, o)
    const result = this.result(action, alert, actor, now, o)
    if (o.result === 'applied') {
      await this.opts.local().event(
        {at: now, action, fingerprint: alert.fingerprint, incidentId: result.incident, alertname: alert.labels.alertname, severity: alert.labels.severity, actor: actor.by, source: actor.source, comment: actor.comment},
        {changed: false},
      )
    }
    return result
  }

  private event(kind: IncidentEvent['kind'], now: number, actor: {by: string; source: string; comment?: string}, rest: Partial<IncidentEvent>): IncidentEvent {
    return {v: INCIDENT_EVENT_VERSION, id: randomUUID(), kind, member: this.opts.member, at: now, by: actor.by, source: actor.source, ...(actor.comment ? {comment: actor.comment} : {}), ...rest}
  }

  /** Appends the event, applies the stream here through it, and returns what applying it did. */
  private async submit(event: IncidentEvent, what: string): Promise<EventOutcome> {
    let seq: number
    try {
      seq = await this.opts.log.append(event.id, encodeIncidentEvent(event))
    } catch (err) {
      throw new UserError(`cannot record ${what} in the cluster's incident stream ${this.opts.log.name}: ${errorMessage(err)}`, {
        hint: 'NATS did not confirm it, so it may or may not have been stored: check with mon alerts show <id> (or mon alerts silence list), then try again',
      })
    }
    try {
      await this.opts.sync.catchUp()
    } catch (err) {
      throw new UserError(`${what} is recorded in the cluster's incident stream (sequence ${seq}) but this daemon cannot read the stream back yet: ${errorMessage(err)}`, {
        hint: 'every daemon applies it as soon as it reads the stream; check with mon alerts show <id>',
      })
    }
    const outcome = this.opts.materialiser.outcome(event.id)
    if (!outcome) throw new UserError(`${what} is recorded in the cluster's incident stream (sequence ${seq}) but was not applied here`, {hint: 'check with mon alerts show <id>'})
    return outcome
  }

  private refusal(action: ActionResult['action'], alert: Alert, o: EventOutcome): UserError {
    const now = this.opts.clock.now()
    const verb = {ack: 'acknowledge', unack: 'unacknowledge', resolve: 'resolve', comment: 'comment on'}[action]
    if (o.reason === 'acked' && o.winner) return alreadyAcked(alert, o.winner, now)
    if (o.reason === 'resolved' && o.winner) {
      return new IncidentConflictError(`cannot ${verb} ${describe(alert)}: it was resolved by ${o.winner.by} ${ago(o.winner.at, now)}`, {hint: 'if it fires again that is a new incident, which can be acknowledged'})
    }
    if (o.reason === 'not_acked') return new IncidentConflictError(`${describe(alert)} is not acknowledged`, {hint: 'nothing changed'})
    return new IncidentConflictError(`cannot ${verb} ${describe(alert)}: refused by the cluster's incident stream (${o.reason ?? 'unknown reason'})`)
  }

  private result(action: ActionResult['action'], alert: Alert, actor: {by: string; comment?: string}, now: number, o: EventOutcome): ActionResult {
    const local = this.opts.local()
    const warning =
      action === 'resolve' && (alert.state === 'firing' || alert.state === 'pending')
        ? `the rule's condition still held at its last evaluation (${ago(alert.lastEvalAt, now)}): ${describe(alert)} stays quiet now, and fires as a new incident if it clears and comes back`
        : null
    return {
      action,
      id: local.ids().get(alert.fingerprint) ?? alert.fingerprint,
      fingerprint: alert.fingerprint,
      alertname: alert.labels.alertname ?? '',
      incident: o.localIncident ?? o.incident ?? 0,
      by: actor.by,
      at: new Date(now).toISOString(),
      comment: actor.comment ?? null,
      unchanged: o.result === 'unchanged',
      notified: o.notified,
      escalationsCancelled: o.escalationsCancelled,
      escalationsRestarted: o.escalationsRestarted,
      warning,
    }
  }

  private async silenceView(id: string): Promise<SilenceView> {
    const view = (await this.opts.local().listSilences({state: 'all'})).find((s) => s.id === id)
    if (!view) throw new UserError(`silence ${id} was recorded in the cluster's incident stream but is not in this daemon's state`)
    return view
  }
}

function silenceText(s: Pick<Silence, 'matchers' | 'endsAt'>): string {
  return `${formatMatchers(s.matchers)} until ${new Date(s.endsAt).toISOString()}`
}
