/**
 * Cluster pipeline throughput (issue #19): agent (`mon collect`, listener, `cluster.forward: true`)
 * → JetStream points stream (3 nats-server nodes, file storage, replicas 3) → `mon relay` → influxd,
 * sustained, beside a raw POST of the same batches to the same influxd in the same run; then the
 * same with two writers. Also the CPU each process spent per point (from /proc).
 *
 * Method (the listener bench's): bodies built before the clock starts, 5,000-line batches POSTed 4
 * in flight; the clock stops when influxd's own `pointsWrittenOK` counter (GET /debug/vars) has
 * grown by every point, polled every 100 ms; each run into a fresh measurement after influxd went
 * quiet; a SELECT count() afterwards checks every point arrived. MON_BENCH_PIPELINE_BATCHES sets the
 * run length (40 batches = 200,000 points by default).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {startNatsCluster} from '../test/helpers/nats.js'
import {freePort, startInfluxd, waitFor} from '../test/helpers/servers.js'
import {stats, type Bench, type BenchResult, influxCount as count, influxPointsWritten as pointsWritten, settleCpu as settle, closePostAgents, lineProtocolBatches, timeDelivery, type DeliveryRun} from './lib.js'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..')
const bin = process.env.MON_BENCH_BIN ?? join(root, 'bin', 'run.js')
const LINES = 5000
const BATCHES = Number(process.env.MON_BENCH_PIPELINE_BATCHES ?? 40)
const IN_FLIGHT = 4
const TOTAL = LINES * BATCHES
const POLL_MS = 100

function batches(measurement: string, count = BATCHES): Buffer[] {
  return lineProtocolBatches(measurement, count, LINES)
}

/** POSTs the bodies; the clock stops when influxd has written all their points. */
async function timeRun(influxUrl: string, url: string, bodies: Buffer[], pids: Record<string, number>, timeoutMs = 300_000): Promise<DeliveryRun> {
  return timeDelivery({url, bodies, stored: () => pointsWritten(influxUrl), want: bodies.length * LINES, pids, pollMs: POLL_MS, timeoutMs, inFlight: IN_FLIGHT})
}

const bench: Bench = {
  name: 'cluster-pipeline',
  issue: '#19',
  async run(ctx) {
    const [nats, influx] = await Promise.all([startNatsCluster(3), startInfluxd()])
    const procs: ChildProcess[] = []
    let log = ''
    const spawnMon = (args: string[]) => {
      const p = spawn(process.execPath, [bin, ...args], {env: {...process.env, MON_CONFIG: ''}, stdio: ['ignore', 'ignore', 'pipe']})
      p.stderr!.on('data', (d) => (log = (log + d).slice(-5000)))
      procs.push(p)
      return p
    }
    try {
      for (const db of ['raw', 'pipe']) await fetch(`${influx.url}/query?q=${encodeURIComponent(`CREATE DATABASE ${db}`)}`, {method: 'POST'})
      const port = await freePort()
      const clusterYaml = (member: string) => `cluster:
  enabled: true
  name: bench
  member: ${member}
  forward: true
  nats: {servers: [${nats.urls.join(', ')}]}
  stream: {replicas: 3, max_bytes: 2GiB, max_age: 1h}
  writer: {batch: 100, ack_wait: 30s, concurrency: 2}
`
      const conf = (name: string, text: string) => {
        mkdirSync(join(ctx.tmp, name), {recursive: true})
        const path = join(ctx.tmp, `${name}.yaml`)
        writeFileSync(path, `data_dir: ${join(ctx.tmp, name)}\nlog: {level: warn}\n${text}`)
        return path
      }
      const agentConf = conf('agent', `host: server0\nagent: {self_metrics: false}\ninputs:\n  host: {enabled: false}\n  listener: {enabled: true, listen: "127.0.0.1:${port}", max_body: 64MiB}\nspool: {fsync: batch}\n${clusterYaml('agent1')}`)
      const writerConf = (w: string) => conf(w, `store: {type: influxdb, url: "${influx.url}", version: 1, database: pipe}\n${clusterYaml(w)}`)
      const agent = spawnMon(['collect', '--config', agentConf])
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`)).status === 204, 'mon collect (forwarding)', 30_000, agent, () => log)
      const startWriter = async (w: string) => {
        const p = spawnMon(['relay', '--config', writerConf(w)])
        let out = ''
        p.stderr!.on('data', (d) => (out += d))
        await waitFor(async () => out.includes('relaying the points stream'), `mon relay ${w}`, 60_000, p, () => log)
        return p
      }
      const w1 = await startWriter('w1')
      const influxPid = influx.proc.pid!
      const natsPids = Object.fromEntries(nats.nodes.map((n) => [n.name, n.proc!.pid!]))
      const rawUrl = `${influx.url}/write?db=raw&precision=ns`
      const monUrl = `http://127.0.0.1:${port}/write?precision=ns`

      ctx.progress('warming up')
      await timeRun(influx.url, rawUrl, batches('rawwarm', 8), {influxd: influxPid})
      await timeRun(influx.url, monUrl, batches('pipewarm', 8), {influxd: influxPid})

      const raw: DeliveryRun[] = []
      const one: DeliveryRun[] = []
      const two: DeliveryRun[] = []
      const measure = async (side: 'raw' | 'one' | 'two', rep: number, pids: Record<string, number>) => {
        const measurement = `${side}${rep}`
        await settle(influxPid)
        const run = await timeRun(influx.url, side === 'raw' ? rawUrl : monUrl, batches(measurement), pids)
        const db = side === 'raw' ? 'raw' : 'pipe'
        const n = await count(influx.url, db, measurement)
        if (n !== TOTAL) throw new Error(`${side}: ${n} of ${TOTAL} points in influxd\n${log}`)
        ;(side === 'raw' ? raw : side === 'one' ? one : two).push(run)
      }
      for (let rep = 0; rep < ctx.reps; rep++) {
        ctx.progress(`repetition ${rep + 1}/${ctx.reps}: raw POST, then agent → stream → 1 writer → influxd`)
        await measure('raw', rep, {influxd: influxPid})
        await measure('one', rep, {influxd: influxPid, agent: agent.pid!, w1: w1.pid!, ...natsPids})
      }
      const w2 = await startWriter('w2')
      for (let rep = 0; rep < ctx.reps; rep++) {
        ctx.progress(`repetition ${rep + 1}/${ctx.reps}: agent → stream → 2 writers → influxd`)
        await measure('two', rep, {influxd: influxPid, agent: agent.pid!, w1: w1.pid!, w2: w2.pid!, ...natsPids})
      }

      const rate = (runs: DeliveryRun[]) => stats(runs.map((r) => TOTAL / r.seconds))
      const perPoint = (runs: DeliveryRun[], keys: string[]) => stats(runs.map((r) => (keys.reduce((s, k) => s + (r.cpu[k] ?? 0), 0) * 1e6) / TOTAL))
      const rawRate = rate(raw)
      const baseline = {name: `raw POST of the same batches to influxd /write (${IN_FLIGHT} in flight)`, value: rawRate}
      const points = TOTAL.toLocaleString('en')
      const oneRate = rate(one)
      const twoRate = rate(two)
      const natsNote = `3 nats-server nodes (replicas 3, file storage), the agent, the writers and influxd all share this machine's ${cpus().length} cores`
      const results: BenchResult[] = [
        {
          name: `agent → stream → 1 writer → influxd, sustained (${points} points per run, ${LINES}-line POSTs, ${IN_FLIGHT} in flight; until influxd has them all)`,
          unit: 'points/s',
          higherIsBetter: true,
          value: oneRate,
          baseline,
          notes: `${((oneRate.median / rawRate.median) * 100).toFixed(0)} % of raw; ${natsNote}. influxd CPU per point ${perPoint(one, ['influxd']).median.toFixed(2)} µs (raw: ${perPoint(raw, ['influxd']).median.toFixed(2)} µs)`,
        },
        {
          name: 'agent → stream → 2 writers → influxd, sustained (same runs)',
          unit: 'points/s',
          higherIsBetter: true,
          value: twoRate,
          baseline,
          notes: `${((twoRate.median / rawRate.median) * 100).toFixed(0)} % of raw, ${(twoRate.median / oneRate.median).toFixed(2)}× one writer`,
        },
        {name: 'agent (mon collect, forwarding) CPU per point', unit: 'µs', higherIsBetter: false, value: perPoint(one, ['agent'])},
        {name: 'writer (mon relay) CPU per point, one writer', unit: 'µs', higherIsBetter: false, value: perPoint(one, ['w1'])},
        {name: 'writers CPU per point, two writers (sum)', unit: 'µs', higherIsBetter: false, value: perPoint(two, ['w1', 'w2'])},
        {name: 'nats-server CPU per point (3 nodes, replicas 3, sum; one writer)', unit: 'µs', higherIsBetter: false, value: perPoint(one, Object.keys(natsPids))},
      ]
      return results
    } finally {
      closePostAgents()
      for (const p of procs) {
        if (p.exitCode !== null || p.signalCode !== null) continue
        p.kill('SIGTERM')
        await new Promise((r) => p.once('exit', r))
      }
      await influx.destroy()
      await nats.destroy()
    }
  },
}

export default bench
