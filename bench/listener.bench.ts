/**
 * Listener → spool → influxd throughput (issue #4): 5,000-line batches POSTed 4 in flight to
 * `mon collect`'s listener (a separate process, fsync=batch), timed until a count on influxd
 * shows every point — beside the same batches POSTed straight to the same influxd /write, 4 in
 * flight, in the same run.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {freePort, startInfluxd, waitFor} from '../test/helpers/servers.js'
import {repeat, type Bench} from './lib.js'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..')
const bin = join(root, 'bin', 'run.js')
const LINES = 5000
const BATCHES = 60
const IN_FLIGHT = 4
const TOTAL = LINES * BATCHES

function batches(measurement: string): string[] {
  const out: string[] = []
  const t0 = 1_700_000_000_000_000_000n
  for (let b = 0; b < BATCHES; b++) {
    const lines: string[] = []
    for (let i = 0; i < LINES; i++) {
      const n = b * LINES + i
      lines.push(`${measurement},host=server${n % 100},region=us-west,cpu=cpu${n % 8} usage_user=${(n % 1000) / 10},usage_system=${n % 17}.5,count=${n}i ${t0 + BigInt(n) * 1_000_000n}`)
    }
    out.push(lines.join('\n') + '\n')
  }
  return out
}

function post(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'POST', headers: {'content-length': Buffer.byteLength(body)}}, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`${url}: HTTP ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function postAll(url: string, bodies: string[]): Promise<void> {
  let next = 0
  await Promise.all(Array.from({length: IN_FLIGHT}, async () => {
    while (next < bodies.length) await post(url, bodies[next++]!)
  }))
}

async function count(influxUrl: string, db: string, measurement: string): Promise<number> {
  const res = await fetch(`${influxUrl}/query?db=${db}&q=${encodeURIComponent(`SELECT count(count) FROM ${measurement}`)}`)
  const body = (await res.json()) as {results: Array<{series?: Array<{values: number[][]}>}>}
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0
}

const bench: Bench = {
  name: 'listener',
  issue: '#4',
  async run(ctx) {
    const influx = await startInfluxd()
    let mon: ChildProcess | undefined
    try {
      for (const db of ['raw', 'mon']) await fetch(`${influx.url}/query?q=${encodeURIComponent(`CREATE DATABASE ${db}`)}`, {method: 'POST'})
      const port = await freePort()
      const dataDir = join(ctx.tmp, 'data')
      mkdirSync(dataDir, {recursive: true})
      const config = join(ctx.tmp, 'mon.yaml')
      writeFileSync(
        config,
        `data_dir: ${dataDir}
host: server0
store: {type: influxdb, url: "${influx.url}", version: 1, database: mon}
agent: {self_metrics: false}
inputs:
  host: {enabled: false}
  listener: {enabled: true, listen: "127.0.0.1:${port}", max_body: 64MiB}
spool: {fsync: batch}
log: {level: warn}
`,
      )
      let log = ''
      mon = spawn(process.execPath, [bin, 'collect', '--config', config], {env: {...process.env, MON_CONFIG: ''}, stdio: ['ignore', 'ignore', 'pipe']})
      mon.stderr!.on('data', (d) => (log = (log + d).slice(-5000)))
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`)).status === 204, 'mon collect', 30_000, mon, () => log)

      let rep = 0
      ctx.progress('raw POST to influxd')
      const raw = await repeat(ctx.reps, async () => {
        const m = `raw${rep++}`
        const bodies = batches(m)
        const t = performance.now()
        await postAll(`${influx.url}/write?db=raw&precision=ns`, bodies)
        const s = (performance.now() - t) / 1000
        const n = await count(influx.url, 'raw', m)
        if (n !== TOTAL) throw new Error(`raw: ${n} of ${TOTAL} points in influxd`)
        return TOTAL / s
      }, 1)
      ctx.progress('listener → spool → influxd')
      rep = 0
      const via = await repeat(ctx.reps, async () => {
        const m = `mon${rep++}`
        const bodies = batches(m)
        const t = performance.now()
        await postAll(`http://127.0.0.1:${port}/write?precision=ns`, bodies)
        for (;;) {
          if ((await count(influx.url, 'mon', m)) >= TOTAL) break
          if (performance.now() - t > 120_000) throw new Error(`listener: not all points arrived\n${log}`)
          await new Promise((r) => setTimeout(r, 20))
        }
        return TOTAL / ((performance.now() - t) / 1000)
      }, 1)
      const ratio = via.median / raw.median
      return [
        {
          name: `listener → spool → influxd (${LINES}-line batches, ${IN_FLIGHT} in flight, fsync=batch)`,
          unit: 'points/s',
          higherIsBetter: true,
          value: via,
          baseline: {name: 'raw POST of the same batches to influxd /write', value: raw},
          goal: '≥ 90 % of the raw POST',
          met: ratio >= 0.9,
          notes: `${(ratio * 100).toFixed(0)} % of raw. mon parses each body once to validate it (partial-write semantics) and spools it verbatim; the writer then hands the store parsed points, which the InfluxDB store serializes again — a raw line-protocol write on the store would skip that second parse and serialize. mon and influxd share the machine's CPUs.`,
        },
      ]
    } finally {
      if (mon && mon.exitCode === null) {
        mon.kill('SIGTERM')
        await new Promise((r) => mon!.once('exit', r))
      }
      await influx.destroy()
    }
  },
}
export default bench

if (import.meta.url === `file://${process.argv[1]}`) {
  const {mkdtempSync, rmSync} = await import('node:fs')
  const {tmpdir} = await import('node:os')
  const tmp = mkdtempSync(join(tmpdir(), 'mon-bench-listener-'))
  try {
    const results = await bench.run({reps: Number(process.env.MON_BENCH_REPS ?? 3), progress: (m) => process.stderr.write(m + '\n'), tmp})
    for (const r of results) console.log(JSON.stringify({name: r.name, median: Math.round(r.value.median), samples: r.value.samples.map(Math.round), baseline: Math.round(r.baseline!.value.median), baselineSamples: r.baseline!.value.samples.map(Math.round), met: r.met, notes: r.notes}, null, 1))
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}
