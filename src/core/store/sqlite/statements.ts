import type Database from 'better-sqlite3'

/** Statements kept per connection, by their SQL text. */
const kept = new WeakMap<Database.Database, Map<string, Database.Statement>>()
/** More distinct texts than this (series selections by many matcher shapes) start the cache over. */
const MAX_KEPT = 256

/**
 * `db.prepare(sql)` compiled once per connection and reused: a query's per-request SQL (the series
 * a selector matches, a measurement's tag keys) was compiled again at every request, a few percent
 * of a small query's time in the daemon. Only for statements run to completion (.get, .all, .run),
 * never one being iterated, which a second user would find busy. SQLite re-prepares a kept
 * statement itself if the schema changes under it. A statement's mode (.raw, .pluck) is the
 * statement's, shared with every user of the same text: a caller that wants one sets it at each use.
 */
export function keptStatement<P extends unknown[] = unknown[], R = unknown>(db: Database.Database, sql: string): Database.Statement<P, R> {
  let byText = kept.get(db)
  if (!byText) kept.set(db, (byText = new Map()))
  let statement = byText.get(sql)
  if (!statement) {
    if (byText.size >= MAX_KEPT) byText.clear()
    statement = db.prepare(sql)
    byText.set(sql, statement)
  }

  return statement as unknown as Database.Statement<P, R>
}
