import {systemClock, type Clock} from '../core/clock.js'
import {loadConfig, type LoadedConfig} from '../core/config/load.js'
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

export async function openContext(flags: {config?: string}, opts: {clock?: Clock} = {}): Promise<Context> {
  const loaded = await loadConfig({path: flags.config})
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
