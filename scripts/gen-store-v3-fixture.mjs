#!/usr/bin/env node
/**
 * Writes test/fixtures/store-v3/mon.db and answers.json: an embedded store as written by the chunk
 * codec version 3 (raw) / 4 (rollups), and the answers that version gave to a list of queries.
 * test/integration/store-format-compat.test.ts opens the file with today's code and checks every
 * answer, so a codec change can never make old stores unreadable.
 *
 * It was run ONCE, on commit 2c9d8f8 (before the codec version 5 change), after `npm run build`:
 *   node scripts/gen-store-v3-fixture.mjs
 * Running it again on a newer commit would write the newer format: do not, unless making a new
 * fixture directory for a newer version.
 */
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {SqliteStore} from '../dist/src/core/store/sqlite/store.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(root, 'test', 'fixtures', 'store-v3')
const path = join(dir, 'mon.db')
mkdirSync(dir, {recursive: true})
for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, {force: true})

const T0 = 1_700_000_000_000
const STEP = 240_000
const DAYS = 3
const N = (DAYS * 86_400_000) / STEP
const NOW = T0 + DAYS * 86_400_000
const RETENTION = {raw: '2d', '1m': '30d', '1h': '1y'}
let clockNow = T0
const clock = {now: () => clockNow}

let seed = 12345
function rnd() {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
}

const hosts = ['a', 'b', 'c']
const state = hosts.map(() => ({gauge: 40, used: 2 ** 33, counter: 1_000_000, disk: 12.5}))
const weird = [0, -0, 5e-324, -5e-324, 2 ** 53, -(2 ** 53), 2 ** 53 - 1, 1.7976931348623157e308, -1.7976931348623157e308, 0.1, 1 / 3, 1e-300, 123456.789]
function pointsAt(i) {
  const ts = T0 + i * STEP
  const out = []
  hosts.forEach((host, h) => {
    const st = state[h]
    st.gauge = Math.min(100, Math.max(0, st.gauge + (rnd() - 0.5) * 6))
    st.used = Math.max(0, st.used + Math.floor((rnd() - 0.5) * 80_000_000))
    st.counter += Math.floor(rnd() * 50_000)
    if (i % 97 === 0) st.disk = Math.round((st.disk + 0.01) * 100) / 100
    out.push({
      measurement: 'cpu',
      tags: {host, cpu: 'cpu-total'},
      fields: {usage_user: Math.round(st.gauge * 100) / 100, usage_idle: 100 - st.gauge},
      ts,
    })
    out.push({
      measurement: 'mem',
      tags: {host},
      fields: {used_percent: (st.used / 2 ** 34) * 100, used: BigInt(st.used), weird: weird[(i + h) % weird.length], ok: st.gauge < 70},
      ts,
    })
    out.push({measurement: 'net', tags: {host, interface: 'eth0'}, fields: {bytes_recv: BigInt(st.counter)}, ts})
    out.push({measurement: 'disk', tags: {host, path: '/'}, fields: {used_percent: st.disk, mode: i % 500 < 250 ? 'rw' : 'ro'}, ts})
  })
  return out
}

const store = new SqliteStore({path, clock, retention: RETENTION, autoCompactEvery: 0})
// days 1–2.5: big batches (compressed chunks straight away), compacted, rolled up, raw pruned
let i = 0
const mid = (2.5 * 86_400_000) / STEP
for (; i < mid; ) {
  const batch = []
  for (const end = Math.min(mid, i + 150); i < end; i++) batch.push(...pointsAt(i))
  clockNow = T0 + i * STEP
  store.writeSync(batch)
}

store.maintainSync(clockNow)

// then small batches: plain (uncompressed) chunks of 12 points that no compaction has merged yet
for (; i < N - 40; ) {
  const batch = []
  for (const end = Math.min(N - 40, i + 12); i < end; i++) batch.push(...pointsAt(i))
  clockNow = T0 + i * STEP
  store.writeSync(batch)
}

// the last points: a few at a time, so they stay head rows
for (; i < N; ) {
  const batch = []
  for (const end = Math.min(N, i + 3); i < end; i++) batch.push(...pointsAt(i))
  store.writeSync(batch)
}

clockNow = NOW
const H = 3_600_000
const queries = []
const fields = {cpu: ['usage_user', 'usage_idle'], mem: ['used_percent', 'used', 'weird', 'ok'], net: ['bytes_recv'], disk: ['used_percent', 'mode']}
for (const [measurement, names] of Object.entries(fields)) {
  for (const field of names) {
    // every raw point still kept
    queries.push({measurement, field, matchers: [], start: NOW - 8 * H, end: NOW + H})
    const numeric = !['mode', 'ok'].includes(field)
    if (!numeric) {
      queries.push({measurement, field, matchers: [], start: T0 - H, end: NOW + H, aggregate: {fn: 'count', by: ['host']}, every: 6 * H})
      continue
    }

    // the whole range: the pruned first day answered by the rollups
    for (const fn of ['mean', 'min', 'max', 'count', 'first', 'last', 'sum', 'spread']) {
      queries.push({measurement, field, matchers: [], start: T0, end: NOW + H, every: 6 * H, aggregate: {fn, by: ['host']}})
    }

    queries.push({measurement, field, matchers: [{name: 'host', op: '=', value: 'b'}], start: NOW - 20 * H, end: NOW, every: 10 * 60_000, aggregate: {fn: 'mean', by: []}})
    queries.push({measurement, field, matchers: [], start: NOW - 30 * H + 12_345, end: NOW - 7_777, aggregate: {fn: 'percentile', param: 90, by: ['host']}})
    queries.push({measurement, field, matchers: [], start: NOW - 30 * H, end: NOW, aggregate: {fn: 'stddev', by: []}})
  }
}

const answers = queries.map((q) => ({query: q, frames: store.querySync(q)}))
await store.close()
for (const f of [`${path}-wal`, `${path}-shm`]) rmSync(f, {force: true})
writeFileSync(
  join(dir, 'answers.json'),
  `${JSON.stringify({written: 'codec version 3 (raw chunks), 4 (rollups), at commit 2c9d8f8', now: NOW, retention: RETENTION, answers}, null, 0)}\n`,
)
console.log(`wrote ${path} and answers.json (${answers.length} queries)`)
