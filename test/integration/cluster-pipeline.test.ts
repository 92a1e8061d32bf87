/**
 * The pipeline's two promises in small, on a real 3-node JetStream cluster and a real influxd:
 * - agents: a spool record republished (after a crash, batched differently) is one message in the
 *   stream, and a full stream refuses with a QueueFullError (the points stay in the spool);
 * - writers: while the store is down nothing is acknowledged (the messages stay the writer's), and
 *   once it is back every point is stored and the consumer has nothing pending.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {openForwarder} from '../../src/core/cluster/forward.js'
import {openWriterConsumer, pipelineStatus} from '../../src/core/cluster/jetstream-points.js'
import {clusterNames} from '../../src/core/cluster/nats.js'
import {Relay} from '../../src/core/cluster/relay.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import type {MonConfig} from '../../src/core/config/schema.js'
import {Spool, type SpoolBatch} from '../../src/core/pipeline/spool.js'
import {openStore} from '../../src/core/store/open.js'
import {BIN, runMon} from '../helpers/cli.js'
import {startNatsCluster, type NatsCluster} from '../helpers/nats.js'
import {startInfluxd, tempDir, waitFor, type RunningServer} from '../helpers/servers.js'

let nats: NatsCluster
let influx: RunningServer
let tmp: ReturnType<typeof tempDir>

before(async () => {
  ;[nats, influx] = await Promise.all([startNatsCluster(3), startInfluxd()])
  const res = await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE pipe')}`, {method: 'POST'})
  assert.equal(res.status, 200)
  tmp = tempDir('mon-pipeline-')
})

after(async () => {
  await nats?.destroy()
  await influx?.destroy()
  tmp?.cleanup()
})

/** the test cluster's nodes have max_file_store 4GB: the default 10GiB stream would not be placed */
function config(name: string, maxBytes = '256MiB'): MonConfig {
  return parseConfigText(
    `data_dir: ${tmp.dir}/${name}
store: {type: influxdb, url: ${influx.url}, version: 1, database: pipe, max_retries: 0, timeout: 2s}
cluster:
  enabled: true
  name: ${name}
  member: agent-1
  forward: true
  nats: {servers: [${nats.urls.join(', ')}]}
  writer: {batch: 50, ack_wait: 2s}
  stream: {max_bytes: ${maxBytes}}
`,
    '<test>',
    {},
  ).config
}

function openSpool(dir: string): Spool {
  return Spool.open({dir, maxBytes: 64 << 20, segmentBytes: 16 << 20, fsync: 'never', clock: systemClock, reserveBytes: 0})
}

async function appendRecords(spool: Spool, n: number, measurement: string): Promise<number> {
  let points = 0
  for (let r = 0; r < n; r++) {
    const lines = Array.from({length: 10}, (_, j) => `${measurement},r=${r} v=${r * 10 + j}i ${1_700_000_000_000 + r * 10 + j}\n`).join('')
    await spool.append([{input: 'test', points: 10, precision: 'ms', payload: lines}])
    points += 10
  }
  return points
}

async function countInflux(measurement: string): Promise<number> {
  const res = await fetch(`${influx.url}/query?db=pipe&q=${encodeURIComponent(`SELECT count(v) FROM ${measurement}`)}`)
  const body = (await res.json()) as {results: Array<{series?: Array<{values: number[][]}>}>}
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0
}

describe('cluster pipeline: dedup and acknowledgement semantics', () => {
  it('a republished spool record is one message, however the replay is batched', async () => {
    const cfg = config('dedup')
    const dir = join(tmp.dir, 'dedup-spool')
    let spool = openSpool(dir)
    await appendRecords(spool, 5, 'dedup')
    const fwd = await openForwarder(cfg.cluster)
    try {
      const batch = (await spool.readBatch(1000))!
      assert.equal(batch.records.length, 5)
      await fwd.writeSpoolBatch(batch)
      // a timeout after the PubAck was sent: the same batch again
      await fwd.writeSpoolBatch(batch)
      // a crash before the spool recorded its ack: the replay reads the records one at a time
      await spool.close()
      spool = openSpool(dir)
      for (let b: SpoolBatch | undefined; (b = await spool.readBatch(10)); ) await fwd.writeSpoolBatch(b)
      const st = fwd.stats()
      console.log('dedup: forwarder', st)
      assert.equal(st.messages, 5, 'the stream stored each record once')
      assert.equal(st.duplicates, 10, 'both republishes were recognised as duplicates')
      const status = await pipelineStatus(cfg.cluster)
      assert.equal(status.messages, 5)
      assert.equal(status.replicas.length, 2, 'replicated to the two other nodes')
    } finally {
      await fwd.close()
      await spool.close()
    }
  })

  it('a full stream refuses with QueueFullError and the batch is not acknowledged', async () => {
    const cfg = config('full', '4KiB')
    const spool = openSpool(join(tmp.dir, 'full-spool'))
    await appendRecords(spool, 40, 'full')
    const fwd = await openForwarder(cfg.cluster)
    let refused: unknown
    try {
      for (let b: SpoolBatch | undefined; (b = await spool.readBatch(10)); ) {
        try {
          await fwd.writeSpoolBatch(b)
          spool.ack(b)
        } catch (err) {
          refused = err
          break
        }
      }
      assert.ok(refused instanceof Error, 'the stream refused at max_bytes')
      assert.equal(refused.name, 'QueueFullError', String(refused))
      console.log(`full: ${refused.message}`)
      assert.match(refused.message, /maximum bytes exceeded/)
      assert.equal(fwd.stats().full, 1)
      spool.rewind()
      assert.ok(spool.backlog().points > 0, 'what was refused is still in the spool')
    } finally {
      await fwd.close()
      await spool.close()
    }
  })

  it('store down: nothing is acknowledged; back up: every point stored, nothing pending', async () => {
    const cfg = config('storedown')
    const spool = openSpool(join(tmp.dir, 'storedown-spool'))
    const points = await appendRecords(spool, 6, 'storedown')
    const fwd = await openForwarder(cfg.cluster)
    for (let b: SpoolBatch | undefined; (b = await spool.readBatch(1000)); ) await fwd.writeSpoolBatch(b)
    await fwd.close()
    await spool.close()

    await influx.stop()
    const store = await openStore(cfg.store, {dataDir: tmp.dir})
    const {consumer, recover} = await openWriterConsumer(cfg.cluster, 'w1')
    const relay = new Relay({consumer, store, clock: systemClock, batch: 50, concurrency: 2, ackWaitMs: 2000, recover, backoffMs: {initial: 100, max: 500}})
    relay.start()
    try {
      // several failed writes, spanning more than one ack wait (2 s) of retries
      await waitFor(async () => relay.stats().storeErrors >= 8, 'the relay retrying the stopped influxd', 60_000)
      const down = await pipelineStatus(cfg.cluster)
      console.log('store down: relay', relay.stats(), 'consumer', {pending: down.pending, ackPending: down.ackPending, redelivered: down.redelivered})
      assert.equal(relay.stats().messages, 0)
      assert.equal(down.lag, 6, 'all six messages are still to be stored')
      assert.equal(down.ackPending, 6, 'delivered to this writer and kept by working()')

      await influx.restart()
      await waitFor(async () => relay.stats().messages === 6, 'the relay storing once influxd is back', 60_000)
      await waitFor(async () => (await pipelineStatus(cfg.cluster)).lag === 0, 'nothing pending in the consumer', 30_000)
      assert.equal(await countInflux('storedown'), points)
      assert.equal(relay.stats().points, points)
    } finally {
      await relay.stop(2000)
      await consumer.close()
      await store.close()
    }
  })

  it('the commands: collect --once forwards and exits, relay --status reports, relay without cluster mode is exit 2', async () => {
    const file = join(tmp.dir, 'cli.yaml')
    const yaml = (enabled: boolean) => `data_dir: ${tmp.dir}/cli
host: cli-host
agent: {self_metrics: false}
inputs:
  host: {enabled: true}
cluster:
  enabled: ${enabled}
  name: cli
  member: cli-agent
  forward: true
  nats: {servers: [${nats.urls.join(', ')}]}
  stream: {max_bytes: 64MiB}
`
    writeFileSync(file, yaml(true))
    const once = await runMon(['collect', '--once', '--config', file, '--json'])
    assert.equal(once.code, 0, once.stderr)
    const summary = JSON.parse(once.stdout) as {written: number; pending: number; store: string}
    assert.equal(summary.store, 'nats:CLI_POINTS')
    assert.ok(summary.written > 5, `forwarded ${summary.written} points`)
    assert.equal(summary.pending, 0)

    const st = await runMon(['relay', '--status', '--config', file, '--json'])
    assert.equal(st.code, 0, st.stderr)
    const status = JSON.parse(st.stdout) as {stream: string; messages: number; lag: number; consumerMissing?: boolean}
    assert.equal(status.stream, 'CLI_POINTS')
    assert.ok(status.messages >= 1)
    assert.equal(status.consumerMissing, true, 'no writer ran yet: everything is lag')
    assert.equal(status.lag, status.messages)
    const text = await runMon(['relay', '--status', '--config', file])
    assert.match(text.stdout, /^stream CLI_POINTS: \d+ messages?/m)

    writeFileSync(file, yaml(false))
    const off = await runMon(['relay', '--config', file])
    assert.equal(off.code, 2)
    assert.match(off.stderr, /mon relay needs cluster mode: set cluster\.enabled: true/)
  })

  it("the daemon's inputs forward too (cluster.forward), and SIGTERM leaves nothing in its spool", {timeout: 120_000}, async () => {
    const file = join(tmp.dir, 'daemon.yaml')
    const dataDir = join(tmp.dir, 'daemon')
    writeFileSync(
      file,
      `data_dir: ${dataDir}
host: daemon-host
agent: {interval: 1s, self_metrics: false}
inputs:
  host: {enabled: true, interval: 1s}
api: {listen: "127.0.0.1:0", token: t0ken-t0ken-t0ken}
cluster:
  enabled: true
  name: dmn
  member: daemon-1
  forward: true
  nats: {servers: [${nats.urls.join(', ')}]}
  stream: {max_bytes: 64MiB}
`,
    )
    const cfg = parseConfigText(`cluster: {enabled: true, name: dmn, nats: {servers: [${nats.urls.join(', ')}]}}\n`, '<test>', {}).config
    let stderr = ''
    const daemon = spawn(process.execPath, [BIN, 'daemon', '--config', file], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    daemon.stderr!.on('data', (d) => (stderr += d))
    daemon.stdout!.on('data', (d) => (stderr += d))
    try {
      await waitFor(
        async () => {
          const st = await pipelineStatus(cfg.cluster)
          return st.messages >= 2
        },
        'the daemon forwarding host metrics to the stream',
        60_000,
        daemon,
        () => stderr,
      )
    } finally {
      const exited = new Promise((r) => daemon.once('exit', r))
      daemon.kill('SIGTERM')
      await exited
    }
    assert.match(stderr, /forwarding the spool to the cluster stream/)
    const spool = openSpool(join(dataDir, 'spool'))
    const left = spool.backlog().points
    await spool.close()
    assert.equal(left, 0, 'what the daemon collected went to the stream')
  })

  it('a writers consumer deleted under running writers is made again, and what came meanwhile is stored', {timeout: 120_000}, async () => {
    const cfg = config('recreate')
    const store = await openStore(cfg.store, {dataDir: tmp.dir})
    const {consumer, recover, nc} = await openWriterConsumer(cfg.cluster, 'w1')
    const relay = new Relay({consumer, store, clock: systemClock, batch: 50, concurrency: 2, ackWaitMs: 2000, recover, backoffMs: {initial: 100, max: 500}})
    relay.start()
    const spool = openSpool(join(tmp.dir, 'recreate-spool'))
    const fwd = await openForwarder(cfg.cluster)
    try {
      const jsm = await nc.jetstreamManager()
      await jsm.consumers.delete(clusterNames(cfg.cluster).pointsStream, clusterNames(cfg.cluster).writerConsumer)
      const points = await appendRecords(spool, 4, 'recreate')
      for (let b: SpoolBatch | undefined; (b = await spool.readBatch(1000)); ) await fwd.writeSpoolBatch(b)
      await waitFor(async () => relay.stats().points === points, 'the relay storing after the consumer was made again', 90_000)
      assert.equal(await countInflux('recreate'), points)
      assert.ok(relay.stats().fetchErrors >= 1, 'the missing consumer was noticed')
    } finally {
      await fwd.close()
      await spool.close()
      await relay.stop(2000)
      await consumer.close()
      await store.close()
    }
  })
})
