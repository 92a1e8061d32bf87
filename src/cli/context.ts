import {systemClock, type Clock} from '../core/clock.js'
import {loadConfig, type ConfigSection, type LoadedConfig} from '../core/config/load.js'
import {loadConfigOrRunningDaemon} from '../core/daemon/config-fallback.js'
import {describeStore, openStore} from '../core/store/open.js'
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
      store ??= openStore(loaded.config.store, {dataDir: loaded.dataDir, clock, retention: loaded.config.retention})
      return store
    },
    async close() {
      if (store) await (await store.catch(() => undefined))?.close()
    },
  }
}
