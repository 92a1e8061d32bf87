import type {Migration} from '../state/db.js'

/**
 * The incident workflow's tables in state.db. Times are ms since the epoch.
 *
 * - incidents: one row per firing episode of an alert that somebody acted on. An episode is the
 *   alert's fingerprint plus the `active_at` of the engine's `alerting_alerts` row, so an alert that
 *   resolves and fires again (a new active_at) is a new incident with a new id, and the old ack no
 *   longer applies. Rows are created on the first action (ack, comment, resolve …).
 * - incidents_audit: every action, append-only: who, when, from where (`local` or the remote
 *   address of an API request), on which alert or silence, with the comment. Refused API requests
 *   (wrong or missing token) are recorded here too.
 */
export const INCIDENT_MIGRATIONS: Migration[] = [
  {
    id: 'incidents/1',
    sql: `
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  fingerprint TEXT NOT NULL,
  active_at INTEGER NOT NULL,
  alertname TEXT NOT NULL,
  labels TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  acked_by TEXT,
  acked_at INTEGER,
  ack_comment TEXT,
  resolved_by TEXT,
  resolved_at INTEGER,
  resolve_comment TEXT,
  UNIQUE (fingerprint, active_at)
);

CREATE TABLE incidents_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  action TEXT NOT NULL,
  fingerprint TEXT,
  incident_id INTEGER,
  silence_id TEXT,
  alertname TEXT,
  severity TEXT,
  actor TEXT NOT NULL,
  source TEXT NOT NULL,
  comment TEXT,
  detail TEXT
);
CREATE INDEX incidents_audit_at ON incidents_audit (at);
CREATE INDEX incidents_audit_fp ON incidents_audit (fingerprint, at);
`,
  },
  {
    id: 'incidents/2',
    // purge() looks up each incident's last action
    sql: 'CREATE INDEX incidents_audit_incident ON incidents_audit (incident_id, at);',
  },
]
