/**
 * Embedded store schema (SQLite, WAL).
 *
 * series   one row per measurement + canonical tag set (the line-protocol series key)
 * fields   one row per measurement + field name, with its type (a type conflict is an error, as in InfluxDB)
 * chunks   compressed runs of points of one series field (see codec.ts) with a summary
 *          (n, sum, min, max, first, last) so long-range aggregations read summaries, not points.
 *          Chunks of one series field never overlap in time.
 * head     small writes land here row by row (series, field, ts) → value; compaction folds them into
 *          chunks. A head row overrides a chunk point with the same timestamp (it is newer).
 * rollups  per retention tier (bucket width in ms): compressed runs of buckets (n, sum, min, max,
 *          first, last per bucket), the same chunk mechanics as raw points.
 * rollup_dirty  ranges written below a tier's watermark (late or backfilled data) to recompute.
 *
 * Idempotence: the same series + field + ts written again replaces the old value in both paths.
 */
export const SCHEMA_VERSION = 2

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  measurement TEXT NOT NULL,
  tags TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS series_by_measurement ON series (measurement);
CREATE TABLE IF NOT EXISTS fields (
  id INTEGER PRIMARY KEY,
  measurement TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  UNIQUE (measurement, name)
);
CREATE TABLE IF NOT EXISTS chunks (
  series_id INTEGER NOT NULL,
  field_id INTEGER NOT NULL,
  t_start INTEGER NOT NULL,
  t_end INTEGER NOT NULL,
  n INTEGER NOT NULL,
  sum REAL, min REAL, max REAL, first REAL, last REAL,
  data BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS chunks_by_series_time ON chunks (series_id, field_id, t_start);
CREATE INDEX IF NOT EXISTS chunks_by_end ON chunks (t_end);
CREATE TABLE IF NOT EXISTS head (
  series_id INTEGER NOT NULL,
  field_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  value,
  PRIMARY KEY (series_id, field_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollups (
  tier INTEGER NOT NULL,
  series_id INTEGER NOT NULL,
  field_id INTEGER NOT NULL,
  t_start INTEGER NOT NULL,
  t_end INTEGER NOT NULL,
  n INTEGER NOT NULL,
  sum REAL, min REAL, max REAL, first REAL, last REAL,
  items INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS rollups_by_series_time ON rollups (tier, series_id, field_id, t_start);
CREATE INDEX IF NOT EXISTS rollups_by_end ON rollups (tier, t_end);
CREATE TABLE IF NOT EXISTS rollup_dirty (
  tier INTEGER NOT NULL,
  series_id INTEGER NOT NULL,
  field_id INTEGER NOT NULL,
  t_from INTEGER NOT NULL,
  t_to INTEGER NOT NULL
);
`
