import {formatDuration, parseDuration} from '../../config/duration.js'
import type {StateDb} from '../../state/db.js'
import type {EscalationPolicyConfig} from '../config.js'

/**
 * Escalation policies: "notify the team; if nobody acknowledges within 15m, page on-call; after
 * 30m, call the manager". A route names a policy; each alert it notifies starts the clock when it
 * is first notified. Each step sends an `escalation` notification to the step's receiver when it
 * falls due; an acknowledgement or a resolution stops what is left. Receivers that were escalated
 * to are told when the alert resolves (and when it is acknowledged).
 *
 * The progress is kept in state.db (notify_escalations), so a restart does not restart the clock.
 */

export interface EscalationStep {
  afterMs: number
  receiver: string
}

export interface EscalationPolicy {
  name: string
  /** in order of `after` */
  steps: EscalationStep[]
}

export function compileEscalationPolicies(list: readonly EscalationPolicyConfig[]): Map<string, EscalationPolicy> {
  return new Map(
    list.map((p) => [
      p.name,
      {
        name: p.name,
        steps: p.steps.map((s) => ({afterMs: parseDuration(s.after), receiver: s.receiver})).sort((a, b) => a.afterMs - b.afterMs),
      },
    ]),
  )
}

/** Index of the next step due at `now`, if one is. */
export function dueStep(policy: EscalationPolicy, startedAt: number, nextStep: number, now: number): number | undefined {
  const step = policy.steps[nextStep]
  return step && now >= startedAt + step.afterMs ? nextStep : undefined
}

export function escalationMessage(policy: EscalationPolicy, index: number): string {
  const step = policy.steps[index]!
  return `Not acknowledged after ${formatDuration(step.afterMs)}: escalated to ${step.receiver} (step ${index + 1} of ${policy.steps.length} of escalation policy ${policy.name})`
}

export type EscalationStatus = 'active' | 'exhausted' | 'cancelled'

export interface EscalationRecord {
  fingerprint: string
  routeId: string
  policy: string
  groupKey: string
  groupLabels: Record<string, string>
  startedAt: number
  nextStep: number
  /** receivers escalated to so far */
  receivers: string[]
  status: EscalationStatus
}

interface Row {
  fingerprint: string
  route_id: string
  policy: string
  group_key: string
  group_labels: string
  started_at: number
  next_step: number
  receivers: string
  status: EscalationStatus
}

function fromRow(r: Row): EscalationRecord {
  return {
    fingerprint: r.fingerprint,
    routeId: r.route_id,
    policy: r.policy,
    groupKey: r.group_key,
    groupLabels: JSON.parse(r.group_labels) as Record<string, string>,
    startedAt: r.started_at,
    nextStep: r.next_step,
    receivers: JSON.parse(r.receivers) as string[],
    status: r.status,
  }
}

export class EscalationStore {
  constructor(private readonly db: StateDb) {}

  /** Start the clock for an alert on a route, unless it is already running. */
  start(r: Pick<EscalationRecord, 'fingerprint' | 'routeId' | 'policy' | 'groupKey' | 'groupLabels'>, now: number): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO notify_escalations (fingerprint, route_id, policy, group_key, group_labels, started_at, next_step, receivers, status, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, '[]', 'active', ?)`,
      )
      .run(r.fingerprint, r.routeId, r.policy, r.groupKey, JSON.stringify(r.groupLabels), now, now)
  }

  active(): EscalationRecord[] {
    return (this.db.prepare(`SELECT * FROM notify_escalations WHERE status = 'active' ORDER BY started_at`).all() as Row[]).map(fromRow)
  }

  forAlert(fingerprint: string, routeId?: string): EscalationRecord[] {
    const rows =
      routeId === undefined
        ? (this.db.prepare('SELECT * FROM notify_escalations WHERE fingerprint = ?').all(fingerprint) as Row[])
        : (this.db.prepare('SELECT * FROM notify_escalations WHERE fingerprint = ? AND route_id = ?').all(fingerprint, routeId) as Row[])
    return rows.map(fromRow)
  }

  advance(r: EscalationRecord, receiver: string, steps: number, now: number): void {
    const next = r.nextStep + 1
    const receivers = r.receivers.includes(receiver) ? r.receivers : [...r.receivers, receiver]
    this.db
      .prepare('UPDATE notify_escalations SET next_step = ?, receivers = ?, status = ?, updated_at = ? WHERE fingerprint = ? AND route_id = ?')
      .run(next, JSON.stringify(receivers), next >= steps ? 'exhausted' : 'active', now, r.fingerprint, r.routeId)
    r.nextStep = next
    r.receivers = receivers
    r.status = next >= steps ? 'exhausted' : 'active'
  }

  /** Stop escalating an alert (acknowledged); returns how many escalations stopped. */
  cancel(fingerprint: string, now: number): number {
    return this.db.prepare(`UPDATE notify_escalations SET status = 'cancelled', updated_at = ? WHERE fingerprint = ? AND status = 'active'`).run(now, fingerprint).changes
  }

  /**
   * Start a cancelled escalation again from its first step, the clock from `now` (an alert that was
   * unacknowledged is nobody's again); the receivers escalated to so far are kept, so they still
   * hear of its resolution. Returns how many restarted.
   */
  restart(fingerprint: string, now: number): number {
    return this.db
      .prepare(`UPDATE notify_escalations SET status = 'active', started_at = ?, next_step = 0, updated_at = ? WHERE fingerprint = ? AND status = 'cancelled'`)
      .run(now, now, fingerprint).changes
  }

  remove(fingerprint: string, routeId: string): void {
    this.db.prepare('DELETE FROM notify_escalations WHERE fingerprint = ? AND route_id = ?').run(fingerprint, routeId)
  }

  purge(before: number): number {
    return this.db.prepare(`DELETE FROM notify_escalations WHERE status != 'active' AND updated_at < ?`).run(before).changes
  }
}
