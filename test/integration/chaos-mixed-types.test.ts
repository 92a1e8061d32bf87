/**
 * Chaos: one point the store refuses (a field type conflict, `v="oops"` after `v=1`) among good
 * ones. The listener checks syntax only and answers 204, so the refusal comes later, from the
 * store: real HTTP on loopback → listener → disk spool → writer → the embedded store, and the same
 * with a real influxd (its partial-write 400). Only the refused points may be lost, each counted
 * for the input that sent it; every other acknowledged point is stored. The concurrent run keeps
 * the store away while the clients push (the agent retries opening it), so that the writer's
 * batches then mix many clients' records with the bad ones. Prints its counts.
 */
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import {createAgent, type Agent} from '../../src/core/pipeline/agent.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Store} from '../../src/core/store/types.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const T0 = 1_764_000_000_000

interface Pipeline {
  agent: Agent
  store: Store
  base: string
  tmp: ReturnType<typeof tempDir>
  /** until set, the agent cannot open the store (it retries), so pushes pile up in the spool */
  reachable: {now: boolean}
}

async function startPipeline(open: (dir: string) => Promise<Store>, opts: {storeReachable: boolean}): Promise<Pipeline> {
  const tmp = tempDir('mon-chaos-types-')
  const store = await open(tmp.dir)
  const {config} = parseConfigText(
    `data_dir: ${tmp.dir}
agent: {self_metrics: false, flush_interval: 20ms, batch_size: 5000}
inputs:
  host: {enabled: false}
  listener: {enabled: true, listen: 127.0.0.1:0, max_body: 8MiB}
spool: {fsync: never}
`,
    '<test>',
    {},
  )
  const reachable = {now: opts.storeReachable}
  const storeSource = async () => {
    if (!reachable.now) throw new Error('store not reachable (test: away for now)')
    return store
  }
  const agent = await createAgent({config, dataDir: tmp.dir, store: storeSource, clock: systemClock, random: () => 0})
  await agent.start()
  return {agent, store, base: `http://127.0.0.1:${agent.listenerAddress!.port}`, tmp, reachable}
}

async function stopPipeline(p: Pipeline | undefined): Promise<void> {
  if (!p) return
  await p.agent.stop(5000)
  await p.store.close()
  p.tmp.cleanup()
}

function post(base: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/write?precision=ms`, {method: 'POST'}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** `n` good points of series `client=<name>`, field v a float, one ms apart. */
function goodLines(measurement: string, client: string, n: number, from = 0): string {
  let text = ''
  for (let i = 0; i < n; i++) text += `${measurement},client=${client} v=${i + 0.5} ${T0 + from + i}\n`
  return text
}

async function stored(store: Store, measurement: string): Promise<number> {
  const frames = await store.query({measurement, field: 'v', matchers: [], start: T0 - 10_000, end: T0 + 86_400_000})
  return frames.reduce((n, f) => n + f.rows.length, 0)
}

function checkMixedBatch(name: string, open: (dir: string) => Promise<Store>, setup?: () => Promise<void>): void {
  describe(`chaos: a field type conflict in a pushed batch (${name})`, () => {
    let p: Pipeline | undefined
    before(async () => {
      await setup?.()
      p = await startPipeline(open, {storeReachable: true})
    })
    after(() => stopPipeline(p))

    it('one bad point among 101 in one request: 100 stored, 1 dropped and counted, 0 good points lost', async () => {
      const {agent, store, base} = p!
      assert.equal(await post(base, goodLines('mixed', 'seed', 1, -1000)), 204)
      assert.equal(await agent.flushNow(10_000), true)
      // 50 good, the bad one, 50 good: the store sees them in one batch
      const body = goodLines('mixed', 'a', 50) + `mixed,client=a v="oops" ${T0 + 50}\n` + goodLines('mixed', 'a', 50, 51)
      assert.equal(await post(base, body), 204, 'the listener checks syntax, not types')
      assert.equal(await agent.flushNow(10_000), true)
      const st = agent.status()
      const kept = (await stored(store, 'mixed')) - 1
      console.log(`[chaos-mixed-types ${name}] one request of 101 points, 1 with a conflicting type: stored ${kept}, dropped ${st.spool.dropped.points}, good points lost ${100 - kept}`)
      assert.equal(kept, 100)
      assert.equal(st.writer.rejectedPoints, 1)
      assert.equal(st.spool.dropped.points, 1)
      assert.deepEqual(st.spool.droppedByInput, {listener: 1})
    })

    it('50 clients push 1,000 good points each while one client pushes bad ones: every good point is stored', async () => {
      // a pipeline whose store is away while they push, so that the writer then takes batches
      // mixing many clients' records with the bad ones (once the agent has a store it keeps it)
      const q = await startPipeline(open, {storeReachable: false})
      try {
        const {agent, store, base} = q
        // the field's type comes from its first point, a good one (spooled first, written first)
        assert.equal(await post(base, goodLines('crowd', 'seed', 1, -1000)), 204)
        const clients = 50
        const perClient = 1000
        const requestsEach = 4
        const badRequests = 20
        const bodies: string[] = []
        for (let r = 0; r < requestsEach; r++) {
          for (let c = 0; c < clients; c++) bodies.push(goodLines('crowd', `c${c}`, perClient / requestsEach, r * (perClient / requestsEach)))
        }
        // the poison: a float field of the crowd measurement as a string, sent among the good pushes
        for (let r = 0; r < badRequests; r++) bodies.splice(r * 11 + 5, 0, `crowd,client=bad v="oops" ${T0 + r}\n`)
        const statuses = await Promise.all(bodies.map((body) => post(base, body)))
        assert.ok(statuses.every((s) => s === 204), `all pushes acknowledged: ${[...new Set(statuses)].join(',')}`)
        q.reachable.now = true
        assert.equal(await agent.flushNow(60_000), true)
        const st = agent.status()
        const kept = (await stored(store, 'crowd')) - 1
        const dropped = st.spool.dropped.points
        console.log(`[chaos-mixed-types ${name}] ${clients} clients × ${perClient} good points + ${badRequests} bad points, concurrently: stored ${kept} of ${clients * perClient}, dropped ${dropped}, good points lost ${clients * perClient - kept}`)
        assert.equal(kept, clients * perClient)
        assert.equal(dropped, badRequests)
        assert.deepEqual(st.spool.droppedByInput, {listener: badRequests})
      } finally {
        await stopPipeline(q)
      }
    })
  })
}

checkMixedBatch('embedded store', async (dir) => new SqliteStore({path: join(dir, 'mon.db')}))

let influxd: RunningServer | undefined
after(() => influxd?.destroy())
checkMixedBatch(
  'InfluxDB partial write',
  async (dir) => {
    // a database per pipeline: each starts with no fields
    const store = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd!.url, database: `chaos_${dir.replace(/\W/g, '_').slice(-12)}`}))
    await store.init()
    return store
  },
  async () => {
    influxd = await startInfluxd()
  },
)
