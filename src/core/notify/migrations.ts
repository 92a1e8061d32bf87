import type {Migration} from '../state/db.js'

/**
 * The notifier's tables in state.db. Times are ms since the epoch.
 *
 * - notify_silences: silences (matchers as JSON).
 * - notify_outbox: one row per notification per channel, written before it is sent; `stream`
 *   (receiver + channel + group) keeps a group's messages to one channel in order; the lease
 *   (lease_owner, lease_until) lets only one process send a row at a time.
 * - notify_outbox_alerts: which alerts a row is about (for `mon alerts show`).
 * - notify_attempts: every delivery attempt.
 * - notify_log: what each channel was last told about each group (Alertmanager's nflog), so a
 *   restart does not repeat notifications.
 * - notify_escalations: per alert and route, how far its escalation policy has gone.
 * - notify_threads: the Slack message a group's later notes reply to.
 */
export const NOTIFY_MIGRATIONS: Migration[] = [
  {
    id: 'notify/1',
    sql: `
CREATE TABLE notify_silences (
  id TEXT PRIMARY KEY,
  matchers TEXT NOT NULL,
  starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX notify_silences_ends ON notify_silences (ends_at);

CREATE TABLE notify_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  receiver TEXT NOT NULL,
  channel TEXT NOT NULL,
  channel_type TEXT NOT NULL,
  group_key TEXT NOT NULL,
  stream TEXT NOT NULL,
  title TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  delivered_at INTEGER,
  finished_at INTEGER,
  last_error TEXT
);
CREATE INDEX notify_outbox_due ON notify_outbox (status, next_attempt_at);
CREATE INDEX notify_outbox_stream ON notify_outbox (stream, seq);

CREATE TABLE notify_outbox_alerts (
  fingerprint TEXT NOT NULL,
  seq INTEGER NOT NULL REFERENCES notify_outbox (seq) ON DELETE CASCADE,
  PRIMARY KEY (fingerprint, seq)
) WITHOUT ROWID;
CREATE INDEX notify_outbox_alerts_seq ON notify_outbox_alerts (seq);

CREATE TABLE notify_attempts (
  seq INTEGER NOT NULL REFERENCES notify_outbox (seq) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  result TEXT NOT NULL,
  error TEXT,
  PRIMARY KEY (seq, attempt)
) WITHOUT ROWID;

CREATE TABLE notify_log (
  route_id TEXT NOT NULL,
  group_key TEXT NOT NULL,
  receiver TEXT NOT NULL,
  channel TEXT NOT NULL,
  firing TEXT NOT NULL,
  resolved TEXT NOT NULL,
  notified_at INTEGER NOT NULL,
  PRIMARY KEY (route_id, group_key, receiver, channel)
) WITHOUT ROWID;

CREATE TABLE notify_escalations (
  fingerprint TEXT NOT NULL,
  route_id TEXT NOT NULL,
  policy TEXT NOT NULL,
  group_key TEXT NOT NULL,
  group_labels TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  next_step INTEGER NOT NULL DEFAULT 0,
  receivers TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL DEFAULT 'active',
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (fingerprint, route_id)
) WITHOUT ROWID;

CREATE TABLE notify_threads (
  stream TEXT PRIMARY KEY,
  ts TEXT NOT NULL,
  channel TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
]
