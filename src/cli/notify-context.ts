import {systemClock, type Clock} from '../core/clock.js'
import {loadConfig, type LoadedConfig} from '../core/config/load.js'
import {existsSync} from 'node:fs'
import {compileFromConfig, openMemoryNotifyDb, openNotifyDb, type CompiledNotify} from '../core/notify/index.js'
import {missingDataError} from './context.js'
import type {StateDb} from '../core/state/db.js'

/** What the `mon notify …` commands work with: the config, the compiled notify section, state.db. */
export interface NotifyContext {
  loaded: LoadedConfig
  notify: CompiledNotify
  clock: Clock
  /** opened on first use (routes and test do not need it); a data dir that does not exist is an error, not created */
  db(): StateDb
  /** state.db, or an empty in-memory one when the data dir does not exist (routes: no silences yet) */
  dbOrEmpty(): StateDb
  close(): void
}

export async function openNotifyContext(flags: {config?: string}): Promise<NotifyContext> {
  const loaded = await loadConfig({path: flags.config})
  let db: StateDb | undefined
  return {
    loaded,
    notify: compileFromConfig(loaded),
    clock: systemClock,
    db() {
      if (!db && !existsSync(loaded.dataDir)) throw missingDataError('notification outbox', loaded.dataDir)
      return (db ??= openNotifyDb(loaded.dataDir))
    },
    dbOrEmpty: () => (db ??= existsSync(loaded.dataDir) ? openNotifyDb(loaded.dataDir) : openMemoryNotifyDb()),
    close: () => db?.close(),
  }
}
