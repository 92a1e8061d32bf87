/**
 * Chaos: the spool fills while the store is away. With `spool.when_full: reject` pushers get 503
 * with Retry-After once `max_bytes` is reached, and nothing that was acknowledged (204) is ever
 * dropped: when the store comes back every acknowledged point is stored, and the refused pushes,
 * sent again as a client does, are taken. Real HTTP on loopback, real spool files, the embedded
 * store (opened only once it is "reachable": the agent retries opening it). Prints its counts.
 */
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {createAgent, type Agent} from '../../src/core/pipeline/agent.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {writeFileSync} from 'node:fs'
import {runMon} from '../helpers/cli.js'
import {freePort, tempDir, waitFor} from '../helpers/servers.js'

const T0 = 1_764_000_000_000
const PER_PUSH = 50

interface Reply {
  status: number
  retryAfter?: string
}

function post(base: string, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/write?precision=ms`, {method: 'POST'}, (res) => {
      res.resume()
      res.on('end', () => resolve({status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

function push(k: number): string {
  let text = ''
  for (let i = 0; i < PER_PUSH; i++) text += `pushed,client=c${k % 5} v=${k * PER_PUSH + i} ${T0 + k * PER_PUSH + i}\n`
  return text
}

describe('chaos: spool full with when_full: reject', () => {
  let tmp: ReturnType<typeof tempDir>
  let agent: Agent
  let store: SqliteStore
  let storeReachable = false

  before(async () => {
    tmp = tempDir('mon-chaos-full-')
    const {config} = parseConfigText(
      `data_dir: ${tmp.dir}
agent: {self_metrics: false, flush_interval: 20ms}
inputs:
  host: {enabled: false}
  listener: {enabled: true, listen: 127.0.0.1:0}
spool: {fsync: never, max_bytes: 64KiB, segment_bytes: 16KiB, when_full: reject}
`,
      '<test>',
      {},
    )
    store = new SqliteStore({path: join(tmp.dir, 'mon.db')})
    const storeSource = async () => {
      if (!storeReachable) throw new Error('store not reachable (test: away until opened)')
      return store
    }
    agent = await createAgent({config, dataDir: tmp.dir, store: storeSource, clock: systemClock, random: () => 0})
    await agent.start()
  })

  after(async () => {
    await agent?.stop(5000)
    await store?.close()
    tmp?.cleanup()
  })

  it('pushers get 503 + Retry-After once max_bytes is reached; every acknowledged point is stored afterwards, none dropped', async () => {
    const base = `http://127.0.0.1:${agent.listenerAddress!.port}`
    const acknowledged: number[] = []
    const refused: number[] = []
    // push until the spool has refused a good number of writes (it holds ~64 KiB)
    for (let k = 0; refused.length < 20; k++) {
      assert.ok(k < 10_000, 'the spool never filled')
      const r = await post(base, push(k))
      if (r.status === 204) acknowledged.push(k)
      else {
        assert.equal(r.status, 503)
        assert.equal(r.retryAfter, '5')
        refused.push(k)
      }
    }
    const full = agent.status().spool
    assert.equal(full.whenFull, 'reject', 'mon status shows the policy')
    assert.equal(full.full, true)
    assert.ok(full.bytes <= 64 * 1024, `${full.bytes} bytes on disk, within max_bytes`)
    assert.equal(full.dropped.points, 0)

    // the store comes back; clients send the refused pushes again after Retry-After
    storeReachable = true
    assert.equal(await agent.flushNow(60_000), true, 'the spool drains')
    for (const k of refused) assert.equal((await post(base, push(k))).status, 204)
    assert.equal(await agent.flushNow(60_000), true)

    const st = agent.status()
    const frames = await store.query({measurement: 'pushed', field: 'v', matchers: [], start: T0, end: T0 + 10_000_000})
    const stored = frames.reduce((n, f) => n + f.rows.length, 0)
    const sent = (acknowledged.length + refused.length) * PER_PUSH
    console.log(
      `[chaos-spool-full] when_full: reject, max_bytes 64KiB, store away: ${acknowledged.length * PER_PUSH} points acknowledged (204), ${refused.length} pushes refused (503, Retry-After ${5}s, ${st.spool.refused.points} points); after the store came back and the refused pushes were resent: stored ${stored} of ${sent}, dropped ${st.spool.dropped.points}, acknowledged but lost ${acknowledged.length * PER_PUSH - Math.min(stored, acknowledged.length * PER_PUSH)}`,
    )
    assert.equal(st.spool.dropped.points, 0)
    assert.equal(st.spool.refused.points, refused.length * PER_PUSH)
    assert.equal(st.listener!.spoolFull, refused.length)
    assert.equal(st.spool.full, false)
    assert.equal(stored, sent)
  })

  it('`mon collect --once` whose points do not fit exits 1 naming the spool, and does not hang on the store retries', async () => {
    const dir = join(tmp.dir, 'once')
    const config = join(tmp.dir, 'once.yaml')
    // nothing listens on that port: the store is unreachable, the writer keeps retrying
    writeFileSync(config, `data_dir: ${dir}\nstore: {type: influxdb, url: 'http://127.0.0.1:${await freePort()}', database: x}\nspool: {max_bytes: 4KiB, when_full: reject}\n`)
    const r = await runMon(['collect', '--once', '--config', config, '--drain-timeout', '1s'], {env: {XDG_CONFIG_HOME: join(tmp.dir, 'xdg')}, timeoutMs: 30_000})
    console.log(`[chaos-spool-full] mon collect --once with a full rejecting spool: exit ${r.code}`)
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /the spool in .* is full \(spool.max_bytes 4096 bytes\) and spool.when_full is reject: the points were not taken/)
  })

  it('a scheduled input waits while the spool refuses: its runs are skipped (overlapped), its points kept and stored later, none dropped', async () => {
    const dir = join(tmp.dir, 'scheduled')
    const {config} = parseConfigText(
      `data_dir: ${dir}
agent: {self_metrics: false, flush_interval: 20ms}
inputs:
  host: {enabled: false}
  exec:
    - name: gen
      command: [sh, -c, 'for i in $(seq 1 100); do echo sched,n=$i v=1; done']
      interval: 200ms
spool: {fsync: never, max_bytes: 16KiB, segment_bytes: 4KiB, when_full: reject}
`,
      '<test>',
      {},
    )
    const sched = new SqliteStore({path: join(dir, 'mon.db')})
    let reachable = false
    const a = await createAgent({config, dataDir: dir, store: async () => (reachable ? sched : Promise.reject(new Error('store away (test)'))), clock: systemClock, random: () => 0})
    await a.start()
    try {
      const gen = () => a.status().inputs.find((i) => i.name === 'exec:gen')!
      await waitFor(async () => a.status().spool.full && gen().overlapped > 0, 'the spool full and the input waiting', 60_000)
      const waiting = gen()
      reachable = true
      await waitFor(async () => !a.status().spool.full && a.status().spool.points === 0 && gen().gathered > waiting.gathered, 'the held points spooled and written', 60_000)
    } finally {
      await a.stop(10_000)
    }
    const g = a.status().inputs.find((i) => i.name === 'exec:gen')!
    const frames = await sched.query({measurement: 'sched', field: 'v', matchers: [], start: 0, end: Date.now() + 60_000, aggregate: {fn: 'count', by: []}})
    const stored = frames.reduce((n, f) => n + Number(f.rows[0]?.[1] ?? 0), 0)
    await sched.close()
    console.log(`[chaos-spool-full] scheduled input while the spool refused: ${g.runs} runs, ${g.overlapped} skipped while its points waited, gathered ${g.gathered}, written ${g.written}, stored ${stored}, dropped ${g.dropped}`)
    assert.ok(g.overlapped > 0)
    assert.equal(g.dropped, 0)
    assert.equal(g.written, g.gathered)
    assert.equal(stored, g.gathered)
  })
})
