import type {Point} from '../model/point.js'
import type {AuditRecord} from './store.js'

/**
 * Every action as a point in the metrics store, so dashboards can show acks and silences next to
 * the metrics (Grafana annotations) and rules can alert on them (e.g. failed API logins):
 *
 *   alert_events,action=ack,alertname=HighCpu,severity=critical,actor=alice@laptop fingerprint="…",comment="…",incident=12i,source="local"
 *
 * Tags are the few low-cardinality things one groups by; the rest are fields.
 */
export const EVENTS_MEASUREMENT = 'alert_events'

export function eventPoint(e: Omit<AuditRecord, 'seq'>): Point {
  const tags: Record<string, string> = {action: e.action, actor: e.actor}
  if (e.alertname) tags.alertname = e.alertname
  if (e.severity) tags.severity = e.severity
  const fields: Point['fields'] = {source: e.source}
  if (e.fingerprint) fields.fingerprint = e.fingerprint
  if (e.comment) fields.comment = e.comment
  if (e.incidentId !== undefined) fields.incident = BigInt(e.incidentId)
  if (e.silenceId) fields.silence = e.silenceId
  if (e.detail) fields.detail = e.detail
  return {measurement: EVENTS_MEASUREMENT, tags, fields, ts: e.at}
}
