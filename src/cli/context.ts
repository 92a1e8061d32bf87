import {systemClock, type Clock} from '../core/clock.js'
import {loadConfig, type ConfigSection, type LoadedConfig} from '../core/config/load.js'
import {loadConfigOrRunningDaemon} from '../core/daemon/config-fallback.js'
import {existsSync} from 'node:fs'
import {UserError} from '../core/errors.js'
import {describeStore, embeddedStorePath, openStore} from '../core/store/open.js'
import type {FullStore} from '../core/store/types.js'

/** What a command works with: the loaded config, the store (opened on demand) and the clock. */
export interface Context {
  loaded: LoadedConfig
  clock: Clock
  storeName: string
  store(): Promise<FullStore>
  close(): Promise<void>
}

export interface ContextOptions {
  clock?: Clock
  /** the config sections the command uses (see {@link loadConfig}); default every one */
  sections?: readonly ConfigSection[]
  /**
   * For views of what runs: when the config file does not load but a daemon runs its last good
   * version, go on with the daemon's data dir and call this with the problem (see {@link loadConfigOrRunningDaemon}).
   */
  onBrokenConfigWhileDaemonRuns?: (problem: string) => void
  /**
   * Read-only commands (and ones with nothing to do on an empty store): an embedded store that does
   * not exist is an error that says so, instead of an empty store created where none was meant to be.
   */
  mustExist?: boolean
}

/** The error for a read-only command pointed at data that is not there (a wrong data_dir or MON_DATA_DIR, usually). */
export function missingDataError(what: string, dataDir: string): UserError {
  const where = existsSync(dataDir) ? `the data dir ${dataDir} has no ${what}` : `the data dir ${dataDir} does not exist`
  return new UserError(`no data: ${where}`, {
    hint: 'check data_dir in the config, --config and $MON_DATA_DIR (mon config show prints what is used); mon collect or mon daemon creates it',
  })
}

export async function openContext(flags: {config?: string}, opts: ContextOptions = {}): Promise<Context> {
  const loadOptions = {path: flags.config, sections: opts.sections}
  let loaded: LoadedConfig
  if (opts.onBrokenConfigWhileDaemonRuns) {
    const found = await loadConfigOrRunningDaemon(loadOptions)
    if (found.configProblem) opts.onBrokenConfigWhileDaemonRuns(found.configProblem)
    loaded = found.loaded
  } else loaded = await loadConfig(loadOptions)
  const clock = opts.clock ?? systemClock
  let store: Promise<FullStore> | undefined
  return {
    loaded,
    clock,
    storeName: describeStore(loaded.config.store, loaded.dataDir),
    store() {
      const cfg = loaded.config.store
      if (opts.mustExist && !store && cfg.type === 'sqlite' && !existsSync(embeddedStorePath(cfg, loaded.dataDir))) {
        return Promise.reject(missingDataError(`store (${embeddedStorePath(cfg, loaded.dataDir)})`, loaded.dataDir))
      }
      store ??= openStore(loaded.config.store, {dataDir: loaded.dataDir, clock, retention: loaded.config.retention})
      return store
    },
    async close() {
      if (store) await (await store.catch(() => undefined))?.close()
    },
  }
}
