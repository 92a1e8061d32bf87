/**
 * `mon query --promql '…'`: PromQL sent as written to a Prometheus or VictoriaMetrics store (an
 * instant query at now or --at), the server's answer as series. Kept apart from store.ts so that
 * `mon query` on other stores does not load it.
 */
import {InputError} from '../../errors.js'
import type {FullStore} from '../types.js'
import type {PromApiStore, PromRawResult} from './store.js'

export type {PromRawResult}

/** `kind`: the configured store type; raw PromQL needs a store that speaks the Prometheus API. */
export function checkPromQLStore(kind: string, storeName: string): void {
  if (kind === 'prometheus' || kind === 'victoriametrics') return
  throw new InputError(`--promql needs a Prometheus or VictoriaMetrics store; the configured store is ${storeName}`, {
    hint: `set store.type: prometheus or victoriametrics (and store.url), or query with a mon expression (it is PromQL over mon's names)${kind === 'influxdb' ? ', or --influxql' : ''}`,
  })
}

export async function runPromQLPassthrough(store: FullStore, storeName: string, text: string, time: number): Promise<PromRawResult> {
  checkPromQLStore(store.kind, storeName)
  if (text.trim() === '') throw new InputError('--promql needs a query', {hint: "e.g. --promql 'up'"})
  return (store as unknown as PromApiStore).rawPromQL(text, time)
}
