/**
 * "No double page" (issue 19, docs/cluster.md#notifications): three real `mon daemon` processes
 * run the same rule against one influxd, share a real 3-node NATS JetStream cluster with
 * `cluster.ha` on, and page one loopback webhook receiver that counts deliveries per
 * (group, transition) with their dedup keys. The test drives alerts by writing points, and
 * SIGKILLs the notifying daemon before a send, between a send and its record, and after a send;
 * SIGSTOPs it past its lease and SIGCONTs it. At the end every group got exactly one firing and
 * one resolved notification, except the one group whose notifier was killed between send and
 * record: that one got its firing twice, with the same dedup key. Nothing waits a fixed time: every
 * step waits for a condition. MON_HA_TEST_DUMP=<dir> keeps the daemons' logs, the last notifier's
 * facts and the store's content there (debugging).
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, it} from 'node:test'
import {notifierStatus, type NotifierFacts} from '../../src/core/cluster/jetstream-ha-notify.js'
import {clusterSchema} from '../../src/core/cluster/config.js'
import {connectNats} from '../../src/core/cluster/nats.js'
import type {DaemonStatusView} from '../../src/core/daemon/status.js'
import {startCapture, type CaptureServer, type CapturedRequest} from '../helpers/capture.js'
import {BIN, runMon} from '../helpers/cli.js'
import {startNatsCluster, type NatsCluster} from '../helpers/nats.js'
import {startInfluxd, tempDir, waitFor, type RunningServer} from '../helpers/servers.js'

const TOKEN = 'ha-notify-test-token-8d2e'
const JOBS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const
type Job = (typeof JOBS)[number]

let tmp: ReturnType<typeof tempDir>
let influxd: RunningServer
let nats: NatsCluster
let hook: CaptureServer
let writer: ReturnType<typeof setInterval> | undefined
const up: Record<Job, number> = {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1}

interface Daemon {
  member: string
  dir: string
  config: string
  proc?: ChildProcess
  url?: string
  log: string
}
const daemons: Daemon[] = []

const RULES = `groups:
  - name: svc
    interval: 1s
    rules:
      - alert: JobDown
        expr: max(svc.up) by (job) < 1
        labels: {severity: page}
`

function configFor(d: Daemon): string {
  return `data_dir: ${join(d.dir, 'data')}
host: ${d.member}
agent: {self_metrics: false}
inputs:
  host: {enabled: false}
store: {type: influxdb, url: "${influxd.url}", database: ha}
rules: {files: [rules.yaml]}
api: {listen: "127.0.0.1:0", token: ${TOKEN}}
notify:
  receivers:
    - name: pager
      webhook_configs: [{url: "${hook.url}/page", timeout: 30s}]
  route: {receiver: pager, group_by: [alertname, job], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
cluster:
  enabled: true
  nats: {servers: [${nats.urls.map((u) => `"${u}"`).join(', ')}]}
  name: hatest
  member: ${d.member}
  ha: {enabled: true, lease: 3s}
`
}

const snapshotOf = (d: Daemon) => JSON.parse(readFileSync(join(d.dir, 'data', 'daemon.json'), 'utf8')) as DaemonStatusView

async function startDaemon(d: Daemon): Promise<void> {
  d.log += `--- start ${new Date().toISOString()}\n`
  const proc = spawn(process.execPath, [BIN, 'daemon', '--config', d.config], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  proc.stderr!.on('data', (c) => (d.log = (d.log + c).slice(-400_000)))
  proc.stdout!.on('data', (c) => (d.log = (d.log + c).slice(-400_000)))
  d.proc = proc
  const file = join(d.dir, 'data', 'daemon.json')
  await waitFor(async () => existsSync(file) && snapshotOf(d).pid === proc.pid && snapshotOf(d).state === 'running' && snapshotOf(d).api !== null, `${d.member} running`, 60_000, proc, () => d.log)
  d.url = snapshotOf(d).api!.url
}

async function kill(d: Daemon, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const proc = d.proc!
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise((r) => proc.once('exit', r))
  proc.kill(signal)
  await exited
}

const alive = (d: Daemon) => d.proc !== undefined && d.proc.exitCode === null && d.proc.signalCode === null

async function notifierOf(d: Daemon): Promise<NotifierFacts | undefined> {
  const res = await fetch(`${d.url}/api/v1/status`, {headers: {Authorization: `Bearer ${TOKEN}`}, signal: AbortSignal.timeout(2000)})
  if (!res.ok) return undefined
  return ((await res.json()) as DaemonStatusView).notifier
}

async function statusOf(d: Daemon): Promise<DaemonStatusView> {
  const res = await fetch(`${d.url}/api/v1/status`, {headers: {Authorization: `Bearer ${TOKEN}`}, signal: AbortSignal.timeout(2000)})
  return (await res.json()) as DaemonStatusView
}

/** Waits until the daemon's notifier loop has ticked `n` times from now (each tick flushes what is due). */
async function waitTicks(d: Daemon, n: number): Promise<void> {
  let since = Date.now()
  for (let i = 0; i < n; i++) {
    let at = 0
    await waitFor(
      async () => {
        const t = (await statusOf(d)).notify.lastTickAt
        at = t === null ? 0 : Date.parse(t)
        return at > since
      },
      `${d.member}'s notifier ticks`,
      30_000,
    )
    since = at
  }
}

/** Waits until one of `among` says it is the notifier, and returns it. */
async function waitNotifier(among: Daemon[], what: string): Promise<Daemon> {
  let found: Daemon | undefined
  await waitFor(
    async () => {
      for (const d of among) {
        if (!alive(d)) continue
        const f = await notifierOf(d).catch(() => undefined)
        if (f?.active) {
          found = d
          return true
        }
      }
      return false
    },
    what,
    60_000,
    undefined,
    () => daemons.map((d) => `--- ${d.member}\n${d.log.slice(-3000)}`).join('\n'),
  )
  return found!
}

async function writePoints(): Promise<void> {
  const now = Date.now()
  const body = JOBS.map((j) => `svc,job=${j} up=${up[j]} ${now}`).join('\n')
  await fetch(`${influxd.url}/write?db=ha&precision=ms`, {method: 'POST', body}).catch(() => {})
}

interface Page {
  job: string
  status: string
  dedupKey: string
}
const pageOf = (r: CapturedRequest): Page => {
  const body = JSON.parse(r.body) as {status: string; groupLabels: {job: string}}
  return {job: body.groupLabels.job, status: body.status, dedupKey: String(r.headers['x-mon-dedup-key'] ?? '')}
}
/** pages that reached the receiver (answered or not) */
const pages = (job: Job, status: 'firing' | 'resolved') => hook.requests.map(pageOf).filter((p) => p.job === job && p.status === status)

async function waitPages(job: Job, status: 'firing' | 'resolved', n: number): Promise<void> {
  await waitFor(async () => pages(job, status).length >= n, `${n} ${status} page(s) for job ${job}`, 60_000, undefined, () =>
    [`pages: ${JSON.stringify(hook.requests.map(pageOf))}`, ...daemons.map((d) => `--- ${d.member}\n${d.log.slice(-3000)}`)].join('\n'),
  )
}

/** Waits until the shared log (as daemon `n` read it) records a delivery for the job's group. */
async function waitRecorded(n: Daemon, job: Job, kind: 'firing' | 'resolved'): Promise<void> {
  let facts: NotifierFacts | undefined
  await waitFor(
    async () => {
      facts = await notifierOf(n)
      return facts?.recent.some((r) => r.groupKey.includes(`job="${job}"`) && r.kind === kind) ?? false
    },
    `${kind} of ${job} recorded`,
    30_000,
    undefined,
    () => [`${n.member}: ${JSON.stringify(facts)}`, `pages: ${JSON.stringify(hook.requests.map(pageOf))}`, ...daemons.map((d) => `--- ${d.member}\n${d.log.slice(-3000)}`)].join('\n'),
  )
}

before(async () => {
  tmp = tempDir('mon-ha-notify-')
  ;[influxd, nats, hook] = await Promise.all([startInfluxd(), startNatsCluster(3), startCapture()])
  const created = await fetch(`${influxd.url}/query`, {method: 'POST', body: new URLSearchParams({q: 'CREATE DATABASE ha'})})
  assert.equal(created.status, 200)
  await writePoints()
  writer = setInterval(() => void writePoints(), 250)
  for (const member of ['d1', 'd2', 'd3']) {
    const dir = join(tmp.dir, member)
    mkdirSync(dir, {recursive: true})
    const d: Daemon = {member, dir, config: join(dir, 'mon.yaml'), log: ''}
    writeFileSync(join(dir, 'rules.yaml'), RULES)
    writeFileSync(d.config, configFor(d))
    daemons.push(d)
  }
  await Promise.all(daemons.map((d) => startDaemon(d)))
})

after(async () => {
  if (writer) clearInterval(writer)
  for (const d of daemons) {
    if (d.proc && alive(d)) {
      d.proc.kill('SIGCONT')
      await kill(d)
    }
  }
  await hook?.close()
  await nats?.destroy()
  await influxd?.destroy()
  tmp?.cleanup()
})

it('pages exactly once per group transition through kills and a pause of the notifier', {timeout: 600_000}, async () => {
  // steady state: exactly one of the three sends
  let n = await waitNotifier(daemons, 'a notifier elected')
  // `mon status` names it, on it and on the others
  const st = await runMon(['status', '--config', n.config])
  assert.equal(st.code, 0, st.stderr)
  assert.match(st.stdout, new RegExp(`notifier +this daemon \\(${n.member}\\), lease until `))
  const other = daemons.find((d) => d !== n)!
  const stJson = await runMon(['status', '--config', other.config, '--json'])
  assert.equal(stJson.code, 0, stJson.stderr)
  const otherView = (JSON.parse(stJson.stdout) as {daemon: DaemonStatusView}).daemon
  assert.equal(otherView.notifier?.notifier, n.member)
  assert.equal(otherView.notifier?.active, false)
  // and the cluster block, read from NATS itself, names the same notifier
  const clusterView = (JSON.parse(stJson.stdout) as {cluster?: {notifier?: {notifier: string | null}}}).cluster
  assert.equal(clusterView?.notifier?.notifier, n.member)
  assert.match(st.stdout, new RegExp(`\n  notifier ${n.member} \\(term \\d+, lease ends in `))
  up.a = 0
  await waitPages('a', 'firing', 1)
  await waitRecorded(n, 'a', 'firing')
  up.a = 1
  await waitPages('a', 'resolved', 1)
  await waitRecorded(n, 'a', 'resolved')

  // the notify stream's leader (a NATS node) is SIGKILLed: the stream elects another, the lease
  // goes on (or passes to another daemon if renewing stalled past it) and g pages once
  const leader = await nats.streamLeader('HATEST_NOTIFY')
  assert.ok(leader, 'the notify stream has a leader')
  await nats.node(leader).kill()
  up.g = 0
  await waitPages('g', 'firing', 1)
  n = await waitNotifier(daemons, 'a notifier after the stream leader died')
  await waitRecorded(n, 'g', 'firing')
  await nats.node(leader).restart()
  up.g = 1
  await waitPages('g', 'resolved', 1)
  n = await waitNotifier(daemons, 'a notifier after the NATS node came back')
  await waitRecorded(n, 'g', 'resolved')

  n = await waitNotifier(daemons, 'the notifier before the first kill')
  // SIGKILL the notifier before it sends: b goes down and the notifier dies at once (group_wait is
  // 1 s, the rule runs every 1 s); another daemon takes over and sends b's firing once
  up.b = 0
  await writePoints()
  const killedAt = Date.now()
  await kill(n)
  const others = daemons.filter((d) => d !== n)
  const n2 = await waitNotifier(others, 'a new notifier after the kill')
  const tookOverAt = Date.now()
  await waitPages('b', 'firing', 1)
  // for docs/cluster.md (not asserted: timing depends on the machine)
  console.log(`takeover after SIGKILL (lease 3 s): new notifier after ${tookOverAt - killedAt} ms, b paged after ${Date.now() - killedAt} ms`)
  await waitRecorded(n2, 'b', 'firing')
  await startDaemon(n)

  // SIGKILL the notifier between its send and its record: the receiver holds c's first page
  // unanswered and the test kills the sender meanwhile; the next notifier sends it again, with the
  // same dedup key (the one documented duplicate)
  n = await waitNotifier(daemons, 'notifier before the send/record kill')
  let held = false
  hook.respond((req) => {
    const p = pageOf(req)
    if (!held && p.job === 'c' && p.status === 'firing') {
      held = true
      return {hang: true}
    }
    return undefined
  })
  up.c = 0
  await waitPages('c', 'firing', 1)
  const sender = await waitNotifier(daemons, 'the sender of the held page')
  await kill(sender)
  hook.respond(() => undefined)
  await waitPages('c', 'firing', 2)
  const n3 = await waitNotifier(
    daemons.filter((d) => d !== sender),
    'a notifier after the send/record kill',
  )
  await waitRecorded(n3, 'c', 'firing')
  await startDaemon(sender)

  // SIGKILL the notifier after a recorded send: the next notifier does not send it again
  n = await waitNotifier(daemons, 'notifier before the after-send kill')
  up.d = 0
  await waitPages('d', 'firing', 1)
  await waitRecorded(n, 'd', 'firing')
  await kill(n)
  const n4 = await waitNotifier(
    daemons.filter((d) => d !== n),
    'a notifier after the after-send kill',
  )
  up.d = 1
  await waitPages('d', 'resolved', 1)
  await waitRecorded(n4, 'd', 'resolved')
  await startDaemon(n)

  // SIGSTOP the notifier past its lease: e resolves and f fires while it is paused; another daemon
  // takes over and sends both; SIGCONT: the paused one finds its lease gone and sends nothing
  up.e = 0
  await waitPages('e', 'firing', 1)
  n = await waitNotifier(daemons, 'notifier before the pause')
  await waitRecorded(n, 'e', 'firing')
  up.e = 1
  up.f = 0
  await writePoints()
  n.proc!.kill('SIGSTOP')
  const n5 = await waitNotifier(
    daemons.filter((d) => d !== n),
    'a notifier while the old one is paused',
  )
  await waitPages('e', 'resolved', 1)
  await waitPages('f', 'firing', 1)
  n.proc!.kill('SIGCONT')
  // the resumed daemon reads the log, sees the new notifier and stands down
  await waitFor(
    async () => {
      const [mine, theirs] = await Promise.all([notifierOf(n), notifierOf(n5)])
      return mine !== undefined && theirs !== undefined && !mine.active && mine.notifier === n5.member && mine.seq >= theirs.seq
    },
    'the resumed daemon stands down',
    30_000,
  )

  // a reload (SIGHUP) with a changed notify config rebuilds the notifier's dispatcher from the
  // shared log: b, c and f still fire and are not paged again
  const before = hook.requests.length
  const reloaded = await waitNotifier(daemons, 'the notifier before the reload')
  writeFileSync(reloaded.config, configFor(reloaded).replace('repeat_interval: 1h', 'repeat_interval: 2h'))
  reloaded.proc!.kill('SIGHUP')
  await waitFor(async () => (await statusOf(reloaded)).reload.count === 1, 'the reload applied', 30_000)
  assert.equal((await statusOf(reloaded)).reload.ok, true)
  await waitTicks(reloaded, 2)
  assert.equal(hook.requests.length, before, `nothing paged again after the reload: ${JSON.stringify(hook.requests.slice(before).map(pageOf))}`)

  // everything resolves
  up.b = 1
  up.c = 1
  up.f = 1
  for (const j of ['b', 'c', 'f'] as const) await waitPages(j, 'resolved', 1)
  for (const j of ['b', 'c', 'f'] as const) await waitRecorded(await waitNotifier(daemons, 'notifier'), j, 'resolved')
  const last = await waitNotifier(daemons, 'the final notifier')
  // every daemon has read the log to the same point before the count
  await waitFor(
    async () => {
      const facts = await Promise.all(daemons.map((d) => notifierOf(d)))
      return facts.every((f) => f !== undefined && f.caughtUp && f.seq === facts[0]!.seq && f.notifier === last.member)
    },
    'all daemons agree on the log',
    30_000,
  )

  if (process.env.MON_HA_TEST_DUMP) {
    for (const d of daemons) writeFileSync(join(process.env.MON_HA_TEST_DUMP, `${d.member}.log`), d.log)
    writeFileSync(join(process.env.MON_HA_TEST_DUMP, 'facts.json'), JSON.stringify(await notifierOf(last), null, 1))
    const q = await fetch(`${influxd.url}/query?db=ha&q=${encodeURIComponent('SELECT * FROM /.*/ WHERE time > now() - 10m')}`)
    writeFileSync(join(process.env.MON_HA_TEST_DUMP, 'influx.json'), await q.text())
  }
  const all = hook.requests.map(pageOf)
  const summary = JOBS.map((j) => `${j}: firing ${pages(j, 'firing').length}, resolved ${pages(j, 'resolved').length}`).join('; ')
  console.log(`pages per group: ${summary}`)
  for (const j of JOBS) {
    assert.equal(pages(j, 'resolved').length, 1, `one resolved page for ${j}: ${JSON.stringify(all)}`)
    if (j === 'c') continue
    assert.equal(pages(j, 'firing').length, 1, `one firing page for ${j}: ${JSON.stringify(all)}`)
  }
  const c = pages('c', 'firing')
  assert.equal(c.length, 2, 'c: the page sent before the kill, and once more by the next notifier')
  assert.match(c[0]!.dedupKey, /^[0-9a-f]{32}$/)
  assert.equal(c[1]!.dedupKey, c[0]!.dedupKey, 'the duplicate carries the same dedup key')
  // dedup keys name transitions: every other page has a key of its own
  const keys = all.filter((p) => !(p.job === 'c' && p.status === 'firing')).map((p) => p.dedupKey)
  assert.equal(new Set(keys).size, keys.length, 'one dedup key per transition')

  // notifierStatus reads the same from the stream, without a daemon (for `mon status`)
  const cluster = clusterSchema.parse({enabled: true, nats: {servers: nats.urls}, name: 'hatest', ha: {enabled: true, lease: '3s'}})
  const nc = await connectNats(cluster.nats, {name: 'mon-test'})
  try {
    const fromStream = await notifierStatus(nc, cluster, Date.now())
    const fromDaemon = (await notifierOf(last))!
    assert.equal(fromStream.notifier, last.member)
    assert.equal(fromStream.term, fromDaemon.term)
    assert.ok(fromStream.seq >= fromDaemon.lastDelivered!.seq)
    assert.equal(fromStream.lastDelivered?.dedupKey, fromDaemon.lastDelivered!.dedupKey)
  } finally {
    await nc.close()
  }

  // a clean shutdown (SIGTERM) hands the lease back: another daemon takes over, nothing is re-sent
  const exited = new Promise<number | null>((r) => last.proc!.once('exit', (code) => r(code)))
  const termAt = Date.now()
  last.proc!.kill('SIGTERM')
  assert.equal(await exited, 0, last.log.slice(-3000))
  const successor = await waitNotifier(
    daemons.filter((d) => d !== last),
    'a notifier after the clean shutdown',
  )
  console.log(`takeover after SIGTERM (lease released): ${Date.now() - termAt} ms`)
  // two notifier ticks after the takeover: the first flushes every group that is due
  await waitTicks(successor, 2)
  assert.equal(hook.requests.length, all.length, `the takeover sent nothing: ${JSON.stringify(hook.requests.slice(all.length).map(pageOf))}`)
})
