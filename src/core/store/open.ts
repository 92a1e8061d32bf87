import {join} from 'node:path'
import type {Clock} from '../clock.js'
import {SqliteStore} from './sqlite/store.js'
import {ReadOnlyStoreError, type FullStore} from './types.js'

import type {StoreConfig} from '../config/schema.js'

export interface OpenStoreOptions {
  dataDir: string
  clock?: Clock
  /** readers that must not create a database (mon query on a fresh machine) */
  readonly?: boolean
  /** retention tiers (config `retention`) */
  retention?: Readonly<Record<string, string>>
  /** embedded store: SQLite page cache in KiB (default 32000) */
  cacheKiB?: number
  /** embedded store: bulk writes in a thread of their own (sqlite/write-thread.ts; the daemon) */
  writeThread?: boolean
}

export function embeddedStorePath(cfg: StoreConfig, dataDir: string): string {
  return cfg.type === 'sqlite' && cfg.path ? cfg.path : join(dataDir, 'mon.db')
}

/** Opens the configured backend; one line per backend in this switch is the registry. */
export async function openStore(cfg: StoreConfig, opts: OpenStoreOptions): Promise<FullStore> {
  switch (cfg.type) {
    case 'sqlite':
      return new SqliteStore({path: embeddedStorePath(cfg, opts.dataDir), clock: opts.clock, readonly: opts.readonly, retention: opts.retention, cacheKiB: opts.cacheKiB, writeThread: opts.writeThread})
    case 'influxdb': {
      const {openInfluxStore} = await import('./influx/open.js')
      return openInfluxStore(cfg, {clock: opts.clock, retention: opts.retention})
    }

    case 'victoriametrics': {
      const {VictoriaMetricsStore} = await import('./prom/store.js')
      return new VictoriaMetricsStore(cfg, {clock: opts.clock})
    }

    case 'prometheus': {
      const {PrometheusStore} = await import('./prom/store.js')
      return new PrometheusStore(cfg, {clock: opts.clock})
    }
  }
}

/** How a store is named in messages: `sqlite:/path/mon.db`, `influxdb:http://host:8086/db`, `prometheus:http://host:9090`. */
export function describeStore(cfg: StoreConfig, dataDir: string): string {
  if (cfg.type === 'sqlite') return `sqlite:${embeddedStorePath(cfg, dataDir)}`
  if (cfg.type === 'victoriametrics') return `victoriametrics:${cfg.url}${cfg.tenant === undefined ? '' : ` (tenant ${cfg.tenant})`}`
  if (cfg.type === 'prometheus') return `prometheus:${cfg.url}`
  const db = cfg.bucket ?? cfg.database
  return `influxdb:${cfg.url}${db ? `/${db}` : ''}`
}

/**
 * Refuses a command that writes (`mon write`, `mon collect`, retention, `store import`) on a
 * read-only store, from the config alone: one clear message naming the store type, exit 2.
 */
export function requireWritableStore(cfg: StoreConfig, what: string): void {
  if (cfg.type === 'prometheus') throw new ReadOnlyStoreError('prometheus', cfg.url, what)
}
