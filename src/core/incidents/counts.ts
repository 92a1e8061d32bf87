import type Database from 'better-sqlite3'
import type {AlertState} from '../alerting/types.js'
import type {DisplayState} from './types.js'

/**
 * The one way alerts are counted, for every place that shows a count: `mon alerts list`, `mon top`,
 * `mon status`, `/metrics` (mon_alerts), `mon alerts eval --once` and the silence views. The rule
 * engine keeps an alert firing after somebody resolved it by hand (it resolves when the expression
 * does); people do not count it any more.
 */
export interface AlertCounts {
  /** firing and not resolved by hand; acknowledged ones included, as `mon alerts list` lists them */
  firing: number
  /** of `firing`, acknowledged */
  acked: number
  /** pending and not resolved by hand */
  pending: number
}

/**
 * The state people see: the engine's state, except that a firing (or pending) alert somebody
 * acknowledged is `acked`, and one somebody resolved by hand is `resolved`.
 */
export function displayState(alertState: AlertState, incident: {ackedBy?: string | null; resolvedBy?: string | null} | undefined): DisplayState {
  if (incident?.resolvedBy != null) return 'resolved'
  if ((alertState === 'firing' || alertState === 'pending') && incident?.ackedBy != null) return 'acked'
  return alertState
}

/** Counts alerts given the engine's state and the state people see (an AlertView has both). */
export function countAlerts(alerts: Iterable<{alertState: AlertState; state: DisplayState}>): AlertCounts {
  const counts: AlertCounts = {firing: 0, acked: 0, pending: 0}
  for (const a of alerts) {
    if (a.state === 'resolved') continue
    if (a.alertState === 'firing') {
      counts.firing++
      if (a.state === 'acked') counts.acked++
    } else if (a.alertState === 'pending') counts.pending++
  }
  return counts
}

/** {@link countAlerts} over state.db: the engine's alerts and their current episode's incident. */
export function countAlertsInDb(db: Database.Database): AlertCounts {
  const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{name: string}>).map((r) => r.name))
  if (!tables.has('alerting_alerts')) return {firing: 0, acked: 0, pending: 0}
  const rows = tables.has('incidents')
    ? db
        .prepare(
          `SELECT a.state, i.acked_by, i.resolved_by FROM alerting_alerts a
           LEFT JOIN incidents i ON i.fingerprint = a.fingerprint AND i.active_at = a.active_at
           WHERE a.state IN ('firing', 'pending')`,
        )
        .all()
    : db.prepare("SELECT state FROM alerting_alerts WHERE state IN ('firing', 'pending')").all()
  return countAlerts(
    (rows as Array<{state: AlertState; acked_by?: string | null; resolved_by?: string | null}>).map((r) => ({
      alertState: r.state,
      state: displayState(r.state, {ackedBy: r.acked_by, resolvedBy: r.resolved_by}),
    })),
  )
}
