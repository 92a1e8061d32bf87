/**
 * Chaos: timestamps finer than the store keeps. 4,000 points of one series 1 µs apart fall in 4
 * milliseconds. The embedded store keeps milliseconds: it stores 4 values and the 3,996 merged
 * ones are counted (writer `merged_points`, `mon write` output and --json), never silently lost.
 * InfluxDB keeps what it is sent: pushed line protocol goes through at its own precision, all
 * 4,000 stored. Real listener, spool, stores, influxd and the `mon` binary. Prints its counts.
 */
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import {createAgent} from '../../src/core/pipeline/agent.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Store} from '../../src/core/store/types.js'
import {runMon} from '../helpers/cli.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const T0_MS = 1_764_000_000_000
const N = 4000
const MS_SPANNED = 4

/** N points of one series, 1 µs apart, at microsecond precision. */
function microsecondLines(measurement: string): string {
  let text = ''
  for (let i = 0; i < N; i++) text += `${measurement},host=h v=${i} ${T0_MS * 1000 + i}\n`
  return text
}

function post(base: string, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, {method: 'POST'}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function countValues(store: Store, measurement: string): Promise<number> {
  const frames = await store.query({measurement, field: 'v', matchers: [], start: T0_MS - 1000, end: T0_MS + 1000, aggregate: {fn: 'count', by: []}})
  return frames.reduce((n, f) => n + f.rows.reduce((m, r) => m + Number(r[1] ?? 0), 0), 0)
}

/** Pushes the microsecond points to a listener in front of `store`; returns what the writer counted. */
async function pushThroughListener(store: Store, dir: string, measurement: string): Promise<{merged: number; rejected: number}> {
  const {config} = parseConfigText(
    `data_dir: ${dir}
agent: {self_metrics: false, flush_interval: 20ms, batch_size: 5000}
inputs:
  host: {enabled: false}
  listener: {enabled: true, listen: 127.0.0.1:0}
spool: {fsync: never}
`,
    '<test>',
    {},
  )
  const agent = await createAgent({config, dataDir: dir, store, clock: systemClock})
  await agent.start()
  try {
    assert.equal(await post(`http://127.0.0.1:${agent.listenerAddress!.port}`, '/write?precision=u', microsecondLines(measurement)), 204)
    assert.equal(await agent.flushNow(30_000), true)
    const w = agent.status().writer
    return {merged: w.mergedPoints, rejected: w.rejectedPoints}
  } finally {
    await agent.stop(5000)
  }
}

describe('chaos: timestamps finer than the store keeps', () => {
  let tmp: ReturnType<typeof tempDir>
  let influxd: RunningServer | undefined
  before(() => {
    tmp = tempDir('mon-chaos-precision-')
  })
  after(async () => {
    await influxd?.destroy()
    tmp?.cleanup()
  })

  it('the embedded store, pushed: 4 values stored, the 3,996 merged ones counted by the writer', async () => {
    const store = new SqliteStore({path: join(tmp.dir, 'pushed.db')})
    try {
      const r = await pushThroughListener(store, join(tmp.dir, 'push'), 'fine')
      const stored = await countValues(store, 'fine')
      console.log(`[chaos-precision] embedded store via the listener: ${N} points 1 µs apart → ${stored} values stored, ${r.merged} counted as merged, uncounted ${N - stored - r.merged}`)
      assert.equal(stored, MS_SPANNED)
      assert.equal(r.merged, N - MS_SPANNED)
      assert.equal(r.rejected, 0)
    } finally {
      await store.close()
    }
  })

  it('`mon write --precision us`: says how many values were merged, in text and --json', async () => {
    const env = {MON_DATA_DIR: join(tmp.dir, 'cli'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg-config'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data')}
    const text = await runMon(['write', '-', '--precision', 'us'], {env, input: microsecondLines('cli_text')})
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout + text.stderr, new RegExp(`${N - MS_SPANNED} values shared series, field and millisecond with a later one and were merged`))
    const json = await runMon(['write', '-', '--precision', 'us', '--json'], {env, input: microsecondLines('cli_json')})
    assert.equal(json.code, 0, json.stderr)
    const summary = JSON.parse(json.stdout) as {points: number; merged: number}
    console.log(`[chaos-precision] mon write --precision us: ${summary.points} points, ${summary.merged} merged`)
    assert.deepEqual([summary.points, summary.merged], [N, N - MS_SPANNED])
  })

  it('InfluxDB, pushed: the line protocol keeps its microseconds, all 4,000 stored, none merged', async () => {
    influxd = await startInfluxd()
    const store = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'precision'}))
    await store.init()
    try {
      const r = await pushThroughListener(store, join(tmp.dir, 'influx'), 'fine')
      const stored = await countValues(store, 'fine')
      console.log(`[chaos-precision] InfluxDB via the listener: ${N} points 1 µs apart → ${stored} stored, ${r.merged} merged`)
      assert.equal(stored, N)
      assert.equal(r.merged, 0)
    } finally {
      await store.close()
    }
  })
})
