/**
 * Fixture data for `mon top` tests and the bench: a data dir with an embedded store holding the
 * last `minutes` of host metrics for two hosts, HTTP/TCP checks and a certificate, written through
 * the store, and firing alerts made by the real rule engine (state.db) at the same clock.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createRuleEngine} from '../../src/core/alerting/engine.js'
import {parseRuleText} from '../../src/core/alerting/rules.js'
import {ManualClock} from '../../src/core/clock.js'
import {openIncidentDb} from '../../src/core/incidents/index.js'
import type {Point} from '../../src/core/model/point.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Store} from '../../src/core/store/types.js'

export interface TopFixture {
  dir: string
  dataDir: string
  config: string
  /** the time the alerts were evaluated at (ms); samples run until now + aheadMs */
  now: number
}

export const FIXTURE_RULES = `groups:
  - name: host
    interval: 10s
    rules:
      - alert: HighMemory
        expr: max(mem.used_percent[1m]) by host > 80
        labels: {severity: critical}
        annotations: {summary: 'memory {{ $value }}% on {{ $labels.host }}'}
      - alert: DiskFilling
        expr: max(disk.used_percent[1m]) by (host, path) > 85
        labels: {severity: warning}
`

const STEP = 10_000

/** Counters that grow at `perSecond` per second from `start`. */
function counter(start: number, perSecond: number, i: number): bigint {
  return BigInt(Math.round(start + perSecond * (i * STEP) / 1000))
}

export function hostPoints(host: string, now: number, minutes: number, shape: {mem: number; cpuBusy: number; cores: number}): Point[] {
  const points: Point[] = []
  const n = Math.floor((minutes * 60_000) / STEP)
  for (let i = 0; i <= n; i++) {
    const ts = now - (n - i) * STEP
    const wave = Math.sin(i / 6)
    const tags = {host}
    for (let c = 0; c < shape.cores; c++) {
      const busy = Math.max(1, Math.min(99, shape.cpuBusy + 10 * c - 15 + 8 * wave))
      points.push({measurement: 'cpu', tags: {...tags, cpu: `cpu${c}`}, fields: {usage_idle: 100 - busy, usage_user: busy * 0.7, usage_system: busy * 0.3}, ts})
    }

    const total = Math.max(1, Math.min(99, shape.cpuBusy + 5 * wave))
    points.push({measurement: 'cpu', tags: {...tags, cpu: 'cpu-total'}, fields: {usage_idle: 100 - total, usage_user: total * 0.7, usage_system: total * 0.3}, ts})
    points.push({measurement: 'mem', tags, fields: {used_percent: shape.mem, total: 16n * 1024n ** 3n, used: BigInt(Math.round((shape.mem / 100) * 16 * 1024 ** 3))}, ts})
    points.push({measurement: 'swap', tags, fields: {used_percent: 3.5, total: 2n * 1024n ** 3n}, ts})
    points.push({measurement: 'system', tags, fields: {load1: 1.5 + wave, load5: 1.25, load15: 0.75, n_cpus: BigInt(shape.cores)}, ts})
    points.push({measurement: 'disk', tags: {...tags, path: '/', fstype: 'ext4'}, fields: {used_percent: 62.5, total: 100n * 1024n ** 3n}, ts})
    points.push({measurement: 'disk', tags: {...tags, path: '/var/lib/docker', fstype: 'ext4'}, fields: {used_percent: 91.2, total: 500n * 1024n ** 3n}, ts})
    points.push({measurement: 'net', tags: {...tags, interface: 'eth0'}, fields: {bytes_recv: counter(1e9, 1.5 * 1024 ** 2, i), bytes_sent: counter(5e8, 300 * 1024, i)}, ts})
    points.push({measurement: 'net', tags: {...tags, interface: 'lo'}, fields: {bytes_recv: counter(0, 50 * 1024 ** 2, i), bytes_sent: counter(0, 50 * 1024 ** 2, i)}, ts})
    points.push({measurement: 'diskio', tags: {...tags, name: 'sda'}, fields: {read_bytes: counter(1e8, 2 * 1024 ** 2, i), write_bytes: counter(1e8, 512 * 1024, i)}, ts})
  }

  return points
}

export function checkPoints(host: string, now: number, minutes: number): Point[] {
  const points: Point[] = []
  const n = Math.floor((minutes * 60_000) / 30_000)
  for (let i = 0; i <= n; i++) {
    const ts = now - (n - i) * 30_000
    const api = 'https://api.example.com/health'
    points.push({
      measurement: 'http_response',
      tags: {host, method: 'GET', result: 'success', server: api, status_code: '200'},
      fields: {http_response_code: 200n, response_time: 0.0412, result_code: 0n, result_type: 'success', response_status_code_match: 1n},
      ts,
    })
    points.push({measurement: 'x509_cert', tags: {host, source: api, common_name: 'api.example.com', verification: 'valid'}, fields: {days_left: 9.5, expiry: 820_800n}, ts})
    const shop = 'http://shop.internal:8080/'
    points.push({
      measurement: 'http_response',
      tags: {host, method: 'GET', result: 'connection_failed', server: shop},
      fields: {result_code: 3n, result_type: 'connection_failed'},
      ts,
    })
    points.push({measurement: 'net_response', tags: {host, server: '10.0.0.5', port: '6379', protocol: 'tcp', result: 'success'}, fields: {response_time: 0.0008, result_code: 0n, result_type: 'success'}, ts})
  }

  return points
}

/**
 * Writes the fixture into `dir` (config at dir/mon.yaml, state in dir/data) and fires the alerts.
 * Metrics go to the embedded store in dir/data, or to `opts.store` (then `opts.storeConfig` is the
 * config's `store:` section).
 */
export async function writeTopFixture(
  dir: string,
  opts: {now?: number; minutes?: number; aheadMs?: number; host?: string; store?: Store; storeConfig?: string} = {},
): Promise<TopFixture> {
  const now = opts.now ?? Date.now()
  const minutes = opts.minutes ?? 20
  // samples also `aheadMs` past now, as if a collector kept writing while the test runs: the last
  // complete chart bucket then always holds all its samples, however long the test takes
  const ahead = opts.aheadMs ?? 0
  const until = now + ahead
  const span = minutes + ahead / 60_000
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir, {recursive: true})
  const config = join(dir, 'mon.yaml')
  writeFileSync(config, `host: ${opts.host ?? 'web-01'}\ndata_dir: ${JSON.stringify(dataDir)}\n${opts.storeConfig ?? ''}`)
  const clock = new ManualClock(now)
  const store = opts.store ?? new SqliteStore({path: join(dataDir, 'mon.db'), clock, autoCompactEvery: 0})
  await store.write([
    ...hostPoints('web-01', until, span, {mem: 87.3, cpuBusy: 35, cores: 4}),
    ...hostPoints('db-01', until, span, {mem: 41, cpuBusy: 12, cores: 2}),
    ...checkPoints('web-01', until, span),
  ])
  const parsed = parseRuleText(FIXTURE_RULES, 'fixture-rules.yaml')
  if (parsed.problems.length > 0) throw new Error(`fixture rules: ${JSON.stringify(parsed.problems)}`)
  const stateDb = openIncidentDb(dataDir)
  const engine = createRuleEngine({groups: parsed.groups, store, stateDb, clock, writeSeries: false})
  await engine.evaluateAll(now)
  const firing = engine.activeAlerts().filter((a) => a.state === 'firing')
  if (firing.length < 2) throw new Error(`fixture: expected 2 firing alerts, got ${engine.activeAlerts().map((a) => `${a.labels.alertname}:${a.state}`).join(', ') || 'none'}`)
  stateDb.close()
  if (!opts.store) await store.close()
  return {dir, dataDir, config, now}
}
