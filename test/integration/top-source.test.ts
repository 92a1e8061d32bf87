/**
 * The data side of `mon top`, without a terminal: the chart window (buckets merged and trimmed),
 * the bucket width, and MetricsSource against a real embedded store — the values every panel gets,
 * tail-only refreshes, per-core and host switches, and what a failing backend (banner) and a bug
 * (thrown) do.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {UserError} from '../../src/core/errors.js'
import type {Frame, QueryPlan, Store} from '../../src/core/store/types.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {formatAge, formatBytes, formatLatency, formatRateShort, truncate} from '../../src/tui/top/format.js'
import {alignDown, SeriesWindow} from '../../src/tui/top/series.js'
import {chartEvery, defaultHost, listHosts, MetricsSource, type DashboardSettings} from '../../src/tui/top/source.js'
import {withoutColor} from '../../src/tui/top/theme.js'
import {tempDir} from '../helpers/servers.js'
import {hostPoints, writeTopFixture, type TopFixture} from './top-fixture.js'

const S = 1000
const MiB = 1024 ** 2

describe('SeriesWindow', () => {
  it('divides the window into epoch-aligned slots ending with the current bucket', () => {
    const w = new SeriesWindow(60 * S, 20 * S)
    assert.deepEqual(w.slots(125 * S), [80 * S, 100 * S, 120 * S])
    assert.equal(w.fullStart(125 * S), 80 * S)
    assert.equal(w.tailStart(125 * S), 80 * S)
  })

  it('merges buckets, overwrites re-read ones, trims the left edge, carries one missing slot', () => {
    const w = new SeriesWindow(100 * S, 20 * S)
    w.merge('a', [[0, 1], [20 * S, 2], [40 * S, 3], [60 * S, 'x'], [80 * S, 5]])
    // a tail refresh re-reads the last buckets with their final values
    w.merge('a', [[80 * S, 6]])
    const d = w.data(85 * S)
    assert.deepEqual(d.slots, [0, 20 * S, 40 * S, 60 * S, 80 * S])
    assert.deepEqual(d.series[0]!.values, [1, 2, 3, 3, 6], 'the non-numeric bucket carries the previous value')
    assert.equal(d.latest.a, 6)
    w.trim(145 * S)
    // slots 60…140: 60 never had a number, 80 holds 6, then one carried slot and a gap
    assert.deepEqual(w.data(145 * S).series[0]!.values, [null, 6, 6, null, null])
    w.trim(300 * S)
    assert.deepEqual(w.names(), [], 'a series with no bucket left is dropped')
    assert.equal(w.data(300 * S, ['a']).empty, true)
  })

  it('orders split series naturally (cpu2 before cpu10)', () => {
    const w = new SeriesWindow(60 * S, 20 * S)
    for (const name of ['cpu10', 'cpu2', 'cpu1']) w.merge(name, [[0, 1]])
    assert.deepEqual(w.names(), ['cpu1', 'cpu2', 'cpu10'])
  })
})

describe('chartEvery', () => {
  const table: Array<[string, number, number | undefined, number]> = [
    ['15m window, 10s collection', 900 * S, 10 * S, 20 * S],
    ['1h window, 10s collection', 3600 * S, 10 * S, 60 * S],
    ['5m window, 10s collection', 300 * S, 10 * S, 10 * S],
    ['15m window, collection on a cron schedule', 900 * S, undefined, 15 * S],
    ['15m window, 7s collection', 900 * S, 7 * S, 21 * S],
    ['1d window, 10s collection', 86_400 * S, 10 * S, 1_800 * S],
  ]
  for (const [what, windowMs, collection, want] of table) it(what, () => assert.equal(chartEvery(windowMs, collection), want))
})

describe('formatting', () => {
  const table: Array<[string, string]> = [
    [formatBytes(16 * 1024 ** 3), '16 GB'],
    [formatBytes(1536), '1.5 KB'],
    [formatBytes(512), '512 B'],
    [formatRateShort(1.5 * MiB), '1.5M'],
    [formatRateShort(300 * 1024), '300K'],
    [formatLatency(0.0412), '41 ms'],
    [formatLatency(0.0008), '0.8 ms'],
    [formatAge(42 * S), '42s'],
    [formatAge(125 * 60 * S), '2h5m'],
    [truncate('https://api.example.com', 10), 'https://a…'],
  ]
  for (const [got, want] of table) it(want, () => assert.equal(got, want))

  it('drops colours but keeps reverse video for backgrounds (NO_COLOR)', () => {
    const attr = (flags: number, fg: number, bg: number) => (flags << 18) | (fg << 9) | bg
    assert.equal(withoutColor(attr(1, 1, 0x1ff)), attr(1, 0x1ff, 0x1ff), 'bold red → bold')
    assert.equal(withoutColor(attr(0, 7, 4)), attr(8, 0x1ff, 0x1ff), 'white on blue → inverse')
  })
})

/** A store that records the plans it runs and can be made to fail. */
class Probe implements Store {
  readonly kind = 'sqlite'
  plans: QueryPlan[] = []
  failWith?: () => Error
  constructor(readonly inner: SqliteStore) {}
  write = (points: Parameters<Store['write']>[0]) => this.inner.write(points)
  async query(plan: QueryPlan): Promise<Frame[]> {
    this.plans.push(plan)
    if (this.failWith) throw this.failWith()
    return this.inner.query(plan)
  }

  tagValues(measurement: string, key: string): Promise<string[]> {
    if (this.failWith) return Promise.reject(this.failWith())
    return this.inner.tagValues(measurement, key)
  }

  close = () => this.inner.close()
}

describe('MetricsSource on the embedded store', () => {
  const tmp = tempDir('mon-top-source-')
  let fx: TopFixture
  let sqlite: SqliteStore
  before(async () => {
    fx = await writeTopFixture(tmp.dir, {now: Date.UTC(2026, 10, 25, 9, 30, 5), minutes: 20})
    sqlite = new SqliteStore({path: join(fx.dataDir, 'mon.db'), autoCompactEvery: 0})
  })
  after(async () => {
    await sqlite.close()
    tmp.cleanup()
  })

  const settings = (more: Partial<DashboardSettings> = {}): DashboardSettings => ({host: 'web-01', windowMs: 15 * 60 * S, every: 20 * S, perCore: false, ...more})

  it('gives every panel its value through the query layer', async () => {
    const clock = new ManualClock(fx.now + 2 * S)
    const source = new MetricsSource(new Probe(sqlite), settings(), clock)
    const m = await source.poll()
    assert.deepEqual(m.problems, [])
    assert.equal(m.cpu.series.length, 1)
    assert.equal(m.cpu.slots.length, 45)
    const total = m.cpu.latest.total!
    assert.ok(total > 25 && total < 45, `cpu busy ${total}`)
    // rates over whole buckets of 10 s samples are exact
    assert.equal(m.net.latest.rx, 1.5 * MiB)
    assert.equal(m.net.latest.tx, 300 * 1024)
    assert.equal(m.diskio.latest.read, 2 * MiB)
    assert.equal(m.diskio.latest.write, 512 * 1024)
    // the first slot has a rate too (one bucket before the window is read)
    assert.equal(m.net.series[0]!.values[0], 1.5 * MiB)
    assert.equal(m.load.latest.load5, 1.25)
    assert.deepEqual(m.memory, {memPercent: 87.3, memTotal: 16 * 1024 ** 3, swapPercent: 3.5, swapTotal: 2 * 1024 ** 3})
    assert.deepEqual(m.disks, [
      {path: '/', percent: 62.5, total: 100 * 1024 ** 3},
      {path: '/var/lib/docker', percent: 91.2, total: 500 * 1024 ** 3},
    ])
    assert.deepEqual(m.checks, [
      {kind: 'http', target: 'http://shop.internal:8080/', ok: false, status: 'conn failed', latency: undefined, certDaysLeft: undefined},
      {kind: 'tcp', target: '10.0.0.5:6379', ok: true, status: 'ok', latency: 0.0008},
      {kind: 'http', target: 'https://api.example.com/health', ok: true, status: '200', latency: 0.0412, certDaysLeft: 9.5},
    ])
  })

  it('reads the whole window once, then only the last buckets, and picks up new samples', async () => {
    const clock = new ManualClock(fx.now + 2 * S)
    const probe = new Probe(sqlite)
    const source = new MetricsSource(probe, settings(), clock)
    const first = await source.poll()
    const cpuPlan = () => probe.plans.filter((p) => p.measurement === 'cpu').at(-1)!
    assert.equal(cpuPlan().start, alignDown(fx.now + 2 * S, 20 * S) - 45 * 20 * S, 'the first poll reads the window and one bucket before it')
    clock.advance(10 * S)
    sqlite.writeSync(hostPoints('web-01', fx.now + 10 * S, 0, {mem: 50, cpuBusy: 90, cores: 4}))
    const m = await source.poll()
    assert.equal(cpuPlan().start, alignDown(fx.now + 12 * S, 20 * S) - 2 * 20 * S, 'later polls read the tail')
    assert.equal(m.memory.memPercent, 50)
    // the newest bucket now averages the old sample (~35 %) and the new one (90 %)
    assert.ok(m.cpu.latest.total! > first.cpu.latest.total! + 20, `the new sample is in the chart: ${m.cpu.latest.total}`)
    assert.equal(m.cpu.slots.length, 45)
  })

  it('switches to per-core lines and to another host', async () => {
    const source = new MetricsSource(new Probe(sqlite), settings(), new ManualClock(fx.now + 2 * S))
    source.update({perCore: true})
    const cores = await source.poll()
    assert.deepEqual(
      cores.cpu.series.map((s) => s.name),
      ['cpu0', 'cpu1', 'cpu2', 'cpu3'],
    )
    source.update({host: 'db-01', perCore: false})
    const db = await source.poll()
    assert.equal(db.memory.memPercent, 41)
    assert.deepEqual(db.checks, [], 'checks are per host')
    assert.deepEqual(await source.hosts(), ['db-01', 'web-01'])
  })

  it('reports a failing backend as problems and keeps the last data; a bug is thrown', async () => {
    const probe = new Probe(sqlite)
    const source = new MetricsSource(probe, settings(), new ManualClock(fx.now + 2 * S))
    const good = await source.poll()
    probe.failWith = () => new UserError('cannot reach InfluxDB at http://db:8086: connection refused')
    const bad = await source.poll()
    assert.equal(bad.problems.length, 7, bad.problems.join('\n'))
    assert.ok(bad.problems.every((p) => p.endsWith('connection refused')))
    assert.deepEqual(bad.memory, good.memory)
    assert.equal(bad.net.latest.rx, good.net.latest.rx)
    await assert.rejects(source.hosts(), /connection refused/)
    probe.failWith = () => new TypeError("Cannot read properties of undefined (reading 'rows')")
    await assert.rejects(source.poll(), TypeError)
    // back again: the charts load their whole window again
    probe.failWith = undefined
    probe.plans = []
    const again = await source.poll()
    assert.deepEqual(again.problems, [])
    assert.equal(probe.plans.find((p) => p.measurement === 'cpu')!.start, alignDown(fx.now + 2 * S, 20 * S) - 45 * 20 * S)
  })

  it('picks the host to show: this host when it has metrics, else the first that has', async () => {
    const hosts = () => listHosts(sqlite)
    assert.equal(await defaultHost(hosts, 'web-01'), 'web-01')
    assert.equal(await defaultHost(hosts, 'laptop'), 'db-01')
    assert.equal(await defaultHost(async () => [], 'laptop'), 'laptop')
    assert.equal(await defaultHost(() => Promise.reject(new UserError('down')), 'laptop'), 'laptop')
    await assert.rejects(defaultHost(() => Promise.reject(new TypeError('bug')), 'laptop'), TypeError)
  })
})
