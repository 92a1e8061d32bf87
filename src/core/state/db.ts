import Database from 'better-sqlite3'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {UserError} from '../errors.js'
import {damagedError, quickCheck} from '../sqlite-check.js'

/**
 * The state database (`<data_dir>/state.db`): the seed's key-value store for everything that is not
 * a metric — alert state and history, the notification outbox, silences, incidents and the audit
 * trail. It is separate from the metrics store so that it exists whether metrics live in SQLite or
 * InfluxDB, and so that a busy metrics writer never delays an acknowledgement.
 *
 * Each module owns its tables and registers a migration under its own name; migrations run once,
 * in order, inside a transaction, and are recorded in `migrations`.
 */
export interface Migration {
  /** unique, e.g. `alerting/1` */
  id: string
  sql: string
}

export type StateDb = Database.Database

export function stateDbPath(dataDir: string): string {
  return join(dataDir, 'state.db')
}

const STATE_DAMAGED_HINT = 'the file is damaged: stop mon, move it away (alert state, the outbox and incidents start fresh) or restore a backup'

export function openStateDb(dataDir: string, migrations: Migration[] = []): StateDb {
  try {
    mkdirSync(dataDir, {recursive: true})
  } catch (error) {
    throw new UserError(`cannot create data directory ${dataDir}: ${(error as Error).message}`, {
      hint: 'set MON_DATA_DIR (or data_dir in the config) to a writable directory',
    })
  }

  let db: StateDb
  try {
    db = new Database(stateDbPath(dataDir))
    db.pragma('busy_timeout = 10000')
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    const problems = quickCheck(db)
    if (problems.length > 0) {
      db.close()
      throw damagedError('state database', stateDbPath(dataDir), problems, STATE_DAMAGED_HINT)
    }
    db.exec('CREATE TABLE IF NOT EXISTS migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID')
  } catch (error) {
    if (error instanceof UserError) throw error
    const msg = (error as Error).message
    if (/not a database|malformed|corrupt/i.test(msg)) throw damagedError('state database', stateDbPath(dataDir), [msg], STATE_DAMAGED_HINT)
    throw new UserError(`cannot open state database ${stateDbPath(dataDir)}: ${msg}`, {
      hint: 'check the data directory permissions',
    })
  }

  migrate(db, migrations)
  return db
}

/** The state database's tables in memory: `mon rules test|eval`, and views of a data dir without a state.db (nothing is created). */
export function openMemoryStateDb(migrations: Migration[] = []): StateDb {
  const db = new Database(':memory:')
  // what openStateDb sets up for a file
  db.exec('CREATE TABLE IF NOT EXISTS migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID')
  migrate(db, migrations)
  return db
}

export function migrate(db: StateDb, migrations: Migration[]): void {
  const applied = new Set((db.prepare('SELECT id FROM migrations').all() as Array<{id: string}>).map((r) => r.id))
  for (const m of migrations) {
    if (applied.has(m.id)) continue
    db.transaction(() => {
      // another process may have applied it while we waited for the write lock
      if (db.prepare('SELECT 1 FROM migrations WHERE id = ?').get(m.id)) return
      db.exec(m.sql)
      db.prepare('INSERT INTO migrations (id, applied_at) VALUES (?, ?)').run(m.id, Date.now())
    }).immediate()
  }
}
