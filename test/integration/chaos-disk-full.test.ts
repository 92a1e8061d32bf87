/**
 * Chaos: the disk fills up under a running collector. On a tmpfs of its own (a few MiB), with the
 * data directory (spool and mon.db) on it: points pushed to the listener, a ballast file filling
 * the disk, the ballast removed, then a restart while the disk is full again. The collector
 * answers 503 + Retry-After while full (never 500), recovers by itself, restarts, and every point
 * it acknowledged (204) ends up in the store. Scheduled inputs' points wait in memory meanwhile.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {loadConfig} from '../../src/core/config/load.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {createDaemon} from '../../src/core/daemon/daemon.js'
import {DiskFullError} from '../../src/core/disk.js'
import {acquireLock, daemonPidPath} from '../../src/core/lock.js'
import {Batcher} from '../../src/core/pipeline/batcher.js'
import {createAgent, type Agent} from '../../src/core/pipeline/agent.js'
import {RECLAIM_BYTES, RESERVE_FILE, Spool} from '../../src/core/pipeline/spool.js'
import {systemTimer} from '../../src/core/scheduler/timer.js'
import {silentLogger} from '../../src/core/log.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {runMon} from '../helpers/cli.js'
import {tempDir, waitFor} from '../helpers/servers.js'
import {fillDisk, mountTmpfs} from '../helpers/tmpfs.js'

const TOKEN = 'chaos-token'
const LINES_PER_WRITE = 300
const T0 = 1_700_000_000_000

interface Reply {
  status: number
  retryAfter?: string
  body: string
}

function post(port: number, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`http://127.0.0.1:${port}/write?precision=ms`, {method: 'POST', headers: {authorization: `Token ${TOKEN}`}}, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: text}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Pushes numbered points: each write has its own timestamps, so the store's count is exact. */
class Pusher {
  acknowledged = 0
  private next = 0
  readonly statuses = new Map<number, number>()
  constructor(private readonly port: number) {}

  async write(): Promise<Reply> {
    const first = this.next
    let body = ''
    for (let i = 0; i < LINES_PER_WRITE; i++) body += `chaos,src=push v=${first + i}i ${T0 + first + i}\n`
    const reply = await post(this.port, body)
    this.statuses.set(reply.status, (this.statuses.get(reply.status) ?? 0) + 1)
    // a refused write is sent again with the same points (what a client does): nothing skipped
    if (reply.status === 204) {
      this.next += LINES_PER_WRITE
      this.acknowledged += LINES_PER_WRITE
    }
    return reply
  }
}

function configFor(dir: string) {
  return parseConfigText(
    `data_dir: ${dir}
host: chaos
agent: {self_metrics: false, flush_interval: 20ms}
inputs:
  host: {enabled: false}
  listener: {enabled: true, listen: 127.0.0.1:0, token: ${TOKEN}}
spool: {fsync: batch, reserve_bytes: 512KiB}
`,
    '<chaos>',
    {},
  ).config
}

function segmentBytes(dir: string): number {
  const spool = join(dir, 'spool')
  return readdirSync(spool)
    .filter((f) => f.endsWith('.seg'))
    .reduce((n, f) => n + statSync(join(spool, f)).size, 0)
}

async function storedPoints(dir: string): Promise<number> {
  const store = new SqliteStore({path: join(dir, 'mon.db')})
  try {
    const frames = await store.query({measurement: 'chaos', field: 'v', matchers: [], start: 0, end: T0 + 1e9})
    return frames.reduce((n, f) => n + f.rows.length, 0)
  } finally {
    await store.close()
  }
}

describe('chaos: disk full', () => {
  const disk = mountTmpfs(24 << 20, 'mon-chaos-disk-')
  /** stops what a failed test left running, so the tmpfs can be unmounted */
  const running: Array<() => Promise<unknown>> = []
  after(async () => {
    for (const stop of running) await stop().catch(() => {})
    disk.cleanup()
  })

  it('the listener answers 503 while full, recovers by itself, restarts on a full disk, loses nothing acknowledged', async () => {
    const ballast = join(disk.dir, 'ballast')
    try {
      await fullDiskScenario(ballast)
    } finally {
      rmSync(ballast, {force: true})
    }
  })

  async function fullDiskScenario(ballast: string): Promise<void> {
    const dir = join(disk.dir, 'data')
    const config = configFor(dir)
    // the agent opens the store after the spool (as on a restart): it is closed here between runs
    const opened: {store?: SqliteStore} = {}
    const openStore = async () => (opened.store = new SqliteStore({path: join(dir, 'mon.db')}))
    let agent: Agent = await createAgent({config, dataDir: dir, store: openStore, clock: systemClock})
    running.push(() => agent.stop(1000).then(() => opened.store?.close()))
    await agent.start()
    const pusher = new Pusher(agent.listenerAddress!.port)

    // 1. ~4 MiB of points through the spool: stored, and their spool bytes freed as they go
    for (let i = 0; i < 400; i++) assert.equal((await pusher.write()).status, 204)
    assert.equal(await agent.flushNow(30_000), true)
    const afterCatchUp = segmentBytes(dir)
    assert.ok(afterCatchUp <= RECLAIM_BYTES + 64 * 1024, `stored points are not kept in the spool: ${afterCatchUp} bytes of segments after the writer caught up`)

    // 2. the disk fills: 503 + Retry-After, never 500
    const ballastBytes = fillDisk(ballast)
    let full: Reply | undefined
    for (let i = 0; i < 2000 && !full; i++) {
      const r = await pusher.write()
      if (r.status !== 204) full = r
    }
    assert.ok(full, 'the disk never filled up')
    assert.equal(full.status, 503, full.body)
    assert.ok(Number(full.retryAfter) > 0, 'Retry-After tells the client when to come back')
    assert.match(JSON.parse(full.body).error, /disk full: cannot append to the spool segment .*\(\d+ bytes free\)/)
    const whileFull = agent.status()
    assert.equal(whileFull.spool.diskFull, true, 'mon status, /healthz and mon_internal see the disk full')
    const acknowledgedWhileFilling = pusher.acknowledged

    // 3. space returns: writes are taken again without a restart
    rmSync(ballast)
    await waitFor(async () => (await pusher.write()).status === 204, 'the listener to take writes again after the ballast went', 30_000)
    assert.equal(agent.status().spool.diskFull, false, 'the disk-full state clears with the first append that works')
    for (let i = 0; i < 20; i++) assert.equal((await pusher.write()).status, 204)
    assert.equal(await agent.flushNow(60_000), true, 'the writer catches up once the store can write again')
    assert.equal(agent.status().spool.records, 0)

    // 4. full again, then a restart: the lock and the recovery find room (the reserve)
    for (let i = 0; i < 50; i++) assert.equal((await pusher.write()).status, 204)
    fillDisk(ballast)
    await agent.stop(10_000)
    await opened.store?.close()
    assert.deepEqual(readdirSync(join(dir, 'spool')).filter((f) => f.startsWith('LOCK')), [], 'no LOCK or LOCK.new-* left behind')
    agent = await createAgent({config, dataDir: dir, store: openStore, clock: systemClock})
    await agent.start()
    assert.deepEqual(readdirSync(join(dir, 'spool')).filter((f) => f.startsWith('LOCK.')), [])
    rmSync(ballast)
    assert.equal(await agent.flushNow(60_000), true)
    await agent.stop(10_000)
    await opened.store?.close()

    // 5. every acknowledged point is in the store
    const stored = await storedPoints(dir)
    console.log(`# chaos disk-full: tmpfs 24 MiB, ballast ${ballastBytes} B; acknowledged ${pusher.acknowledged} points (${acknowledgedWhileFilling} before the first 503), stored ${stored}; replies ${JSON.stringify(Object.fromEntries(pusher.statuses))}; spool after catch-up ${afterCatchUp} B; status while full: disk_full=${whileFull.spool.diskFull}, held in memory ${whileFull.heldPoints}`)
    assert.equal(pusher.statuses.get(500), undefined, 'no 500 while the disk is full')
    assert.equal(stored, pusher.acknowledged, 'every point the listener acknowledged is stored')
  }

  it('on a full disk a lock cannot be created: "disk full" naming the path, no LOCK.new-* left; the spool takes its reserve to open', async () => {
    const dir = join(disk.dir, 'locks')
    const ballast = join(disk.dir, 'ballast-3')
    const first = Spool.open({dir, maxBytes: 1 << 30, segmentBytes: 16 << 20, fsync: 'batch', clock: systemClock, reserveBytes: 256 << 10})
    await first.close()
    assert.equal(statSync(join(dir, RESERVE_FILE)).size, 256 << 10, 'the reserve stays on disk between runs')
    try {
      fillDisk(ballast)
      const lockPath = join(disk.dir, 'other.lock')
      assert.throws(
        () => acquireLock(lockPath, () => ({message: 'held'})),
        (err: unknown) => err instanceof DiskFullError && /^disk full: cannot create the lock file .*other\.lock \(\d+ bytes free\)$/.test(err.message) && err.exitCode === 1,
      )
      assert.deepEqual(readdirSync(disk.dir).filter((f) => f.startsWith('other.lock')), [], 'no LOCK.new-* left behind')
      const reopened = Spool.open({dir, maxBytes: 1 << 30, segmentBytes: 16 << 20, fsync: 'batch', clock: systemClock, reserveBytes: 256 << 10})
      await reopened.close()
      assert.deepEqual(readdirSync(dir).filter((f) => f === RESERVE_FILE), [], 'the reserve made the room, and is not taken back on a full disk')
    } finally {
      rmSync(ballast, {force: true})
    }
  })

  it('mon daemon restarts on a full disk: the spool reserve of the data directory makes room for its lock, state.db and the store', async () => {
    const dataDir = join(disk.dir, 'daemon')
    const ballast = join(disk.dir, 'ballast-5')
    const conf = tempDir('mon-chaos-conf-')
    const path = join(conf.dir, 'mon.yaml')
    writeFileSync(path, `data_dir: ${dataDir}\nagent: {self_metrics: false}\ninputs:\n  host: {enabled: false}\napi: {listen: "127.0.0.1:0"}\n`)
    const load = () => loadConfig({path, env: {}})
    const startDaemon = async () => {
      const daemon = createDaemon({loaded: await load(), loadConfig: load, log: silentLogger, version: 'chaos'})
      running.push(() => daemon.stop(1000))
      await daemon.start()
      return daemon
    }
    try {
      await (await startDaemon()).stop(5000)
      assert.equal(statSync(join(dataDir, 'spool', RESERVE_FILE)).size, 1 << 20, 'the first run left its reserve')
      fillDisk(ballast)
      const daemon = await startDaemon()
      assert.equal(daemon.state, 'running')
      assert.equal(existsSync(join(dataDir, 'spool', RESERVE_FILE)), false, 'the reserve was released to make the room')
      assert.equal(readFileSync(daemonPidPath(dataDir), 'utf8').trim(), String(process.pid))
      await daemon.stop(5000)
      assert.deepEqual(readdirSync(dataDir, {recursive: true}).map(String).filter((f) => /\.new-/.test(f)), [])
    } finally {
      rmSync(ballast, {force: true})
      conf.cleanup()
    }
  })

  it('mon collect --once on a full disk: exit 1, "disk full: …" naming the file and the free space, no stack, nothing left behind', async () => {
    const dir = join(disk.dir, 'cli')
    const ballast = join(disk.dir, 'ballast-4')
    mkdirSync(dir)
    try {
      fillDisk(ballast)
      const r = await runMon(['collect', '--once'], {env: {MON_DATA_DIR: dir}})
      assert.equal(r.code, 1, r.stdout + r.stderr)
      assert.match(r.stderr, /disk full: cannot \S+.* \S+ \(\d+ bytes free\)/)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace: a full disk is not a bug')
      const left = readdirSync(dir, {recursive: true}).map(String).filter((f) => /LOCK\.new-|\.new$/.test(f))
      assert.deepEqual(left, [])
      console.log(`# chaos disk-full: mon collect --once on a full disk: ${r.stderr.split('\n')[0]}`)
    } finally {
      rmSync(ballast, {force: true})
    }
  })

  it('scheduled points wait in memory while the disk is full and reach the spool when space returns', async () => {
    const dir = join(disk.dir, 'batcher')
    const ballast = join(disk.dir, 'ballast-2')
    const spool = Spool.open({dir, maxBytes: 1 << 30, segmentBytes: 16 << 20, fsync: 'batch', clock: systemClock, reserveBytes: 0})
    try {
      const batcher = new Batcher({spool, batchSize: 1_000_000, flushIntervalMs: 10, timer: systemTimer})
      fillDisk(ballast)
      const points = Array.from({length: 5000}, (_, i) => ({measurement: 'sched', tags: {}, fields: {v: i}, ts: T0 + i}))
      const appended = batcher.add('exec', points)
      await waitFor(async () => batcher.stats().held === 5000, 'the batcher to hold the points a full disk refused', 10_000)
      assert.equal(batcher.stats().failedByInput.exec, undefined, 'nothing counted lost')
      assert.match(batcher.stats().lastError ?? '', /^disk full: /)
      assert.equal(spool.status().diskFull, true)
      rmSync(ballast)
      await appended
      assert.equal(batcher.stats().held, 0)
      assert.equal(spool.status().diskFull, false)
      assert.equal(spool.backlog().points, 5000)
      console.log(`# chaos disk-full: batcher held 5000 points while full, all 5000 in the spool after`)
    } finally {
      await spool.close()
    }
  })
})
