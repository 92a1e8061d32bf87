/**
 * `mon query --influxql '…'` / `--flux '…'`: a statement sent to InfluxDB as written, its answer
 * returned as InfluxDB gave it. Kept apart from store.ts so that `mon query` on the embedded store
 * does not load the InfluxDB client.
 */
import {InputError} from '../../errors.js'
import type {FullStore} from '../types.js'
import type {InfluxStore, RawQueryResult} from './store.js'

export type {RawQueryResult}

export interface PassthroughRequest {
  influxql?: string
  flux?: string
}

/** `kind`: the store's (or the configured store type): raw InfluxQL/Flux needs an InfluxDB store. */
export function checkPassthroughStore(kind: string, storeName: string, req: PassthroughRequest): void {
  if (kind === 'influxdb') return
  const flag = req.flux === undefined ? '--influxql' : '--flux'
  throw new InputError(`${flag} needs an InfluxDB store; the configured store is ${storeName}`, {
    hint: 'set store.type: influxdb (and store.url) in the config, or query with a mon expression',
  })
}

export async function runPassthrough(store: FullStore, storeName: string, req: PassthroughRequest): Promise<RawQueryResult> {
  const flag = req.flux === undefined ? '--influxql' : '--flux'
  const text = (req.flux ?? req.influxql ?? '').trim()
  checkPassthroughStore(store.kind, storeName, req)

  if (text === '') throw new InputError(`${flag} needs a query`, {hint: req.flux === undefined ? `e.g. ${flag} 'SHOW MEASUREMENTS'` : `e.g. ${flag} 'buckets()'`})
  const influx = store as InfluxStore
  return req.flux === undefined ? influx.rawInfluxQL(text) : influx.flux(text)
}
