/**
 * inputs.statsd and inputs.udp end to end, in process: hot-shots (a StatsD client from npm that no
 * one here wrote) → real UDP on loopback → the agent's statsd input → spool → writer → the
 * embedded store. The agent's clock is a stopped ManualClock, so its scheduler never flushes by
 * itself: everything sent lands in the one flush `agent.stop()` makes, stamped with that clock's
 * time, and the stored values are compared with values computed by hand.
 *
 * The loss test sends 100,000 datagrams in bursts and says how many were received and how many
 * the kernel counted as dropped (/proc/net/udp `drops`) — nothing about how long anything took.
 */
import assert from 'node:assert/strict'
import {createSocket, type Socket} from 'node:dgram'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {StatsD} from 'hot-shots'
import {ManualClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {silentLogger} from '../../src/core/log.js'
import {createAgent, type Agent} from '../../src/core/pipeline/agent.js'
import {StatsdCollector, StatsdService} from '../../src/core/collectors/statsd.js'
import type {UdpCollector} from '../../src/core/collectors/udp.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

const T = 1_800_000_000_123 // the agent's stopped clock
let tmp: ReturnType<typeof tempDir>
let store: SqliteStore
let agent: Agent
let statsd: StatsdCollector
let udp: UdpCollector

/** Waits (on the event loop, no deadline: the test runner's timeout bounds it) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; !done(); i++) {
    await new Promise((r) => setTimeout(r, 2))
    if (i > 0 && i % 5000 === 0) console.log(`# still waiting: ${what}`)
  }
}

function send(sock: Socket, port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => sock.send(text, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())))
}

async function rows(measurement: string, field: string): Promise<Array<{tags: Record<string, string>; ts: number; value: unknown}>> {
  const frames = await store.query({measurement, field, matchers: [], start: 0, end: 4e12})
  return frames.flatMap((f) => f.rows.map((r) => ({tags: f.tags, ts: r[0] as number, value: r[1]})))
}

async function one(measurement: string, field: string, tags: Record<string, string> = {}): Promise<unknown> {
  const found = (await rows(measurement, field)).filter((r) => Object.entries(tags).every(([k, v]) => r.tags[k] === v))
  assert.equal(found.length, 1, `one ${measurement}.${field} ${JSON.stringify(tags)}, got ${JSON.stringify(found)}`)
  assert.equal(found[0]!.ts, T, 'stamped with the injected clock')
  return found[0]!.value
}

before(async () => {
  tmp = tempDir('mon-statsd-')
  const {config} = parseConfigText(
    `data_dir: ${tmp.dir}
host: agent-1
agent: {self_metrics: false, flush_interval: 50ms}
inputs:
  host: {enabled: false}
  statsd:
    enabled: true
    listen: 127.0.0.1:0
    interval: 1h
    percentiles: [50, 90, 99]
    templates: ["app.* .measurement.field*"]
  udp:
    enabled: true
    listen: 127.0.0.1:0
    interval: 1h
spool: {fsync: batch}
`,
    '<test>',
    {},
  )
  store = new SqliteStore({path: join(tmp.dir, 'mon.db')})
  agent = await createAgent({config, dataDir: tmp.dir, store, clock: new ManualClock(T)})
  await agent.start()
  statsd = agent.inputs.find((i) => i.kind === 'statsd')!.collector as StatsdCollector
  udp = agent.inputs.find((i) => i.kind === 'udp')!.collector as UdpCollector
  assert.equal(statsd.service.address!.host, '127.0.0.1', 'loopback')
})

after(async () => {
  await agent?.stop(5000).catch(() => {})
  await store?.close()
  tmp?.cleanup()
})

describe('inputs.statsd with hot-shots', () => {
  it('counters with sample rates, timers with sample rates, gauges with deltas, sets, DogStatsD and Telegraf tags: stored values equal hand-computed ones', async () => {
    const port = statsd.service.address!.port
    const errors: Error[] = []
    const dog = new StatsD({host: '127.0.0.1', port, protocol: 'udp', maxBufferSize: 0, errorHandler: (e) => errors.push(e)})
    const influx = new StatsD({host: '127.0.0.1', port, protocol: 'udp', maxBufferSize: 0, telegraf: true, errorHandler: (e) => errors.push(e)})
    const lines = () => statsd.serviceStats().lines!
    // hot-shots samples on the client (Math.random() < rate): fixed at 0, every sampled call is
    // sent, carrying its |@rate, so the server's scaling is what is tested
    const random = Math.random
    Math.random = () => 0
    let sent = 0
    const step = async (f: () => void) => {
      f()
      sent++
      await until(() => lines() >= sent, `line ${sent}`)
    }
    try {
      // counters: 3 × (1 at @0.1) = 30; 5 then -2 = 3
      for (let i = 0; i < 3; i++) await step(() => dog.increment('api.requests', 1, 0.1, {route: 'home'}))
      await step(() => dog.increment('api.requests', 5, {route: 'login'}))
      await step(() => dog.decrement('api.requests', 2, {route: 'login'}))
      // timings: 10, 20, 30, 40 at @0.5 count twice each, 100 once:
      // values 10 10 20 20 30 30 40 40 100 → count 9, sum 300, mean 33.333…, lower 10, upper 100,
      // median 30 (the 5th of 9); percentiles Telegraf's way, sorted[floor(9·p/100)]: p50 → [4] = 30,
      // p90 → [8] = 100, p99 → [8] = 100; stddev (population) = sqrt(Σ(v−mean)²/9):
      // Σ = 2·(23⅓)² + 2·(13⅓)² + 2·(3⅓)² + 2·(6⅔)² + (66⅔)² = 6000, so sqrt(6000/9) = 25.8199…
      for (const v of [10, 20, 30, 40]) await step(() => dog.timing('api.latency', v, 0.5, {route: 'home'}))
      await step(() => dog.timing('api.latency', 100, {route: 'home'}))
      // histogram (h): same statistics, metric_type=histogram
      await step(() => dog.histogram('payload.bytes', 512))
      // gauges: set 10, +5, −3 → 12 (one at a time: UDP does not promise order)
      await step(() => dog.gauge('queue.depth', 10, {queue: 'jobs'}))
      await step(() => dog.gaugeDelta('queue.depth', 5, {queue: 'jobs'}))
      await step(() => dog.gaugeDelta('queue.depth', -3, {queue: 'jobs'}))
      // sets: alice, bob, alice → 2
      for (const u of ['alice', 'bob', 'alice']) await step(() => dog.set('users.unique', u))
      // Telegraf-style tags in the name (hot-shots telegraf: true)
      await step(() => influx.increment('jobs.done', 2, {queue: 'q1'}))
      // a template: "app.* .measurement.field*" → measurement orders, field paid_total
      await step(() => dog.increment('app.orders.paid.total', 4))
    } finally {
      Math.random = random
    }
    assert.deepEqual(errors, [])

    // and a datagram of good and bad lines: the good ones count, each bad one by reason
    const raw = createSocket('udp4')
    await send(raw, port, 'raw.good:1|c\nnocolon\nraw.type:1|x\nraw.value:abc|c\nraw.rate:1|c|@zz\n:1|c\nraw.sign:+1|ms\nraw.good:2|c')
    sent += 8
    await until(() => lines() >= sent, 'the mixed datagram')
    raw.close()
    const s = statsd.serviceStats()
    assert.equal(s.parse_errors, 6)
    assert.deepEqual(
      Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('parse_errors_'))),
      {parse_errors_no_value: 1, parse_errors_bad_type: 1, parse_errors_bad_value: 1, parse_errors_bad_sample_rate: 1, parse_errors_empty_name: 1, parse_errors_sign_not_allowed: 1},
    )
    assert.equal(s.lines, sent)
    if (existsSync('/proc/net/udp')) assert.equal(s.kernel_drops, 0, 'nothing lost at this pace')
    // in the agent's status beside the other counts
    const st = agent.status().inputs.find((i) => i.kind === 'statsd')!
    assert.equal(st.service!.parse_errors_bad_type, 1)

    dog.close()
    influx.close()
    await agent.stop(10_000)

    assert.equal(await one('api_requests', 'value', {route: 'home', metric_type: 'counter'}), 30)
    assert.equal(await one('api_requests', 'value', {route: 'login', metric_type: 'counter'}), 3)
    const lat = {route: 'home', metric_type: 'timing'}
    assert.equal(await one('api_latency', 'count', lat), 9)
    assert.equal(await one('api_latency', 'sum', lat), 300)
    // Telegraf's running mean (shifted by the first value: 10 + 210/9) differs from 300/9 in the last bit
    assert.ok(Math.abs(((await one('api_latency', 'mean', lat)) as number) - 300 / 9) < 1e-12)
    assert.equal(await one('api_latency', 'lower', lat), 10)
    assert.equal(await one('api_latency', 'upper', lat), 100)
    assert.equal(await one('api_latency', 'median', lat), 30)
    assert.equal(await one('api_latency', '50_percentile', lat), 30)
    assert.equal(await one('api_latency', '90_percentile', lat), 100)
    assert.equal(await one('api_latency', '99_percentile', lat), 100)
    const stddev = (await one('api_latency', 'stddev', lat)) as number
    assert.ok(Math.abs(stddev - Math.sqrt(6000 / 9)) < 1e-9, `stddev ${stddev}`)
    assert.equal(await one('payload_bytes', 'upper', {metric_type: 'histogram'}), 512)
    assert.equal(await one('queue_depth', 'value', {queue: 'jobs', metric_type: 'gauge'}), 12)
    assert.equal(await one('users_unique', 'value', {metric_type: 'set'}), 2)
    assert.equal(await one('jobs_done', 'value', {queue: 'q1', metric_type: 'counter'}), 2)
    assert.equal(await one('orders', 'paid_total', {metric_type: 'counter'}), 4)
    assert.equal(await one('raw_good', 'value', {metric_type: 'counter'}), 3, 'the good lines of a datagram with bad ones')
    assert.deepEqual((await rows('raw_type', 'value')).length, 0)
    const [any] = await rows('api_requests', 'value')
    assert.equal(any!.tags.host, 'agent-1', 'the host tag like every input')
  })
})

describe('inputs.udp (line protocol over UDP)', () => {
  it('keeps the good lines of a datagram, counts the bad ones by reason', async () => {
    // the agent of the first test is stopped; a fresh one for this input
    const t2 = tempDir('mon-udp-')
    const {config} = parseConfigText(
      `data_dir: ${t2.dir}
host: agent-2
agent: {self_metrics: false}
inputs:
  host: {enabled: false}
  udp: {enabled: true, listen: 127.0.0.1:0, interval: 1h}
`,
      '<test>',
      {},
    )
    const st = new SqliteStore({path: join(t2.dir, 'mon.db')})
    const a = await createAgent({config, dataDir: t2.dir, store: st, clock: new ManualClock(T)})
    try {
      await a.start()
      udp = a.inputs.find((i) => i.kind === 'udp')!.collector as UdpCollector
      const sock = createSocket('udp4')
      await send(sock, udp.address!.port, 'cpu,core=0 usage=1.5 1700000000000000000\nthis is not line protocol\nmem used=3i\ncpu,core=1 usage=\n')
      await send(sock, udp.address!.port, '\u0000\u0001garbage')
      sock.close()
      await until(() => udp.serviceStats().datagrams! >= 2, 'two datagrams')
      const s = udp.serviceStats()
      assert.equal(s.points, 2)
      assert.equal(s.parse_errors, 3)
      assert.equal(Object.entries(s).filter(([k]) => k.startsWith('parse_errors_')).reduce((n, [, v]) => n + v, 0), 3, 'the reasons add up to parse_errors')
      await a.stop(10_000)
      const cpu = await st.query({measurement: 'cpu', field: 'usage', matchers: [], start: 0, end: 4e12})
      assert.deepEqual(
        cpu.map((f) => [f.tags.core, f.tags.host, f.rows]),
        [['0', 'agent-2', [[1_700_000_000_000, 1.5]]]],
      )
      const mem = await st.query({measurement: 'mem', field: 'used', matchers: [], start: 0, end: 4e12})
      assert.deepEqual(mem[0]!.rows, [[T, 3]], 'a line without a timestamp gets the time of arrival (the injected clock)')
    } finally {
      await a.stop(1000).catch(() => {})
      await st.close()
      t2.cleanup()
    }
  })
})

describe('UDP loss is said, not hidden', () => {
  it('100,000 datagrams in bursts: received + counted as lost by the kernel = sent', async () => {
    const service = new StatsdService(
      {protocol: 'udp', listen: '127.0.0.1:0', maxTcpConnections: 1, percentiles: [90], percentileLimit: 1000, templates: [], separator: '_', deleteCounters: true, deleteGauges: true, deleteSets: true, deleteTimings: true, datadogTags: true},
      silentLogger,
    )
    const {port} = await service.start()
    const sock = createSocket('udp4')
    const N = 100_000
    const BURST = 500
    let sendErrors = 0
    try {
      for (let sent = 0; sent < N; sent += BURST) {
        // a burst: every send queued at once, then the event loop gets to read
        await Promise.all(
          Array.from({length: BURST}, (_, i) =>
            new Promise<void>((resolve) =>
              sock.send(`burst.count:1|c|#seq:${(sent + i) % 10}`, port, '127.0.0.1', (err) => {
                if (err) sendErrors++
                resolve()
              }),
            ),
          ),
        )
        await new Promise((r) => setImmediate(r))
      }
      const proc = existsSync('/proc/net/udp')
      assert.ok(proc, 'this test reads /proc/net/udp: run it on Linux')
      // every datagram is either read by the socket or in the kernel's drop count: wait for that
      let last = -1
      let still = 0
      for (;;) {
        const s = service.stats()
        const total = s.datagrams + (s.kernel_drops ?? 0) + sendErrors
        if (total === N) break
        // no progress for 500 turns of the loop: stop waiting and let the assertion say the difference
        still = total === last ? still + 1 : 0
        last = total
        if (still > 500) break
        await new Promise((r) => setTimeout(r, 2))
      }
      const s = service.stats()
      const R = s.datagrams
      const K = s.kernel_drops!
      console.log(`# [statsd] sent ${N}, received ${R}, counted as lost by the kernel ${K} (from /proc/net/udp)${sendErrors ? `, send errors ${sendErrors}` : ''}`)
      assert.equal(service.aggregator.counts.lines, R, 'every received datagram parsed (one line each)')
      assert.equal(R + K + sendErrors, N, 'a datagram neither received nor in the kernel drop count would be lost silently')
      // what was received is what is counted: the counter sums to the datagrams received
      const points = service.flush(T)
      const total = points.reduce((n, p) => n + Number(p.fields.value), 0)
      assert.equal(total, R)
    } finally {
      sock.close()
      await service.stop()
    }
  })
})

describe('mon collect (the CLI)', () => {
  it('--once --json: the statsd and udp inputs bind, close, and report their counters', async () => {
    const t = tempDir('mon-statsd-cli-')
    try {
      const config = join(t.dir, 'mon.yaml')
      writeFileSync(config, `data_dir: ${t.dir}\ninputs:\n  host: {enabled: false}\n  statsd: {enabled: true, listen: 127.0.0.1:0}\n  udp: {enabled: true, listen: 127.0.0.1:0}\n`)
      const r = await runMon(['collect', '--once', '--json', '--config', config], {env: {XDG_CONFIG_HOME: join(t.dir, 'xdg')}, timeoutMs: 60_000})
      assert.equal(r.code, 0, r.stderr)
      const summary = JSON.parse(r.stdout) as {runs: Array<{input: string; points: number; error?: string; stats?: Record<string, number>}>}
      const statsdRun = summary.runs.find((x) => x.input === 'statsd')!
      assert.equal(statsdRun.error, undefined)
      assert.equal(statsdRun.stats!.datagrams, 0)
      assert.equal(statsdRun.stats!.parse_errors, 0)
      const udpRun = summary.runs.find((x) => x.input === 'udp')!
      assert.equal(udpRun.stats!.points, 0)
    } finally {
      t.cleanup()
    }
  })

  it('a template that does not parse is a config error with file:line:col, exit 2', async () => {
    const t = tempDir('mon-statsd-cli-')
    try {
      const config = join(t.dir, 'mon.yaml')
      writeFileSync(config, `data_dir: ${t.dir}\ninputs:\n  statsd:\n    enabled: true\n    templates:\n      - "a.b measurement.field* x=1 extra"\n`)
      const r = await runMon(['collect', '--once', '--config', config], {env: {XDG_CONFIG_HOME: join(t.dir, 'xdg')}, timeoutMs: 60_000})
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /mon\.yaml:6:\d+/)
      assert.match(r.stderr, /invalid template/)
    } finally {
      t.cleanup()
    }
  })
})

describe('inputs.statsd across a config reload', () => {
  it('what the old socket held is written; the new one listens', async () => {
    const t = tempDir('mon-statsd-reload-')
    const cfg = (p: number) =>
      parseConfigText(`data_dir: ${t.dir}\nagent: {self_metrics: false}\ninputs:\n  host: {enabled: false}\n  statsd: {enabled: true, listen: 127.0.0.1:0, interval: 1h, percentiles: [${p}]}\n`, '<test>', {}).config
    const st = new SqliteStore({path: join(t.dir, 'mon.db')})
    const a = await createAgent({config: cfg(90), dataDir: t.dir, store: st, clock: new ManualClock(T)})
    try {
      await a.start()
      const first = a.inputs.find((i) => i.kind === 'statsd')!.collector as StatsdCollector
      const sock = createSocket('udp4')
      await send(sock, first.service.address!.port, 'before.reload:5|ms')
      await until(() => first.serviceStats().lines! >= 1, 'the first line')
      await a.reload(cfg(50))
      const second = a.inputs.find((i) => i.kind === 'statsd')!.collector as StatsdCollector
      assert.notEqual(second, first)
      await send(sock, second.service.address!.port, 'after.reload:7|ms')
      await until(() => second.serviceStats().lines! >= 1, 'the second line')
      sock.close()
      await a.stop(10_000)
      const before = await st.query({measurement: 'before_reload', field: '90_percentile', matchers: [], start: 0, end: 4e12})
      assert.deepEqual(before[0]!.rows, [[T, 5]], 'flushed by the old input at the reload')
      const afterRows = await st.query({measurement: 'after_reload', field: '50_percentile', matchers: [], start: 0, end: 4e12})
      assert.deepEqual(afterRows[0]!.rows, [[T, 7]], 'the new input, with the new percentiles')
    } finally {
      await a.stop(1000).catch(() => {})
      await st.close()
      t.cleanup()
    }
  })
})
