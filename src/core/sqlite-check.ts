import type Database from 'better-sqlite3'
import {UserError} from './errors.js'

/**
 * Damage checks shared by the SQLite files mon keeps (the embedded store, the state database):
 * a quick check at open, so garbled or missing pages are reported at once rather than as wrong
 * answers or a crash later. The full check and repair of the store are in store/sqlite/repair.ts.
 */

/** Problems SQLite's quick_check reports, [] when the file is sound. Throws when it cannot even run. */
export function quickCheck(db: Database.Database): string[] {
  const rows = db.pragma('quick_check(20)') as Array<{quick_check: string}>
  return rows.map((r) => r.quick_check).filter((m) => m !== 'ok')
}

/** The error for a database whose quick check failed at open: what it is, and what to run. */
export function damagedError(what: string, path: string, problems: string[], hint: string): UserError {
  return new UserError(`${what} ${path} is damaged: ${problems[0] ?? 'unreadable'}${problems.length > 1 ? ` (+${problems.length - 1} more problems)` : ''}`, {hint, details: problems.join('\n')})
}

