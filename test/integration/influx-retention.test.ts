/**
 * Retention tiers on InfluxDB (issue 10), against a real influxd 1.6:
 * - `mon store retention apply` (the real binary): --dry-run changes nothing, apply creates the
 *   rollup retention policies, backfills them from raw points, creates the continuous queries and
 *   shortens the raw RP; a second apply is "already up to date";
 * - the rollups equal the aggregates computed here from the raw points;
 * - queries over ranges the raw RP no longer holds are answered from mon_1m / mon_1h with the
 *   embedded store's numbers for the same points (differential), and say so in explain;
 * - archive (influxd) → import (embedded store) → archive → import (a fresh influxd database):
 *   identical points;
 * - InfluxDB 2.x: the bucket requests and mon's downsampling, through a loopback server that
 *   answers the 2.x REST API (/api/v2/buckets, /api/v2/orgs, /api/v2/write) and passes the
 *   v1-compatible /query and the writes on to the same real influxd (no 2.x server can be
 *   installed here; see docs/influxdb.md).
 *
 * The points lie in the last ten days before the real clock (influxd refuses points older than an
 * RP's duration); "later" is simulated with the stores' injected clocks.
 */
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import {InputError} from '../../src/core/errors.js'
import {UInt, type FieldValue, type Point} from '../../src/core/model/point.js'
import {bucketStart} from '../../src/core/model/aggregate.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {planV1Retention, continuousQuery, rollupSelect, type V1RetentionState} from '../../src/core/store/influx/retention.js'
import {DEFAULT_POLICY, retentionPolicy} from '../../src/core/store/retention.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {AggFn, Frame, QueryPlan} from '../../src/core/store/types.js'
import {runMon} from '../helpers/cli.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const NOW = Date.now()
const T_START = bucketStart(NOW - 10 * DAY, HOUR)

function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0
    return s / 2 ** 32
  }
}

/**
 * cpu: hosts a, b, c (regions eu, us, eu), a point every 40 s with its own offset: usage (float),
 * ticks (integer counter, c's reset halfway), up (boolean). mem: hosts a, b every 60 s: used
 * (integer), state (string with quotes and a newline now and then). Plus a few recent points whose
 * names need every line-protocol escape (for the archive round trip).
 */
function fixture(): Point[] {
  const rnd = lcg(10)
  const points: Point[] = []
  const cpu = [
    {tags: {host: 'a', region: 'eu'}, offset: 0},
    {tags: {host: 'b', region: 'us'}, offset: 11_000},
    {tags: {host: 'c', region: 'eu'}, offset: 23_000},
  ]
  for (const s of cpu) {
    let ticks = 1000n
    for (let t = T_START + s.offset, i = 0; t < NOW - 5000; t += 40_000, i++) {
      ticks += BigInt(Math.floor(rnd() * 500))
      if (s.tags.host === 'c' && t >= T_START + 5 * DAY && t < T_START + 5 * DAY + 40_000) ticks = 3n
      points.push({measurement: 'cpu', tags: s.tags, fields: {usage: Math.round(rnd() * 10_000) / 100 + (s.tags.host === 'a' ? 20 : 0), ticks, up: rnd() > 0.1}, ts: t})
    }
  }

  for (const host of ['a', 'b']) {
    for (let t = T_START + (host === 'a' ? 5000 : 35_000), i = 0; t < NOW - 5000; t += MIN, i++) {
      points.push({measurement: 'mem', tags: {host}, fields: {used: BigInt(Math.floor(rnd() * 1e9)), state: i % 97 === 0 ? 'said "hi"\nand \\ left' : 'ok'}, ts: t})
    }
  }

  for (let i = 0; i < 5; i++) {
    points.push({
      measurement: 'odd meas,ure',
      tags: {'k ey=': 'v,a l=ue', path: 'C:\\temp\\x'},
      fields: {'f=ld': `line ${i}\nnext "quoted"`, 'n,um': BigInt(-i), 'fl oat': i / 3, b: i % 2 === 0},
      ts: NOW - HOUR + i * 1000,
    })
  }

  return points
}

const POINTS = fixture()

// ------------------------------------------------------------------------------------------ helpers

/** The rollup fields of every (series, bucket) computed from the raw points, as the CQ should write them. */
function expectedRollups(points: Point[], res: number, before = Number.POSITIVE_INFINITY): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>()
  for (const p of [...points].sort((a, b) => a.ts - b.ts)) {
    const b = bucketStart(p.ts, res)
    if (b + res > before) continue
    const key = `${p.measurement}|${JSON.stringify(Object.entries(p.tags).sort())}|${b}`
    let r = out.get(key)
    if (!r) out.set(key, (r = {}))
    for (const [f, raw] of Object.entries(p.fields)) {
      const v: number | string | boolean = typeof raw === 'bigint' ? Number(raw) : raw instanceof UInt ? Number(raw.value) : raw
      r[`count_${f}`] = ((r[`count_${f}`] as number) ?? 0) + 1
      if (!(`first_${f}` in r)) r[`first_${f}`] = v
      r[`last_${f}`] = v
      if (typeof v === 'string') continue
      // InfluxDB keeps min/max of booleans, sums only numbers
      if (typeof v === 'number') r[`sum_${f}`] = ((r[`sum_${f}`] as number) ?? 0) + v
      const lo = r[`min_${f}`] as number | boolean | undefined
      const hi = r[`max_${f}`] as number | boolean | undefined
      if (lo === undefined || v < lo) r[`min_${f}`] = v
      if (hi === undefined || v > hi) r[`max_${f}`] = v
    }
  }

  return out
}

/** Every row of a rollup tier, keyed like {@link expectedRollups}. */
async function readRollups(store: InfluxStore, measurements: string[], from: {rp?: string; db?: string}): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>()
  for (const m of measurements) {
    const target = from.rp ? `"${from.rp}"."${m.replaceAll('"', '\\"')}"` : `"${m.replaceAll('"', '\\"')}"`
    const [r] = await store.influxql(`SELECT * FROM ${target} GROUP BY *`, {epoch: 'ms', db: from.db})
    for (const s of r?.series ?? []) {
      const tags = Object.entries(s.tags ?? {}).filter(([, v]) => v !== '').sort()
      for (const v of s.values ?? []) {
        const row: Record<string, unknown> = {}
        s.columns.forEach((c, i) => i > 0 && v[i] !== null && (row[c] = v[i]))
        out.set(`${m}|${JSON.stringify(tags)}|${v[0]}`, row)
      }
    }
  }

  return out
}

function assertRollupsEqual(actual: Map<string, Record<string, unknown>>, expected: Map<string, Record<string, unknown>>, label: string): void {
  assert.equal(actual.size, expected.size, `${label}: ${actual.size} rollup rows, expected ${expected.size}`)
  for (const [key, want] of expected) {
    const got = actual.get(key)
    if (!got) assert.fail(`${label}: no rollup row ${key}`)
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${label}: fields of ${key}`)
    for (const [f, w] of Object.entries(want)) {
      const g: unknown = got[f]
      if (typeof w === 'number' && f.startsWith('sum_')) assert.ok(Math.abs((g as number) - w) <= 1e-9 * Math.max(1, Math.abs(w)), `${label}: ${key} ${f} = ${g}, expected ${w}`)
      else assert.equal(g, w, `${label}: ${key} ${f}`)
    }
  }
}

function assertFramesClose(actual: Frame[], expected: Frame[], label: string): void {
  assert.ok(expected.length > 0, `${label}: the embedded store found nothing (bad fixture)`)
  assert.deepEqual(
    actual.map((f) => [f.name, f.tags, f.columns, f.rows.length]),
    expected.map((f) => [f.name, f.tags, f.columns, f.rows.length]),
    `${label}: frames`,
  )
  for (let i = 0; i < expected.length; i++) {
    for (let j = 0; j < expected[i].rows.length; j++) {
      const [ta, va] = actual[i].rows[j]
      const [te, ve] = expected[i].rows[j]
      assert.equal(ta, te, `${label}: time of row ${j} of ${JSON.stringify(expected[i].tags)}`)
      if (typeof ve === 'number' && typeof va === 'number') {
        assert.ok(Math.abs(va - ve) <= 1e-9 * Math.max(1, Math.abs(ve)), `${label}: row ${j} of ${JSON.stringify(expected[i].tags)}: ${va}, expected ${ve}`)
      } else {
        assert.equal(va, ve, `${label}: row ${j} of ${JSON.stringify(expected[i].tags)}`)
      }
    }
  }
}

/** The plans compared between the stores: every function a rollup answers, by host (no ties for first/last), by region and overall. */
function plans(start: number, end: number, every: number[]): Array<{label: string; plan: QueryPlan}> {
  const out: Array<{label: string; plan: QueryPlan}> = []
  const fns: AggFn[] = ['mean', 'sum', 'count', 'min', 'max', 'spread', 'first', 'last']
  for (const e of [undefined, ...every]) {
    for (const fn of fns) {
      for (const field of ['usage', 'ticks']) {
        out.push({label: `${fn}(cpu.${field}) by host every ${e}`, plan: {measurement: 'cpu', field, matchers: [], start, end, every: e, aggregate: {fn, by: ['host']}}})
      }

      // several series per group: first/last would tie on the bucket time (see docs/influxdb.md)
      if (fn !== 'first' && fn !== 'last') {
        out.push({label: `${fn}(cpu.usage) by region every ${e}`, plan: {measurement: 'cpu', field: 'usage', matchers: [], start, end, every: e, aggregate: {fn, by: ['region']}}})
        out.push({label: `${fn}(cpu.usage{host!="b"}) every ${e}`, plan: {measurement: 'cpu', field: 'usage', matchers: [{name: 'host', op: '!=', value: 'b'}], start, end, every: e, aggregate: {fn, by: []}}})
        out.push({label: `${fn}(mem.used) every ${e}`, plan: {measurement: 'mem', field: 'used', matchers: [], start, end, every: e, aggregate: {fn, by: []}}})
      }
    }
  }

  const e = every[0]
  out.push({label: `rate(cpu.ticks) every ${e}`, plan: {measurement: 'cpu', field: 'ticks', matchers: [], start, end, every: e, transform: 'rate'}})
  out.push({label: `sum(rate(cpu.ticks)) by region every ${e}`, plan: {measurement: 'cpu', field: 'ticks', matchers: [], start, end, every: e, transform: 'rate', aggregate: {fn: 'sum', by: ['region']}}})
  out.push({label: `max(derivative(cpu.ticks{host=~"a|c"}))`, plan: {measurement: 'cpu', field: 'ticks', matchers: [{name: 'host', op: '=~', value: 'a|c'}], start, end, every: e, transform: 'derivative', aggregate: {fn: 'max', by: []}}})
  return out
}

async function embeddedStore(dir: string, name: string, now: number): Promise<SqliteStore> {
  const s = new SqliteStore({path: join(dir, `${name}.db`), clock: new ManualClock(now), retention: DEFAULT_POLICY, autoCompactEvery: 0})
  await s.write(POINTS)
  await s.maintain(now)
  return s
}

function normalize(points: Point[]): string[] {
  const v = (x: FieldValue) => (x instanceof UInt ? `u${x.value}` : typeof x === 'bigint' ? `i${x}` : JSON.stringify(x))
  return points
    .map((p) => `${p.measurement}|${JSON.stringify(Object.entries(p.tags).sort())}|${p.ts}|${Object.keys(p.fields).sort().map((k) => `${k}=${v(p.fields[k])}`).join(',')}`)
    .sort()
}

async function scanAll(store: {scan?: (s: number, e: number) => AsyncIterable<Point[]>}): Promise<Point[]> {
  const out: Point[] = []
  for await (const b of store.scan!(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) out.push(...b)
  return out
}

// ------------------------------------------------------------------------------------------ 1.x

describe('retention tiers on InfluxDB 1.x (real influxd)', () => {
  let influxd: RunningServer
  const tmp = tempDir('mon-influx-retention-')
  const config = join(tmp.dir, 'mon.yaml')
  const env = {MON_DATA_DIR: join(tmp.dir, 'data')}
  const mon = (...args: string[]) => runMon([...args, '--config', config], {env})
  const stores: Array<{close(): Promise<void>}> = []
  const influx = (database: string, now?: number) => {
    const s = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database}), {clock: now === undefined ? undefined : new ManualClock(now), retention: DEFAULT_POLICY})
    stores.push(s)
    return s
  }

  before(async () => {
    influxd = await startInfluxd()
    writeFileSync(config, `store:\n  type: influxdb\n  url: ${influxd.url}\n  database: mon\n`)
    const s = influx('mon')
    // hour-long shard groups, so that "InfluxDB expired the raw points past 7 days" can be played
    // below by dropping whole shard groups, as InfluxDB's retention service does
    await s.influxql('CREATE DATABASE "mon" WITH SHARD DURATION 1h')
    await s.write(POINTS)
  })

  after(async () => {
    for (const s of stores) await s.close()
    await influxd?.destroy()
    tmp.cleanup()
  })

  it('retention apply: --dry-run changes nothing; apply creates RPs, backfills, CQs, then shortens raw; again: up to date', async () => {
    const s = influx('mon')
    const state = async () => {
      const [rps] = await s.influxql('SHOW RETENTION POLICIES ON "mon"')
      const [cqs] = await s.influxql('SHOW CONTINUOUS QUERIES')
      return {
        rps: (rps.series?.[0]?.values ?? []).map((v) => `${v[0]} ${v[1]}`).sort(),
        cqs: (cqs.series ?? []).filter((x) => x.name === 'mon').flatMap((x) => (x.values ?? []).map((v) => String(v[0]))),
      }
    }

    const before = await state()
    assert.deepEqual(before, {rps: ['autogen 0s'], cqs: []})

    const dry = await mon('store', 'retention', 'apply', '--dry-run', '--json')
    assert.equal(dry.code, 0, dry.stderr)
    const planned = JSON.parse(dry.stdout) as {dryRun: boolean; changes: string[]}
    assert.equal(planned.dryRun, true)
    const changes = planned.changes
    assert.equal(changes[0], 'CREATE RETENTION POLICY "mon_1m" ON "mon" DURATION 30d REPLICATION 1 SHARD DURATION 1d')
    assert.equal(changes[1], 'CREATE RETENTION POLICY "mon_1h" ON "mon" DURATION 365d REPLICATION 1 SHARD DURATION 1w')
    assert.ok(changes.some((c) => /^SELECT count\(\*\), sum\(\*\), min\(\*\), max\(\*\), first\(\*\), last\(\*\) INTO "mon"\."mon_1m"\.:MEASUREMENT FROM "mon"\."autogen"\.\/\.\*\/ WHERE time >= \d+ms AND time < \d+ms GROUP BY time\(1m\), \*$/.test(c)), 'a 1m backfill')
    assert.ok(changes.includes(continuousQuery('mon', 'autogen', retentionPolicy()[1])))
    assert.ok(changes.includes(continuousQuery('mon', 'autogen', retentionPolicy()[2])))
    assert.equal(changes.at(-1), 'ALTER RETENTION POLICY "autogen" ON "mon" DURATION 1w SHARD DURATION 1d', 'raw is shortened last')
    assert.deepEqual(await state(), before, '--dry-run changed the server')

    const human = await mon('store', 'retention', 'apply', '--dry-run')
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /would run:\n {2}CREATE RETENTION POLICY "mon_1m"/)

    const applied = await mon('store', 'retention', 'apply', '--json')
    assert.equal(applied.code, 0, applied.stderr)
    const ran = (JSON.parse(applied.stdout) as {changes: string[]}).changes
    assert.deepEqual(
      ran.filter((c) => !c.startsWith('SELECT')),
      changes.filter((c) => !c.startsWith('SELECT')),
    )
    assert.deepEqual(await state(), {rps: ['autogen 168h0m0s', 'mon_1h 8760h0m0s', 'mon_1m 720h0m0s'], cqs: ['mon_1m', 'mon_1h']})

    const again = await mon('store', 'retention', 'apply')
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /already up to date/)
    const againJson = await mon('store', 'retention', 'apply', '--json')
    assert.deepEqual(JSON.parse(againJson.stdout).changes, [])
  })

  it('the rollups equal the aggregates computed from the raw points', async () => {
    const s = influx('mon')
    const measurements = ['cpu', 'mem', 'odd meas,ure']
    assertRollupsEqual(await readRollups(s, measurements, {rp: 'mon_1m'}), expectedRollups(POINTS, MIN), 'mon_1m')
    assertRollupsEqual(await readRollups(s, measurements, {rp: 'mon_1h'}), expectedRollups(POINTS, HOUR), 'mon_1h')
  })

  it('archive → import round trip: influxd → embedded store → a fresh influxd database, identical', async () => {
    const file = join(tmp.dir, 'influx.lp.gz')
    const a = await mon('store', 'archive', '--before', new Date(NOW + MIN).toISOString(), '--to', file, '--json')
    assert.equal(a.code, 0, a.stderr)
    assert.equal(JSON.parse(a.stdout).points, POINTS.length)

    const embedded = join(tmp.dir, 'imported')
    const i1 = await runMon(['store', 'import', file, '--json'], {env: {MON_DATA_DIR: embedded}})
    assert.equal(i1.code, 0, i1.stderr)
    const fromEmbedded = new SqliteStore({path: join(embedded, 'mon.db'), autoCompactEvery: 0})
    const embeddedPoints = await scanAll(fromEmbedded)
    await fromEmbedded.close()
    assert.deepEqual(normalize(embeddedPoints), normalize(POINTS))

    // back out of the embedded store, into a fresh influxd database
    const file2 = join(tmp.dir, 'embedded.lp.gz')
    const a2 = await runMon(['store', 'archive', '--before', new Date(NOW + MIN).toISOString(), '--to', file2], {env: {MON_DATA_DIR: embedded}})
    assert.equal(a2.code, 0, a2.stderr)
    const copyConfig = join(tmp.dir, 'copy.yaml')
    writeFileSync(copyConfig, `store:\n  type: influxdb\n  url: ${influxd.url}\n  database: mon_copy\n`)
    assert.equal((await runMon(['store', 'init', '--config', copyConfig], {env})).code, 0)
    const i2 = await runMon(['store', 'import', file2, '--config', copyConfig], {env})
    assert.equal(i2.code, 0, i2.stderr)
    assert.deepEqual(normalize(await scanAll(influx('mon_copy'))), normalize(POINTS))
  })

  it('over 10 days the 1m rollups (plus the raw points not rolled up yet) answer, with the embedded store\'s numbers', async () => {
    const s = influx('mon', NOW)
    // what InfluxDB's retention service does every 30 minutes: drop the raw RP's shard groups that
    // ended more than its 7 days ago (DELETE would hit every RP); older points are then only in the rollups
    const [shards] = await s.influxql('SHOW SHARDS')
    const expired = (shards.series?.find((x) => x.name === 'mon')?.values ?? []).filter((v) => v[2] === 'autogen' && Date.parse(String(v[5])) <= NOW - 7 * DAY)
    assert.ok(expired.length > 48, `only ${expired.length} shards to drop`)
    for (const v of expired) await s.influxql(`DROP SHARD ${v[0]}`)
    const [left] = await s.influxql(`SELECT count("usage") FROM "autogen"."cpu" WHERE time < ${bucketStart(NOW - 7 * DAY, HOUR)}ms`)
    assert.equal(left.series, undefined)
    const e = await embeddedStore(tmp.dir, 'now', NOW)
    stores.push(e)
    for (const {label, plan} of plans(T_START, NOW, [HOUR, 15 * MIN])) {
      assert.equal(e.tierFor(plan).tier.name, '1m', label)
      assertFramesClose(await s.query(plan), await e.query(plan), label)
      assert.match(s.explain(plan), /^tier: {5}1m rollups in retention policy "mon_1m"/m, label)
    }

    const explain = s.explain(plans(T_START, NOW, [HOUR])[0].plan)
    assert.match(explain, /^influxql: SELECT sum\("count_usage"::field\) AS "n", sum\("sum_usage"::field\) AS "s" FROM "mon_1m"\."cpu" WHERE time >= \d+ms AND time < \d+ms GROUP BY "host"$/m)
    assert.match(explain, /^influxql: SELECT count\("usage"::field\) AS "n", sum\("usage"::field\) AS "s" FROM "cpu" WHERE/m)
    assert.match(explain, /^tier: {5}1m rollups in retention policy "mon_1m" over \[/m)
  })

  it('backfilled points (mon write of points 1h–2d old, below the CQs\' watermark) count at once in a query over 10 days (issue 16 item 2)', async () => {
    const s = influx('mon', NOW)
    // a measurement of its own, so that the other tests' numbers stay those of POINTS
    const backfill: Point[] = [2 * DAY, 30 * HOUR, HOUR].map((age, i) => ({measurement: 'backfilled', tags: {host: 'late'}, fields: {v: i + 1}, ts: NOW - age}))
    await s.write(backfill)
    const plan: QueryPlan = {measurement: 'backfilled', field: 'v', matchers: [], start: T_START, end: NOW, aggregate: {fn: 'count', by: []}}
    assert.match(s.explain(plan), /^tier: {5}1m rollups in retention policy "mon_1m"/m)
    const values = (frames: Frame[]) => frames.flatMap((f) => f.rows.map((r) => Number(r[1])))
    assert.deepEqual(values(await s.query(plan)), [3])
    const perDay = values(await s.query({...plan, aggregate: {fn: 'sum', by: []}, every: DAY}))
    assert.equal(perDay.reduce((a, b) => a + b, 0), 6, `per day: ${perDay.join(', ')}`)
  })

  it('25 days later the 1h rollups answer, with the same numbers', async () => {
    const later = NOW + 25 * DAY
    const s = influx('mon', later)
    const e = await embeddedStore(tmp.dir, 'later', later)
    stores.push(e)
    for (const {label, plan} of plans(T_START, NOW, [HOUR, DAY])) {
      assert.equal(e.tierFor(plan).tier.name, '1h', label)
      assertFramesClose(await s.query(plan), await e.query(plan), label)
      assert.match(s.explain(plan), /^tier: {5}1h rollups in retention policy "mon_1h"/m, label)
    }

    assert.match(s.explain(plans(T_START, NOW, [DAY])[0].plan), /tier: {5}1h rollups in retention policy "mon_1h"/)
  })

  it('functions rollups cannot answer are refused beyond the raw retention, as on the embedded store', async () => {
    const s = influx('mon', NOW)
    const plan: QueryPlan = {measurement: 'cpu', field: 'usage', matchers: [], start: T_START, end: NOW, aggregate: {fn: 'percentile', param: 95, by: []}}
    await assert.rejects(s.query(plan), (err: Error) => err instanceof InputError && /percentile\(\) over this range needs raw data, which is kept for 7d/.test(err.message))
    await assert.rejects(s.query({...plan, aggregate: undefined}), /raw points over this range needs raw data/)
    // a recent range still reads raw points
    const recent = await s.query({...plan, start: NOW - DAY})
    assert.equal(recent.length, 1)
  })

  it('mon query --explain says the 1m rollups answered', async () => {
    const r = await mon('query', 'mean(cpu.usage) by host', '--since', '9d', '--every', '6h', '--explain', '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /tier: {5}1m rollups in retention policy "mon_1m"/)
    assert.match(r.stderr, /mean = Σsum \/ Σcount/)
    const result = JSON.parse(r.stdout) as {series: Array<{tags: Record<string, string>; values: unknown[][]}>}
    assert.deepEqual(result.series.map((x) => x.tags.host), ['a', 'b', 'c'])
  })

  it('scan reads integers past 2^53 exactly', async () => {
    const s = influx('bigint')
    await s.init()
    const big: Point[] = [
      {measurement: 'c', tags: {k: 'v'}, fields: {n: 2n ** 62n + 1n, m: -(2n ** 60n) - 3n, f: 0.1}, ts: NOW - 2000},
      {measurement: 'c', tags: {k: 'v'}, fields: {n: 9_007_199_254_740_993n}, ts: NOW - 1000},
    ]
    await s.write(big)
    assert.deepEqual(normalize(await scanAll(s)), normalize(big))
  })
})

// ------------------------------------------------------------------------------------------ plans (no server)

describe('planV1Retention', () => {
  const now = Date.UTC(2026, 10, 25, 12, 30)
  const base: V1RetentionState = {
    database: 'mon',
    rawRp: 'autogen',
    rps: [
      {name: 'autogen', duration: 7 * DAY, shardGroupDuration: DAY, isDefault: true},
      {name: 'mon_1m', duration: 30 * DAY, shardGroupDuration: DAY, isDefault: false},
      {name: 'mon_1h', duration: 365 * DAY, shardGroupDuration: 7 * DAY, isDefault: false},
    ],
    cqs: [
      // as InfluxDB prints them back: identifiers unquoted
      {name: 'mon_1m', query: continuousQuery('mon', 'autogen', retentionPolicy()[1]).replaceAll('"', '')},
      {name: 'mon_1h', query: continuousQuery('mon', 'autogen', retentionPolicy()[2]).replaceAll('"', '')},
    ],
  }

  it('a database that matches needs nothing', () => {
    assert.deepEqual(planV1Retention(retentionPolicy(), base, now), [])
  })

  it('a removed tier loses its CQ but keeps its RP; a changed one is altered; CQs are dropped and created again', () => {
    const policy = retentionPolicy({raw: '3d', '1m': '14d'})
    assert.deepEqual(planV1Retention(policy, {...base, cqs: [{name: 'mon_1m', query: 'CREATE CONTINUOUS QUERY mon_1m ON mon BEGIN SELECT mean(*) INTO x FROM y GROUP BY time(1m) END'}, base.cqs[1]]}, now), [
      'ALTER RETENTION POLICY "mon_1m" ON "mon" DURATION 2w SHARD DURATION 1d',
      'DROP CONTINUOUS QUERY "mon_1m" ON "mon"',
      continuousQuery('mon', 'autogen', policy[1]),
      'DROP CONTINUOUS QUERY "mon_1h" ON "mon"',
      'ALTER RETENTION POLICY "autogen" ON "mon" DURATION 3d SHARD DURATION 1d',
    ])
  })

  it('a new tier is backfilled over the raw shard groups it can keep, a day of buckets at a time', () => {
    const policy = retentionPolicy({raw: '7d', '1m': '30d', '5m': '90d'})
    const groups = [
      {retentionPolicy: 'autogen', start: now - 3 * DAY - 12 * HOUR, end: now - 2 * DAY - 12 * HOUR},
      {retentionPolicy: 'autogen', start: now - 2 * DAY - 12 * HOUR, end: now + 12 * HOUR},
    ]
    const five = policy[2]
    const out = planV1Retention(policy, {...base, rawShardGroups: groups}, now)
    const end = bucketStart(now, 5 * MIN) + 5 * MIN
    const start = now - 3 * DAY - 12 * HOUR
    const windows: string[] = []
    for (let t = start; t < end; t += 1440 * 5 * MIN) windows.push(rollupSelect('mon', 'autogen', five, {start: t, end: Math.min(end, t + 1440 * 5 * MIN)}))
    assert.deepEqual(out, ['CREATE RETENTION POLICY "mon_5m" ON "mon" DURATION 90d REPLICATION 1 SHARD DURATION 1d', ...windows, continuousQuery('mon', 'autogen', five), 'DROP CONTINUOUS QUERY "mon_1h" ON "mon"'])
  })

  it('refuses what InfluxDB cannot keep', () => {
    assert.throws(() => planV1Retention(retentionPolicy({raw: '30m', '1m': '1d'}), base, now), /InfluxDB keeps data for at least 1h/)
    assert.throws(() => planV1Retention(retentionPolicy({raw: '1h', '1m': '1d', '1h': '30d'}), base, now), /computed from raw points, which retention.raw keeps for only 1h/)
  })
})

// ------------------------------------------------------------------------------------------ 2.x

interface Seen {
  method: string
  path: string
  query: URLSearchParams
  body: string
}

/**
 * What InfluxDB 2.x answers on its REST API, with buckets kept in memory (each one a database of
 * the real influxd); writes and the v1-compatible /query are passed on to that influxd.
 */
async function startV2Facade(influxUrl: string): Promise<{url: string; seen: Seen[]; buckets: Map<string, {id: string; name: string; retentionRules: unknown[]}>; close(): Promise<void>}> {
  const buckets = new Map<string, {id: string; name: string; orgID: string; retentionRules: unknown[]}>()
  const seen: Seen[] = []
  let nextId = 1
  const influxql = (q: string) => fetch(`${influxUrl}/query`, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: `q=${encodeURIComponent(q)}`})
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (d: Buffer) => chunks.push(d))
    req.on('end', async () => {
      let raw = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw)
      const u = new URL(req.url ?? '/', 'http://x')
      const s: Seen = {method: req.method ?? '', path: u.pathname, query: u.searchParams, body: raw.toString('utf8')}
      seen.push(s)
      const json = (status: number, body: unknown) => res.writeHead(status, {'Content-Type': 'application/json'}).end(JSON.stringify(body))
      try {
        if (s.path === '/ping') {
          res.writeHead(204, {'X-Influxdb-Version': 'v2.7.10'}).end()
        } else if (s.path === '/api/v2/orgs') {
          json(200, {orgs: s.query.get('org') === 'acme' ? [{id: 'org0001', name: 'acme'}] : []})
        } else if (s.path === '/api/v2/buckets' && s.method === 'GET') {
          const b = buckets.get(s.query.get('name') ?? '')
          if (b) json(200, {buckets: [b]})
          else json(404, {code: 'not found', message: `bucket "${s.query.get('name')}" not found`})
        } else if (s.path === '/api/v2/buckets' && s.method === 'POST') {
          const body = JSON.parse(s.body) as {orgID: string; name: string; retentionRules: unknown[]}
          const b = {id: `b${nextId++}`, name: body.name, orgID: body.orgID, retentionRules: body.retentionRules}
          buckets.set(b.name, b)
          await influxql(`CREATE DATABASE "${b.name}"`)
          json(201, b)
        } else if (s.path.startsWith('/api/v2/buckets/') && s.method === 'PATCH') {
          const b = [...buckets.values()].find((x) => x.id === s.path.split('/').pop())
          if (!b) return json(404, {code: 'not found', message: 'bucket not found'})
          b.retentionRules = (JSON.parse(s.body) as {retentionRules: unknown[]}).retentionRules
          json(200, b)
        } else if (s.path === '/api/v2/write') {
          const precision = {ns: 'n', us: 'u', ms: 'ms', s: 's'}[s.query.get('precision') ?? 'ns'] ?? 'n'
          const r = await fetch(`${influxUrl}/write?db=${encodeURIComponent(s.query.get('bucket') ?? '')}&precision=${precision}`, {method: 'POST', body: raw})
          res.writeHead(r.status, {'Content-Type': 'application/json'}).end(await r.text())
        } else if (s.path === '/query') {
          const r = await fetch(`${influxUrl}/query?${u.searchParams}`, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: raw})
          res.writeHead(r.status, {'Content-Type': 'application/json'}).end(await r.text())
        } else {
          json(404, {code: 'not found', message: `no ${s.method} ${s.path}`})
        }
      } catch (error) {
        json(500, {code: 'internal error', message: String(error)})
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // the raw bucket exists (mon store init would have created it)
  buckets.set('metrics', {id: 'b0', name: 'metrics', orgID: 'org0001', retentionRules: []})
  await influxql('CREATE DATABASE "metrics"')
  return {url, seen, buckets, close: () => new Promise<void>((resolve) => server.close(() => resolve()))}
}

describe('retention tiers on InfluxDB 2.x (2.x REST answered by a loopback server, data in a real influxd)', () => {
  let influxd: RunningServer
  let facade: Awaited<ReturnType<typeof startV2Facade>>
  const tmp = tempDir('mon-influx2-retention-')
  const stores: Array<{close(): Promise<void>}> = []
  const v2 = (now: number) => {
    const s = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: facade.url, org: 'acme', bucket: 'metrics', token: 'tok', gzip: false}), {clock: new ManualClock(now), retention: DEFAULT_POLICY})
    stores.push(s)
    return s
  }

  before(async () => {
    influxd = await startInfluxd()
    facade = await startV2Facade(influxd.url)
    await v2(NOW).write(POINTS)
  })

  after(async () => {
    for (const s of stores) await s.close()
    await facade?.close()
    await influxd?.destroy()
    tmp.cleanup()
  })

  it('apply: dry run sends nothing; then creates the rollup buckets, backfills them, sets raw retention last; again: nothing', async () => {
    const s = v2(NOW)
    const changing = () => facade.seen.filter((r) => r.method !== 'GET' && r.path.startsWith('/api/v2/buckets'))
    const planned = await s.applyRetention(retentionPolicy(), {dryRun: true})
    assert.deepEqual(planned, [
      'create bucket metrics_1m (retention 30d) and backfill it from metrics',
      'create bucket metrics_1h (retention 365d) and backfill it from metrics',
      'set the retention of bucket metrics to 1w (was forever)',
    ])
    assert.deepEqual(changing(), [])
    assert.deepEqual(await s.applyRetention(retentionPolicy(), {dryRun: false}), planned)
    assert.deepEqual(
      changing().map((r) => [r.method, r.path, JSON.parse(r.body)]),
      [
        ['POST', '/api/v2/buckets', {orgID: 'org0001', name: 'metrics_1m', retentionRules: [{type: 'expire', everySeconds: 30 * 86_400}]}],
        ['POST', '/api/v2/buckets', {orgID: 'org0001', name: 'metrics_1h', retentionRules: [{type: 'expire', everySeconds: 365 * 86_400}]}],
        ['PATCH', '/api/v2/buckets/b0', {retentionRules: [{type: 'expire', everySeconds: 7 * 86_400}]}],
      ],
    )
    // every request carried the token
    const writes = facade.seen.filter((r) => r.path === '/api/v2/write')
    assert.ok(writes.some((w) => w.query.get('bucket') === 'metrics_1m') && writes.every((w) => w.query.get('org') === 'acme'))
    assert.deepEqual(await s.applyRetention(retentionPolicy(), {dryRun: false}), [])
  })

  it('the rollup buckets hold the aggregates of the raw points, up to the buckets that ended a minute ago', async () => {
    const s = v2(NOW)
    const measurements = ['cpu', 'mem', 'odd meas,ure']
    const rows1m = await readRollups(s, measurements, {db: 'metrics_1m'})
    assertRollupsEqual(rows1m, expectedRollups(POINTS, MIN, bucketStart(NOW - MIN, MIN)), 'metrics_1m')
    assertRollupsEqual(await readRollups(s, measurements, {db: 'metrics_1h'}), expectedRollups(POINTS, HOUR, bucketStart(NOW - MIN, HOUR)), 'metrics_1h')
  })

  it('scan reads the raw bucket back (archive on 2.x)', async () => {
    assert.deepEqual(normalize(await scanAll(v2(NOW))), normalize(POINTS))
  })

  it('maintain rolls up only what is new; queries over 10 days come from metrics_1m + raw, with the embedded store\'s numbers', async () => {
    const later = NOW + 10 * MIN
    const s = v2(later)
    const first = await s.maintain(later)
    assert.equal(first.rolledUp['1m'], (bucketStart(later - MIN, MIN) - bucketStart(NOW - MIN, MIN)) / MIN)
    assert.deepEqual(await s.maintain(later), {rolledUp: {'1m': 0, '1h': 0}, pruned: {}})
    const [wm] = await s.influxql('SELECT last("watermark") FROM "_mon_rollup"', {epoch: 'ms', db: 'metrics_1m'})
    assert.equal(wm.series?.[0]?.values?.[0]?.[1], bucketStart(later - MIN, MIN))

    // as InfluxDB 2.x would expire the raw bucket's points past its 7 days: older points only in the rollups
    await fetch(`${influxd.url}/query?db=metrics`, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: `q=${encodeURIComponent(`DELETE WHERE time < ${later - 7 * DAY}ms`)}`})
    const e = await embeddedStore(tmp.dir, 'v2', later)
    stores.push(e)
    for (const {label, plan} of plans(T_START, NOW, [HOUR])) {
      assertFramesClose(await s.query(plan), await e.query(plan), label)
      assert.match(s.explain(plan), /^tier: {5}1m rollups in bucket metrics_1m/m, label)
    }

  })

})
