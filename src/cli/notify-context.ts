import {systemClock, type Clock} from '../core/clock.js'
import {loadConfig, type LoadedConfig} from '../core/config/load.js'
import {compileFromConfig, openNotifyDb, type CompiledNotify} from '../core/notify/index.js'
import type {StateDb} from '../core/state/db.js'

/** What the `mon notify …` commands work with: the config, the compiled notify section, state.db. */
export interface NotifyContext {
  loaded: LoadedConfig
  notify: CompiledNotify
  clock: Clock
  /** opened on first use (routes and test do not need it) */
  db(): StateDb
  close(): void
}

export async function openNotifyContext(flags: {config?: string}): Promise<NotifyContext> {
  const loaded = await loadConfig({path: flags.config})
  let db: StateDb | undefined
  const getDb = () => (db ??= openNotifyDb(loaded.dataDir))
  return {
    loaded,
    notify: compileFromConfig(loaded),
    clock: systemClock,
    db: getDb,
    close: () => db?.close(),
  }
}
