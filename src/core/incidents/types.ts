import type {AlertState} from '../alerting/types.js'

/**
 * What the incident workflow shows and returns: the same shapes for `mon alerts … --json`, the
 * daemon API and `mon top`. Times are RFC 3339 strings (UTC) in views; ms since the epoch inside.
 */

/**
 * The state people see: the engine's state, except that a firing (or pending) alert somebody
 * acknowledged is `acked`, and one somebody resolved by hand is `resolved`.
 */
export type DisplayState = 'pending' | 'firing' | 'acked' | 'resolved' | 'inactive'

/** `--state` of `mon alerts list`: `firing` includes acknowledged alerts; `acked` is only those. */
export type StateFilter = 'firing' | 'pending' | 'acked' | 'resolved' | 'all'
export const STATE_FILTERS: readonly StateFilter[] = ['firing', 'pending', 'acked', 'resolved', 'all']

/** One firing episode of an alert that somebody acted on. */
export interface IncidentView {
  /** its own sequence: the same alert firing again later is a new incident */
  id: number
  openedAt: string
  ackedBy: string | null
  ackedAt: string | null
  ackComment: string | null
  resolvedBy: string | null
  resolvedAt: string | null
  resolveComment: string | null
}

export interface AlertView {
  /** shortest unique prefix of the fingerprint (at least 4 characters) */
  id: string
  fingerprint: string
  alertname: string
  severity: string | null
  state: DisplayState
  /** the rule engine's own state (firing even when acked) */
  alertState: AlertState
  labels: Record<string, string>
  annotations: Record<string, string>
  /** the expression's value at the last evaluation */
  value: number | null
  group: string
  rule: string | null
  health: 'ok' | 'error' | 'nodata'
  activeAt: string
  firedAt: string | null
  resolvedAt: string | null
  lastEvalAt: string
  /** how long it has been in its current state, ms */
  ageMs: number
  ackedBy: string | null
  incident: IncidentView | null
  /** ids of the active silences that match it */
  silencedBy: string[]
}

export type TimelineKind =
  | 'pending'
  | 'fired'
  | 'resolved'
  | 'inactive'
  | 'notification'
  | 'escalation'
  | 'ack'
  | 'unack'
  | 'comment'
  | 'resolve'

export interface TimelineEntry {
  at: string
  kind: TimelineKind
  /** one line, for people */
  text: string
  actor?: string
  /** `local` or the remote address of an API request */
  source?: string
  comment?: string
  /** notifications: `receiver/channel` */
  channel?: string
  /** notifications: delivered, pending, sending, dead, dropped */
  result?: string
  incident?: number
}

export interface AlertDetail extends AlertView {
  timeline: TimelineEntry[]
  /** how many firing episodes (incidents) the timeline covers */
  episodes: number
}

export type AuditAction = 'ack' | 'unack' | 'resolve' | 'comment' | 'silence_add' | 'silence_expire' | 'auth_failed'

/** One line of `mon alerts history`: an action from the audit trail, or the engine firing/resolving. */
export interface HistoryEntry {
  at: string
  action: AuditAction | 'fired' | 'resolved'
  /** short id of the alert (when about an alert) */
  id: string | null
  fingerprint: string | null
  incident: number | null
  silence: string | null
  alertname: string | null
  severity: string | null
  /** `rules` for the engine's own transitions */
  actor: string
  source: string
  comment: string | null
  detail: string | null
}

export interface ActionInput {
  /** who does it; default `$USER@hostname` */
  by: string
  comment?: string
  /** `local`, or the remote address (set by the API server, never trusted from the body) */
  source?: string
}

export interface ActionResult {
  action: 'ack' | 'unack' | 'resolve' | 'comment'
  id: string
  fingerprint: string
  alertname: string
  incident: number
  by: string
  at: string
  comment: string | null
  /** the same person acked it before: nothing changed */
  unchanged: boolean
  /** notifications queued in the outbox (`receiver/channel`), e.g. the PagerDuty acknowledge */
  notified: string[]
  escalationsCancelled: number
  /** unack: escalations started again from their first step */
  escalationsRestarted: number
  /** e.g. resolving an alert whose condition still holds */
  warning: string | null
}

export interface ListQuery {
  state?: StateFilter
  /** severities to keep (any of) */
  severity?: string[]
  /** label matchers, all must match: `host=web-1`, `env!=dev`, `path=~"/var.*"` */
  labels?: string[]
  /** keep alerts whose current state began at or after this (ms) */
  since?: number
}

export interface HistoryQuery {
  since: number
  until?: number
  /** only this alert (an id prefix) */
  id?: string
  limit?: number
}

export interface SilenceView {
  id: string
  matchers: string[]
  state: 'active' | 'pending' | 'expired'
  startsAt: string
  endsAt: string
  createdBy: string
  comment: string
  createdAt: string
  /** firing alerts it silences now */
  silencing: number
}

export interface SilenceInput {
  matchers: string[]
  /** ms; either endsAt or durationMs */
  durationMs?: number
  endsAt?: number
  startsAt?: number
  comment: string
  by: string
  source?: string
}

/**
 * The incident workflow, local (state.db) or remote (the daemon API): commands, the API server
 * and `mon top` use this and do not care which.
 */
export interface IncidentService {
  /** where it works: `state.db at /var/lib/mon` or `http://host:9464` */
  readonly where: string
  list(q?: ListQuery): Promise<AlertView[]>
  /** one alert by id prefix; with `timeline` its history (default: the current episode only) */
  get(id: string, opts?: {timeline?: boolean; allEpisodes?: boolean}): Promise<AlertDetail>
  ack(id: string, input: ActionInput): Promise<ActionResult>
  unack(id: string, input: ActionInput): Promise<ActionResult>
  resolve(id: string, input: ActionInput): Promise<ActionResult>
  comment(id: string, input: ActionInput & {comment: string}): Promise<ActionResult>
  history(q: HistoryQuery): Promise<HistoryEntry[]>
  addSilence(input: SilenceInput): Promise<SilenceView>
  listSilences(opts?: {state?: 'current' | 'active' | 'pending' | 'expired' | 'all'}): Promise<SilenceView[]>
  expireSilence(id: string, input: ActionInput): Promise<SilenceView>
  close(): Promise<void>
}
