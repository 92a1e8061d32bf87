/**
 * Discovery helpers shared by `mon store measurements|fields|tags` on every backend.
 */
import {existsSync} from 'node:fs'
import {didYouMean} from '../did-you-mean.js'
import type {StoreConfig} from '../config/schema.js'
import {UserError} from '../errors.js'
import {describeStore, embeddedStorePath} from './open.js'
import {isInitializable, isReadOnlyStore, ReadOnlyStoreError, type FullStore, type InitResult, type StoreCatalog} from './types.js'

export type {InitResult} from './types.js'

/** Throws a clear error (with a did-you-mean) when `measurement` is not in the store. */
export async function requireMeasurement(store: StoreCatalog, measurement: string, storeName: string): Promise<void> {
  const names = await store.measurements()
  if (names.includes(measurement)) return
  const guess = didYouMean(measurement, names)
  throw new UserError(`no measurement "${measurement}" in ${storeName}`, {
    hint: guess ? `did you mean "${guess}"?` : names.length > 0 ? 'list them with `mon store measurements`' : 'the store is empty: collect or write some data first (mon collect --once)',
    exitCode: 2,
  })
}

/**
 * Creates what the configured store needs: the embedded database file and schema, the InfluxDB
 * 1.x database or the 2.x bucket. Idempotent.
 */
export async function initStore(cfg: StoreConfig, dataDir: string, open: () => Promise<FullStore>): Promise<InitResult> {
  if (cfg.type === 'sqlite') {
    const path = embeddedStorePath(cfg, dataDir)
    const existed = existsSync(path)
    await open()
    return {backend: 'sqlite', location: path, database: path, created: !existed, notes: []}
  }

  const store = await open()
  if (isReadOnlyStore(store)) throw new ReadOnlyStoreError(cfg.type, 'url' in cfg ? cfg.url : describeStore(cfg, dataDir), 'create anything there (store init)')
  if (!isInitializable(store)) throw new Error(`store.type ${cfg.type} opened a ${store.kind} store without init()`)
  return store.init()
}
