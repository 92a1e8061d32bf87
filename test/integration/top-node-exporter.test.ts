// mon top's node_exporter panel set (issue 20) over a real prometheus-node-exporter: its pages,
// stored under node_exporter's own names (as a Prometheus or VictoriaMetrics store holds them), fill
// the CPU, memory, disk, network and load panels.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import type {Point} from '../../src/core/model/point.js'
import {parsePrometheusText} from '../../src/core/model/prometheus-text.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {PANEL_SETS} from '../../src/tui/top/queries.js'
import {detectPanels, listHosts, MetricsSource} from '../../src/tui/top/source.js'
import {startNodeExporter, type RunningServer} from '../helpers/servers.js'

const EVERY = 2000

describe('mon top over node_exporter names', () => {
  let exporter: RunningServer
  let store: SqliteStore
  let instance: string
  let last = 0

  before(async () => {
    exporter = await startNodeExporter()
    instance = `127.0.0.1:${exporter.port}`
    store = new SqliteStore({path: ':memory:', autoCompactEvery: 0})
    // five scrapes a second apart, stamped when they were taken (counters move with real time)
    for (let i = 0; i < 5; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1000))
      const page = await (await fetch(`${exporter.url}/metrics`)).text()
      const ts = Date.now()
      const {families} = parsePrometheusText(page)
      const points: Point[] = []
      for (const f of families) for (const s of f.samples) if (Number.isFinite(s.value)) points.push({measurement: s.name, tags: {...s.labels, instance, job: 'node'}, fields: {value: s.value}, ts})
      store.writeSync(points)
      last = ts
    }
  })

  after(async () => {
    await store?.close()
    await exporter?.destroy()
  })

  it('is detected from the names, and lists the instance as the host', async () => {
    assert.equal((await detectPanels(store)).name, 'node_exporter')
    assert.deepEqual(await listHosts(store, PANEL_SETS.node_exporter), [instance])
  })

  it('fills CPU, memory, disks, network and load from the exporter\'s pages', async () => {
    const source = new MetricsSource(store, {host: instance, windowMs: 60_000, every: EVERY, perCore: false, panels: 'node_exporter'}, new ManualClock(last + 1))
    const m = await source.poll()
    assert.deepEqual(m.problems, [])
    const cpu = m.cpu.latest.total
    assert.ok(cpu !== undefined && cpu >= 0 && cpu <= 100, `cpu busy ${cpu}`)
    assert.ok(m.memory.memPercent! > 0 && m.memory.memPercent! < 100, `memory ${m.memory.memPercent}`)
    assert.ok(m.memory.memTotal! > 0)
    assert.ok(m.disks.length > 0, 'at least one real filesystem')
    for (const d of m.disks) assert.ok(d.path.startsWith('/') && d.percent >= 0 && d.percent <= 100 && d.total! > 0, JSON.stringify(d))
    assert.ok(m.net.latest.rx !== undefined && m.net.latest.rx >= 0, `rx ${m.net.latest.rx}`)
    assert.ok(m.load.latest.load1 !== undefined && m.load.latest.load1 >= 0)
    assert.deepEqual(m.checks, [], 'node_exporter has no checks')
    // per-core lines: one per cpu label
    source.update({perCore: true})
    const cores = await source.poll()
    assert.ok(Object.keys(cores.cpu.latest).length >= 1)
    console.log(`# [top node_exporter] cpu ${cpu.toFixed(1)}% · memory ${m.memory.memPercent!.toFixed(1)}% of ${(m.memory.memTotal! / 2 ** 30).toFixed(1)} GiB · ${m.disks.length} filesystem(s) · ${Object.keys(cores.cpu.latest).length} core(s)`)
  })
})
