/**
 * Issue 19's "pipeline chaos", end to end with real processes: a 3-node nats-server JetStream
 * cluster (file storage, replicas 3), a real influxd, 3 agents (`mon collect` with the line-protocol
 * listener and `cluster.forward: true`) taking 100,000 uniquely numbered points, 2 writers
 * (`mon relay` → influxd). During the run: a writer is SIGKILLed while it holds unacknowledged
 * messages (and restarted), the stream leader is SIGKILLed and restarted, influxd is stopped for
 * 20 s, an agent is SIGKILLed and restarted. At the end every number is in influxd exactly once,
 * the agents' spools are empty and the writers' consumer has nothing pending.
 *
 * The steps are driven by progress (points accepted, messages in flight), never by timing; the
 * only fixed wait is the 20 s influxd outage the issue asks for.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {join} from 'node:path'
import {after, before, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {pipelineStatus} from '../../src/core/cluster/jetstream-points.js'
import {clusterNames} from '../../src/core/cluster/nats.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import type {ClusterConfig} from '../../src/core/config/schema.js'
import {Spool, spoolDir} from '../../src/core/pipeline/spool.js'
import {BIN} from '../helpers/cli.js'
import {startNatsCluster, type NatsCluster} from '../helpers/nats.js'
import {freePort, startInfluxd, tempDir, waitFor, type RunningServer} from '../helpers/servers.js'

const N = 100_000
const PER_POST = 250
const T0 = 1_700_000_000_000
const AGENTS = ['a1', 'a2', 'a3']
const WRITERS = ['w1', 'w2']
const OUTAGE_MS = 20_000

let nats: NatsCluster
let influx: RunningServer
let tmp: ReturnType<typeof tempDir>
let cluster: ClusterConfig
const STREAM = clusterNames({name: 'chaos'}).pointsStream

interface Proc {
  name: string
  args: string[]
  child?: ChildProcess
  log: string
  port?: number
}
const procs = new Map<string, Proc>()

function clusterYaml(member: string): string {
  return `cluster:
  enabled: true
  name: chaos
  member: ${member}
  forward: true
  nats: {servers: [${nats.urls.join(', ')}], timeout: 3s}
  stream: {replicas: 3, max_bytes: 1GiB, duplicate_window: 10m}
  writer: {batch: 100, ack_wait: 5s, concurrency: 2}
`
}

before(async () => {
  ;[nats, influx] = await Promise.all([startNatsCluster(3), startInfluxd()])
  const res = await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE chaos')}`, {method: 'POST'})
  assert.equal(res.status, 200)
  tmp = tempDir('mon-pipeline-chaos-')
  cluster = parseConfigText(clusterYaml('test'), '<test>', {}).config.cluster
  for (const a of AGENTS) {
    const port = await freePort()
    const config = join(tmp.dir, `${a}.yaml`)
    writeFileSync(
      config,
      `data_dir: ${join(tmp.dir, a)}
host: ${a}
agent: {self_metrics: false, flush_interval: 100ms}
inputs:
  host: {enabled: false}
  listener: {enabled: true, listen: 127.0.0.1:${port}}
spool: {fsync: batch}
log: {level: info}
${clusterYaml(a)}`,
    )
    procs.set(a, {name: a, args: ['collect', '--config', config], log: '', port})
  }
  for (const w of WRITERS) {
    const config = join(tmp.dir, `${w}.yaml`)
    writeFileSync(
      config,
      `data_dir: ${join(tmp.dir, w)}
store: {type: influxdb, url: ${influx.url}, version: 1, database: chaos, max_retries: 0, timeout: 3s}
log: {level: debug}
${clusterYaml(w)}`,
    )
    procs.set(w, {name: w, args: ['relay', '--config', config, '--report-every', '5s'], log: ''})
  }
})

after(async () => {
  for (const p of procs.values()) if (p.child && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  await nats?.destroy()
  await influx?.destroy()
  tmp?.cleanup()
})

function logs(): string {
  return [...procs.values()].map((p) => `--- ${p.name}\n${p.log.slice(-3000)}`).join('\n')
}

function running(p: Proc): boolean {
  return Boolean(p.child && p.child.exitCode === null && p.child.signalCode === null)
}

async function start(name: string): Promise<void> {
  const p = procs.get(name)!
  // readiness is read from this run's output only (an earlier run's lines are kept apart)
  if (p.log) p.log = `${p.log.slice(-3000)}\n--- (restarted)\n`
  let relaying = false
  const child = spawn(process.execPath, [BIN, ...p.args], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  child.stdout!.on('data', (d) => (p.log = (p.log + d).slice(-30_000)))
  child.stderr!.on('data', (d) => (p.log = (p.log + d).slice(-30_000)))
  child.stderr!.on('data', (d: Buffer) => (relaying ||= d.toString().includes('relaying the points stream')))
  p.child = child
  if (p.port) await waitFor(async () => (await fetch(`http://127.0.0.1:${p.port}/ping`)).status === 204, `${name} listener`, 30_000, child, () => p.log)
  else await waitFor(async () => relaying, `${name} relay`, 60_000, child, () => p.log)
}

async function kill(name: string, sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const p = procs.get(name)!
  const child = p.child!
  if (!running(p)) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill(sig)
  // a SIGTERMed mon stops by itself (its drain timeout is 10 s); one that does not is a failure
  let timer: NodeJS.Timeout | undefined
  const stuck = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${name} did not exit after ${sig}\n${p.log.slice(-5000)}`)), 60_000)))
  try {
    await Promise.race([exited, stuck])
  } finally {
    clearTimeout(timer)
  }
}

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`http://127.0.0.1:${port}/write?db=chaos&precision=ms`, {method: 'POST', agent: false}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Points accepted by the agents so far, and how far the pushers may go. */
let accepted = 0
let gate = 0
let gateWaiters: Array<() => void> = []
function openGate(to: number): void {
  gate = to
  for (const w of gateWaiters.splice(0)) w()
}

/** One agent's share: numbers k with k % 3 === index, in posts of PER_POST, each retried until 204. */
async function pusher(index: number): Promise<void> {
  const agent = procs.get(AGENTS[index]!)!
  const mine: number[] = []
  for (let k = index; k < N; k += AGENTS.length) mine.push(k)
  for (let off = 0; off < mine.length; off += PER_POST) {
    const chunk = mine.slice(off, off + PER_POST)
    while (chunk[chunk.length - 1]! >= gate) await new Promise<void>((r) => gateWaiters.push(r))
    const body = chunk.map((k) => `chaos,agent=${agent.name} n=${k}i ${T0 + k}`).join('\n') + '\n'
    for (let attempt = 0; ; attempt++) {
      if (attempt > 1200) throw new Error(`${agent.name}: a post was never accepted\n${logs()}`)
      try {
        if ((await post(agent.port!, body)) === 204) break
      } catch {
        // the agent is down (killed): try again
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    accepted += chunk.length
  }
}

async function influxQuery(q: string): Promise<number[]> {
  const res = await fetch(`${influx.url}/query?db=chaos&q=${encodeURIComponent(q)}`)
  const body = (await res.json()) as {results: Array<{series?: Array<{values: number[][]}>}>}
  return body.results[0]?.series?.[0]?.values[0]?.slice(1) ?? []
}

async function status() {
  return pipelineStatus(cluster)
}

it(`pipeline chaos: ${N} numbered points through 3 agents, the stream and 2 writers, every number once`, {timeout: 600_000}, async () => {
  for (const w of WRITERS) await start(w)
  for (const a of AGENTS) await start(a)
  const pushing = Promise.all(AGENTS.map((_, i) => pusher(i)))
  pushing.catch(() => {})
  const events: string[] = []
  const note = (e: string) => {
    events.push(e)
    console.log(`chaos: ${e} (accepted ${accepted})`)
  }

  // 1. a writer SIGKILLed mid-batch: the moment w1 logs that it starts storing a batch (debug
  // level), before the store answered and long before the ack; restarted
  openGate(20_000)
  await waitFor(async () => accepted >= 10_000, 'pushers past 10000', 120_000)
  const w1 = procs.get('w1')!
  let killedMidBatch = ''
  const onData = (d: Buffer) => {
    const line = d.toString().split('\n').find((l) => l.includes('"storing a batch"'))
    if (!line || killedMidBatch) return
    w1.child!.kill('SIGKILL')
    killedMidBatch = line
  }
  w1.child!.stderr!.on('data', onData)
  w1.child!.stdout!.on('data', onData)
  // w1 gets a share of the batches; while it has none, more points come in
  await waitFor(
    async () => {
      if (killedMidBatch || !running(w1)) return true
      if (accepted >= gate) openGate(Math.min(N, gate + 5000))
      return false
    },
    'writer w1 storing a batch',
    180_000,
  )
  await kill('w1')
  note(`SIGKILLed writer w1 as it stored a batch: ${killedMidBatch.slice(killedMidBatch.indexOf('"messages"'), killedMidBatch.indexOf('}') + 1)}`)
  await start('w1')
  note('restarted writer w1')

  // each later step lets a share of the points in relative to where the previous one ended
  let base = accepted
  const after = async (n: number, what: string) => {
    const target = Math.min(N, base + n)
    await waitFor(async () => accepted >= target, `${what} (${target} points accepted)`, 120_000)
  }
  const admit = (n: number) => openGate(Math.max(gate, Math.min(N, base + n)))

  // 2. the stream leader SIGKILLed while agents publish; restarted
  admit(20_000)
  await after(5000, 'pushers going')
  const leader = await nats.streamLeader(STREAM)
  assert.ok(leader, 'the points stream has a leader')
  await nats.node(leader).kill()
  note(`SIGKILLed the stream leader ${leader}`)
  await after(15_000, 'pushers going with the leader down')
  await waitFor(async () => Boolean(await nats.streamLeader(STREAM)), 'a new stream leader', 60_000)
  await nats.node(leader).restart()
  note(`restarted ${leader}; leader now ${await nats.streamLeader(STREAM)}`)

  // 3. influxd stopped for 20 s while points keep coming
  base = accepted
  admit(25_000)
  await influx.stop()
  const down = Date.now()
  note('stopped influxd')
  await after(15_000, 'pushers going with influxd down')
  const held = await status()
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - down))))
  await influx.restart()
  note(`restarted influxd after ${Date.now() - down} ms; ${accepted} points in, the stream held ${held.lag} messages for the writers (last seq ${held.lastSeq})`)

  // 4. an agent SIGKILLed right after it took points; restarted (its pusher retries meanwhile)
  base = accepted
  admit(15_000)
  await after(10_000, 'pushers going')
  await kill('a3')
  note('SIGKILLed agent a3')
  await start('a3')
  note('restarted agent a3')

  openGate(N)
  await pushing
  note('every point accepted by an agent')

  // everything arrives: count, distinct, min and max together mean every number exactly once
  await waitFor(async () => (await influxQuery('SELECT count(n) FROM chaos'))[0] === N, `influxd holding ${N} points`, 300_000, undefined, () => logs())
  const [count, distinct] = await influxQuery('SELECT count(n), count(distinct(n)) FROM chaos')
  const [min, max] = await influxQuery('SELECT min(n), max(n) FROM chaos')
  const [sum] = await influxQuery('SELECT sum(n) FROM chaos')
  console.log(`chaos: influxd count=${count} distinct=${distinct} min=${min} max=${max} sum=${sum}`)
  assert.equal(count, N)
  assert.equal(distinct, N)
  assert.equal(min, 0)
  assert.equal(max, N - 1)
  assert.equal(sum, (N * (N - 1)) / 2)

  await waitFor(async () => (await status()).lag === 0, 'the writers consumer with nothing pending', 120_000)
  const final = await status()
  console.log(`chaos: stream messages=${final.messages} bytes=${final.bytes} consumer pending=${final.pending} ackPending=${final.ackPending} redelivered=${final.redelivered}`)

  // every process that was (re)started is still running: none gave up on the way
  for (const p of procs.values()) assert.ok(running(p), `${p.name} is still running\n${p.log.slice(-3000)}`)

  // agents stop cleanly; their spools hold nothing
  for (const a of AGENTS) await kill(a, 'SIGTERM')
  for (const a of AGENTS) {
    const spool = Spool.open({dir: spoolDir(join(tmp.dir, a)), maxBytes: 1 << 30, segmentBytes: 16 << 20, fsync: 'never', clock: systemClock, reserveBytes: 0})
    const backlog = spool.backlog()
    await spool.close()
    console.log(`chaos: agent ${a} spool backlog ${backlog.points} points`)
    assert.equal(backlog.points, 0, `${a}'s spool is empty`)
  }
  for (const w of WRITERS) await kill(w, 'SIGTERM')
  for (const w of WRITERS) {
    const line = procs.get(w)!.log.split('\n').find((l) => l.startsWith('stored '))
    console.log(`chaos: writer ${w} (this run): ${line ?? '(no summary)'}`)
  }
  console.log(`chaos: events: ${events.join('; ')}`)
  if (process.env.MON_CHAOS_LOGS) console.log(logs())
  assert.equal(final.lag, 0)
})
