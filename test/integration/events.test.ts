/**
 * Events as a user meets them: `mon event add` and `mon events` (table, --json, filters), a
 * read-only store refusing, the markers of `mon query --format chart` (no TTY), a rule counting
 * events with `mon alerts eval --once --at`, whose transition is an event too, and the same events
 * through a real InfluxDB; on VictoriaMetrics (numbers only) counted but not listed.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import {eventPoint, readEvents} from '../../src/core/model/events.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {runMon} from '../helpers/cli.js'
import {startInfluxd, startVictoriaMetrics, tempDir, type RunningServer} from '../helpers/servers.js'
import {waitForVictoriaMetrics} from '../helpers/victoriametrics.js'

const T = Date.UTC(2026, 10, 25, 9, 0, 0)
const iso = (offsetMs: number) => new Date(T + offsetMs).toISOString()
const M = 60_000

describe('mon event add / mon events', () => {
  const tmp = tempDir('mon-events-cli-')
  let config: string
  let env: NodeJS.ProcessEnv
  const mon = (args: string[], input?: string) => runMon([...args, '--config', config], {env, input})
  before(() => {
    env = {XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data'), MON_DATA_DIR: ''}
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(join(tmp.dir, 'rules.yaml'), `groups:
  - name: events
    interval: 1m
    rules:
      - alert: CliEventBurst
        expr: count_over_time(events{source="cli"}[5m]) > 2
        labels: {severity: warning}
        annotations: {summary: '{{ $value }} events from the cli in 5m'}
`)
    writeFileSync(config, `host: web-01\ndata_dir: ${JSON.stringify(join(tmp.dir, 'data'))}\nrules: {files: [rules.yaml]}\n`)
  })
  after(() => tmp.cleanup())

  it('both commands have help with examples', async () => {
    for (const cmd of [['event', 'add'], ['events']]) {
      const r = await runMon([...cmd, '--help'], {env})
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /EXAMPLES/)
      assert.match(r.stdout, new RegExp(`\\$ mon ${cmd.join(' ')} `))
    }
  })

  it('records events and lists them: table oldest first, --json, --tag and --source filters', async () => {
    for (const [title, at, extra] of [
      ['deploy v1.2', iso(10 * M), ['--tag', 'service=api', '--text', 'by ci #88']],
      ['cache flushed', iso(11 * M), ['--tag', 'service=api']],
      ['rollback', iso(12 * M), ['--tag', 'service=api']],
      ['db failover', iso(30 * M), ['--source', 'ops']],
    ] as const) {
      const r = await mon(['event', 'add', title, '--at', at, ...extra])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`recorded event "${title}" at ${at.replace('.', '\\.')}`))
    }
    const table = await mon(['events', '--since', iso(0), '--until', iso(60 * M)])
    assert.equal(table.code, 0, table.stderr)
    const lines = table.stdout.trim().split('\n')
    assert.match(lines[0]!, /^time +source +tags +title +text$/)
    assert.match(lines[1]!, /^2026-11-25T09:10:00\.000Z +cli +service=api +deploy v1\.2 +by ci #88$/)
    assert.match(lines[4]!, /^2026-11-25T09:30:00\.000Z +ops +db failover$/)
    assert.equal(lines.length, 5)

    const json = await mon(['events', '--since', iso(0), '--until', iso(60 * M), '--tag', 'service=api', '--json'])
    assert.equal(json.code, 0, json.stderr)
    assert.deepEqual(JSON.parse(json.stdout), [
      {time: iso(10 * M), source: 'cli', title: 'deploy v1.2', text: 'by ci #88', tags: {service: 'api'}},
      {time: iso(11 * M), source: 'cli', title: 'cache flushed', tags: {service: 'api'}},
      {time: iso(12 * M), source: 'cli', title: 'rollback', tags: {service: 'api'}},
    ])
    const ops = await mon(['events', '--since', iso(0), '--until', iso(60 * M), '--source', 'ops', '--json'])
    assert.deepEqual((JSON.parse(ops.stdout) as Array<{title: string}>).map((e) => e.title), ['db failover'])
    const none = await mon(['events', '--since', iso(-60 * M), '--until', iso(0)])
    assert.equal(none.code, 0)
    assert.match(none.stderr, /no events from 2026-11-25T08:00:00\.000Z/)
  })

  it('bad input is exit 2 with a hint', async () => {
    const bad = await mon(['event', 'add', 'x', '--tag', 'service'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /error: --tag "service": expected key=value\nhint: e\.g\. --tag service=api/)
    const empty = await mon(['event', 'add', '  '])
    assert.equal(empty.code, 2)
    assert.match(empty.stderr, /the event title is empty/)
    const source = await mon(['event', 'add', 'x', '--tag', 'source=me'])
    assert.equal(source.code, 2)
    assert.match(source.stderr, /use --source/)
  })

  it('a chart of the range marks the events on its time axis and lists them under the legend (no TTY)', async () => {
    const lines = Array.from({length: 31}, (_, i) => `cpu,host=web-01 usage=${(i * 7) % 23} ${(T + i * M) * 1_000_000}`).join('\n')
    assert.equal((await mon(['write', '-'], lines)).code, 0)
    const r = await mon(['query', 'cpu.usage{host="web-01"}', '--since', iso(0), '--until', iso(30 * M), '--step', '1m', '--format', 'chart'])
    assert.equal(r.code, 0, r.stderr)
    const out = r.stdout.split('\n')
    const axis = out.find((l) => l.includes('└'))!
    assert.equal([...axis].filter((ch) => ch === '▲').length, 4, `one ▲ per event on the axis: ${axis}`)
    // the marker sits where its time is: 10 minutes of a 30-minute axis
    const start = axis.indexOf('└') + 1
    const width = [...axis.slice(start)].length
    const at = [...axis.slice(start)].indexOf('▲')
    assert.equal(at, Math.floor((10 / 30) * (width - 1) + 0.5))
    assert.ok(out.some((l) => l.includes('┊')), 'a dotted line up the plot')
    const legend = out.slice(out.findIndex((l) => l.startsWith('── ')) + 1).filter((l) => l !== '')
    assert.deepEqual(legend, ['▲ 09:10 deploy v1.2', '▲ 09:11 cache flushed', '▲ 09:12 rollback', '▲ 09:30 db failover'])
    assert.doesNotMatch(r.stdout, /\u001B\[/, 'no colour without a TTY')
  })

  it('a rule counts events: count_over_time(events{source="cli"}[5m]) > 2 fires after three mon event add, and its firing is an event', async () => {
    const before = await mon(['alerts', 'eval', '--once', '--at', iso(11 * M + 30_000), '--json'])
    assert.equal(before.code, 0, before.stderr)
    assert.deepEqual((JSON.parse(before.stdout) as {transitions: unknown[]}).transitions, [], 'two events: below the threshold')
    const r = await mon(['alerts', 'eval', '--once', '--at', iso(13 * M), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {transitions: Array<{alertname: string; to: string}>}
    assert.deepEqual(out.transitions.map((t) => [t.alertname, t.to]), [['CliEventBurst', 'firing']])
    const events = await mon(['events', '--since', iso(0), '--until', iso(60 * M), '--source', 'alerts', '--json'])
    assert.equal(events.code, 0, events.stderr)
    assert.deepEqual(JSON.parse(events.stdout), [
      {time: iso(13 * M), source: 'alerts', title: 'CliEventBurst firing', text: '3 events from the cli in 5m', tags: {alertname: 'CliEventBurst', alertstate: 'firing', severity: 'warning'}},
    ])
  })

  it('a read-only store (Prometheus) refuses mon event add, and mon events says why it cannot list', async () => {
    const prom = join(tmp.dir, 'prom.yaml')
    writeFileSync(prom, `data_dir: ${JSON.stringify(join(tmp.dir, 'prom-data'))}\nstore: {type: prometheus, url: "http://127.0.0.1:9"}\n`)
    const add = await runMon(['event', 'add', 'deploy', '--config', prom], {env})
    assert.equal(add.code, 2)
    assert.match(add.stderr, /which mon only reads: it cannot record events \(mon event add\)/)
    const list = await runMon(['events', '--config', prom], {env})
    assert.equal(list.code, 2)
    assert.match(list.stderr, /cannot list events: a Prometheus store holds numbers only/)
  })
})

describe('events on InfluxDB', () => {
  let influxd: RunningServer
  let store: InfluxStore
  before(async () => {
    influxd = await startInfluxd()
    store = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'events'}))
    await store.init()
  })
  after(async () => {
    await store?.close()
    await influxd?.destroy()
  })

  it('writes and reads back events with their text, filtered by tags', async () => {
    await store.write([
      eventPoint({title: 'deploy v1.2', text: 'by ci #88', source: 'cli', tags: {service: 'api'}, ts: T + M}),
      eventPoint({title: 'disk error', source: 'tail', tags: {host: 'db-01'}, ts: T + 2 * M}),
      eventPoint({title: 'HighCpu firing on web-01', source: 'alerts', tags: {alertname: 'HighCpu'}, ts: T + 3 * M}),
    ])
    const all = await readEvents(store, {start: T, end: T + 10 * M})
    assert.deepEqual(
      all.map((e) => [e.ts - T, e.source, e.title, e.text]),
      [
        [M, 'cli', 'deploy v1.2', 'by ci #88'],
        [2 * M, 'tail', 'disk error', undefined],
        [3 * M, 'alerts', 'HighCpu firing on web-01', undefined],
      ],
    )
    const tail = await readEvents(store, {start: T, end: T + 10 * M, matchers: [{name: 'source', op: '=', value: 'tail'}]})
    assert.deepEqual(tail.map((e) => e.tags), [{source: 'tail', host: 'db-01'}])
  })
})

describe('events on VictoriaMetrics (numbers only)', () => {
  const tmp = tempDir('mon-events-vm-')
  let vm: RunningServer
  let config: string
  const env = {XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), MON_DATA_DIR: ''}
  before(async () => {
    vm = await startVictoriaMetrics()
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(config, `data_dir: ${JSON.stringify(join(tmp.dir, 'data'))}\nstore: {type: victoriametrics, url: '${vm.url}'}\n`)
  })
  after(async () => {
    await vm?.destroy()
    tmp.cleanup()
  })

  it('mon event add warns that the title is not kept, the event is counted in a query, and mon events refuses with the reason', async () => {
    for (const m of [1, 2, 3]) {
      const r = await runMon(['event', 'add', `deploy ${m}`, '--tag', 'service=api', '--at', iso(m * M), '--config', config], {env})
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stderr, /the event is counted but its title is not kept: a VictoriaMetrics store holds numbers only/)
    }
    await waitForVictoriaMetrics(vm.url, 3, '{__name__="events_value"}')
    const q = await runMon(['query', 'count_over_time(events{source="cli", service="api"}[5m])', '--at', iso(4 * M), '--json', '--config', config], {env})
    assert.equal(q.code, 0, q.stderr)
    const out = JSON.parse(q.stdout) as {series: Array<{values: Array<[string, number]>}>}
    assert.deepEqual(out.series.map((s) => s.values[0]![1]), [3])
    const list = await runMon(['events', '--config', config], {env})
    assert.equal(list.code, 2)
    assert.match(list.stderr, /cannot list events: a VictoriaMetrics store holds numbers only/)
  })
})
