/** Opening mon.db: directory, pragmas, the quick check, schema version and migration. */
import Database from 'better-sqlite3'
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'
import {UserError} from '../../errors.js'
import {damagedError, quickCheck} from '../../sqlite-check.js'
import {SCHEMA, SCHEMA_VERSION} from './schema.js'

export const REPAIR_HINT = '`mon store check` shows the damage; `mon store repair` salvages every readable chunk into a new file (the damaged one is kept aside)'

/**
 * `opened`: another connection of this process opened the file a moment ago (the write thread's,
 * write-thread.ts): it made the schema and ran the quick check, so this one does neither (the
 * check reads every page).
 */
export function openDatabase(path: string, readonly: boolean, opts: {opened?: boolean} = {}): Database.Database {
  if (!readonly) {
    try {
      mkdirSync(dirname(path), {recursive: true})
    } catch (error) {
      throw new UserError(`cannot create data directory ${dirname(path)}: ${(error as Error).message}`, {
        hint: 'set MON_DATA_DIR (or data_dir in the config) to a writable directory',
        cause: error,
      })
    }
  }

  let db: Database.Database
  try {
    db = new Database(path, {readonly, fileMustExist: readonly})
  } catch (error) {
    const msg = (error as Error).message
    if (readonly && /unable to open|does not exist/i.test(msg)) {
      throw new UserError(`no embedded store at ${path}`, {hint: 'collect or write some data first: mon collect --once', cause: error})
    }

    throw new UserError(`cannot open embedded store ${path}: ${msg}`, {
      hint: 'check that the directory is writable (MON_DATA_DIR / data_dir)',
      cause: error,
    })
  }

  try {
    db.pragma('busy_timeout = 10000')
    if (!readonly) {
      // must precede the first write of a new file (WAL mode writes the header): lets compaction
      // hand freed pages back to the file system (PRAGMA incremental_vacuum)
      if ((db.pragma('page_count', {simple: true}) as number) === 0) db.pragma('auto_vacuum = INCREMENTAL')
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
    }

    db.pragma('cache_size = -32000')
    if (opts.opened) return db
    // garbled or missing pages are found now, not as wrong answers later (one read of every page)
    const problems = quickCheck(db)
    if (problems.length > 0) throw damagedError('embedded store', path, problems, REPAIR_HINT)
    const version = db.pragma('user_version', {simple: true}) as number
    if (version > SCHEMA_VERSION) {
      throw new UserError(`embedded store ${path} has schema version ${version}, newer than this mon understands (${SCHEMA_VERSION})`, {
        hint: 'upgrade mon',
      })
    }

    if (!readonly && version < SCHEMA_VERSION) {
      db.exec(SCHEMA)
      db.pragma(`user_version = ${SCHEMA_VERSION}`)
    }

    if (!readonly || version === SCHEMA_VERSION) db.prepare('SELECT count(*) FROM series').get()
  } catch (error) {
    db.close()
    if (error instanceof UserError) throw error
    const msg = (error as Error).message
    if (/not a database|malformed|corrupt/i.test(msg)) {
      throw new UserError(`embedded store ${path} is corrupt or not a mon database (${msg})`, {
        hint: REPAIR_HINT,
        cause: error,
      })
    }

    throw new UserError(`cannot open embedded store ${path}: ${msg}`, {cause: error})
  }

  return db
}
