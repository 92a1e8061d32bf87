import type {Clock} from '../../clock.js'
import type {InfluxStoreConfig} from '../../config/schema.js'
import {InfluxStore, type InfluxStoreOptions} from './store.js'

/**
 * Opens the InfluxDB backend for `store: {type: influxdb}`. Nothing is sent yet: the first
 * operation pings the server (and detects the API version with `version: auto`), so opening never
 * fails because the server is down.
 */
export async function openInfluxStore(cfg: InfluxStoreConfig, opts: {clock?: Clock} & InfluxStoreOptions = {}): Promise<InfluxStore> {
  return new InfluxStore(cfg, opts)
}
