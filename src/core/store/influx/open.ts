import {UserError} from '../../errors.js'
import type {Clock} from '../../clock.js'
import type {FullStore} from '../types.js'

export async function openInfluxStore(cfg: {url: string}, _opts: {clock?: Clock}): Promise<FullStore> {
  throw new UserError(`the InfluxDB backend (${cfg.url}) is not available in this build yet`, {hint: 'use the embedded store (store.type: sqlite)'})
}
