/**
 * The 2.x write path (@influxdata/influxdb-client's WriteApi → /api/v2/write with org, bucket
 * and token) against a real server that speaks it: VictoriaMetrics, read back through its
 * /api/v1/export. Also the real `mon collect --once` with `version: 2`.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import type {Point} from '../../src/core/model/point.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {runMon} from '../helpers/cli.js'
import {startVictoriaMetrics, tempDir, waitFor, type RunningServer} from '../helpers/servers.js'

interface Exported {
  metric: Record<string, string>
  values: number[]
  timestamps: number[]
}

describe('InfluxDB 2.x writes, verified against VictoriaMetrics', () => {
  let vm: RunningServer
  const tmp = tempDir('mon-influx-v2-')

  before(async () => {
    vm = await startVictoriaMetrics()
  })

  after(async () => {
    await vm?.destroy()
    tmp.cleanup()
  })

  /** What VictoriaMetrics stored for series matching `selector`, once it shows `want` series. */
  async function exported(selector: string, want: number): Promise<Exported[]> {
    let rows: Exported[] = []
    await waitFor(
      async () => {
        await fetch(`${vm.url}/internal/force_flush`)
        const res = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({'match[]': selector, start: '0'})}`)
        const text = await res.text()
        rows = text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Exported)
        return rows.length >= want
      },
      `${want} series matching ${selector} in VictoriaMetrics`,
      15_000,
    )
    return rows.sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)))
  }

  for (const gzip of [true, false]) {
    it(`writes floats, integers and booleans with escaped tags (gzip ${gzip})`, async () => {
      const m = gzip ? 'v2gz' : 'v2plain'
      const store = new InfluxStore(
        influxStoreSchema.parse({type: 'influxdb', url: vm.url, version: '2', org: 'acme', bucket: 'metrics', token: 'any-token', gzip, batch_size: 1000}),
      )
      const base = 1_764_000_000_000
      const points: Point[] = []
      for (let i = 0; i < 2500; i++) {
        // (a backslash right before an escaped character is read differently by InfluxDB 1.x/2.x and
        // by VictoriaMetrics/InfluxDB 3, see line-protocol.ts, so it is not used here)
        points.push({measurement: m, tags: {host: 'web 1', path: 'C:\\temp,x=y'}, fields: {usage: i / 4, count: BigInt(i), up: i % 2 === 0}, ts: base + i * 1000})
      }

      await store.write(points)
      assert.equal((await store.ready()).api, 2)
      await store.close()
      const rows = await exported(`{__name__=~"${m}_.*"}`, 3)
      assert.deepEqual(
        rows.map((r) => r.metric),
        [
          {__name__: `${m}_count`, host: 'web 1', path: 'C:\\temp,x=y'},
          {__name__: `${m}_up`, host: 'web 1', path: 'C:\\temp,x=y'},
          {__name__: `${m}_usage`, host: 'web 1', path: 'C:\\temp,x=y'},
        ],
      )
      for (const r of rows) assert.equal(r.values.length, 2500, `${r.metric.__name__}: ${r.values.length} points`)
      const byName = Object.fromEntries(rows.map((r) => [r.metric.__name__, r]))
      assert.deepEqual(byName[`${m}_usage`].values.slice(0, 4), [0, 0.25, 0.5, 0.75])
      assert.deepEqual(byName[`${m}_count`].values.slice(-2), [2498, 2499])
      assert.deepEqual(byName[`${m}_up`].values.slice(0, 3), [1, 0, 1])
      assert.equal(byName[`${m}_usage`].timestamps[0], base)
    })
  }

  it('detects the 2.x API from the config when the server does not say its version', async () => {
    // VictoriaMetrics answers /ping without X-Influxdb-Version; a bucket in the config means 2.x
    const store = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: vm.url, org: 'acme', bucket: 'metrics', token: 't'}))
    await store.write([{measurement: 'autodetect', tags: {}, fields: {v: 42}, ts: 1_764_000_000_000}])
    const info = await store.ready()
    await store.close()
    assert.deepEqual(info, {api: 2, serverVersion: undefined})
    const [row] = await exported('{__name__="autodetect_v"}', 1)
    assert.deepEqual(row.values, [42])
  })

  it('mon collect --once writes through the 2.x API', async () => {
    const config = join(tmp.dir, 'mon.yaml')
    writeFileSync(config, `host: v2-host\nstore:\n  type: influxdb\n  url: ${vm.url}\n  version: 2\n  org: acme\n  bucket: metrics\n  token: \${INFLUX_TOKEN}\n`)
    const r = await runMon(['collect', '--once', '--input', 'host', '--json', '--config', config], {env: {MON_DATA_DIR: join(tmp.dir, 'data'), INFLUX_TOKEN: 'tok-123'}})
    assert.equal(r.code, 0, r.stderr)
    const rows = await exported('{__name__="mem_used_percent"}', 1)
    assert.deepEqual(rows[0].metric, {__name__: 'mem_used_percent', host: 'v2-host'})
    assert.ok(rows[0].values[0] > 0 && rows[0].values[0] <= 100)
  })
})
