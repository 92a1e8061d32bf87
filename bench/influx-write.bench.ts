/**
 * InfluxDB write throughput (issue #3): `mon`'s InfluxDB store writing Point objects into a real
 * influxd, beside a raw line-protocol POST of the same points (serialized beforehand, outside the
 * timing) to the same influxd, in batches of 5,000 lines with the same number of requests in
 * flight, measured in the same run. Goal: mon ≥ 90 % of the raw POST.
 *
 * mon's figure includes everything a caller pays: serializing the points, batching, (gzip when
 * configured) and the HTTP requests. Each repetition writes a fresh time range (new points, as
 * collection does), alternating mon and raw so both see the same server state.
 */
import http from 'node:http'
import {influxStoreSchema} from '../src/core/config/schema.js'
import {serializePoints} from '../src/core/model/line-protocol.js'
import type {Point} from '../src/core/model/point.js'
import {InfluxStore} from '../src/core/store/influx/store.js'
import {startInfluxd} from '../test/helpers/servers.js'
import {repeat, type Bench, type BenchResult, type Stats} from './lib.js'

const POINTS = 100_000
const BATCH = 5000
const CONCURRENCY = 2
const HOSTS = 50

/** Telegraf-like cpu points: 3 tags, 4 float fields and an integer, 10 s apart per host. */
function makePoints(t0: number): Point[] {
  const points: Point[] = new Array(POINTS)
  for (let i = 0; i < POINTS; i++) {
    const h = i % HOSTS
    points[i] = {
      measurement: 'cpu',
      tags: {host: `web-${String(h).padStart(3, '0')}`, cpu: 'cpu-total', region: h % 2 ? 'eu-west' : 'us-east'},
      fields: {usage_user: (i % 997) / 10, usage_system: (i % 389) / 10, usage_idle: 100 - (i % 997) / 10, usage_iowait: (i % 13) / 100, processes: BigInt(100 + (i % 50))},
      ts: t0 + Math.floor(i / HOSTS) * 10_000,
    }
  }

  return points
}

/** The raw client: keep-alive POSTs of prepared bodies, `CONCURRENCY` at a time. */
async function rawPost(url: string, db: string, bodies: Buffer[], agent: http.Agent): Promise<void> {
  let next = 0
  const post = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(`${url}/write?db=${db}&precision=ms`, {method: 'POST', agent, headers: {'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length}}, (res) => {
        res.resume()
        res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`raw POST: HTTP ${res.statusCode}`))))
      })
      req.on('error', reject)
      req.end(body)
    })
  const worker = async () => {
    while (next < bodies.length) await post(bodies[next++])
  }

  await Promise.all(Array.from({length: CONCURRENCY}, worker))
}

const bench: Bench = {
  name: 'influx-write',
  issue: '#3',
  async run(ctx) {
    ctx.progress('starting influxd')
    const influxd = await startInfluxd()
    const agent = new http.Agent({keepAlive: true, maxSockets: CONCURRENCY})
    try {
      const store = (gzip: boolean) =>
        new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'bench', batch_size: BATCH, concurrency: CONCURRENCY, gzip}))
      const setup = store(false)
      await setup.init()
      await setup.close()

      let run = 0
      const fresh = () => makePoints(Date.UTC(2026, 0, 1) + run++ * 86_400_000)
      const measureMon = (gzip: boolean) => async (): Promise<number> => {
        const points = fresh()
        const s = store(gzip)
        await s.ready() // the ping is not part of the write
        const t = performance.now()
        await s.write(points)
        const ms = performance.now() - t
        await s.close()
        return POINTS / (ms / 1000)
      }

      const measureRaw = async (): Promise<number> => {
        const points = fresh()
        const bodies: Buffer[] = []
        for (let i = 0; i < points.length; i += BATCH) bodies.push(Buffer.from(serializePoints(points.slice(i, i + BATCH), 'ms')))
        const t = performance.now()
        await rawPost(influxd.url, 'bench', bodies, agent)
        return POINTS / ((performance.now() - t) / 1000)
      }

      // interleaved: mon (plain), raw, mon (gzip) — one of each per repetition
      const samples = {plain: [] as number[], raw: [] as number[], gzip: [] as number[]}
      ctx.progress('warming up')
      await measureMon(false)()
      await measureRaw()
      await measureMon(true)()
      for (let i = 0; i < ctx.reps; i++) {
        ctx.progress(`repetition ${i + 1}/${ctx.reps}`)
        samples.plain.push(await measureMon(false)())
        samples.raw.push(await measureRaw())
        samples.gzip.push(await measureMon(true)())
      }

      const stats = async (xs: number[]): Promise<Stats> => repeat(xs.length, (k) => xs[k])
      const raw = await stats(samples.raw)
      const plain = await stats(samples.plain)
      const gzip = await stats(samples.gzip)
      const baseline = {name: `raw line-protocol POST /write of the same points (pre-serialized, ${BATCH}-line bodies, ${CONCURRENCY} in flight)`, value: raw}
      const result = (name: string, value: Stats, notes?: string): BenchResult => ({
        name,
        unit: 'points/s',
        higherIsBetter: true,
        value,
        baseline,
        goal: '≥ 90% of the raw POST',
        met: value.median >= 0.9 * raw.median,
        notes,
      })
      return [
        result(`mon InfluxDB store write, ${POINTS.toLocaleString('en')} points (gzip off)`, plain),
        result(
          `mon InfluxDB store write, ${POINTS.toLocaleString('en')} points (gzip on, the default)`,
          gzip,
          'gzip (level 1, on the thread pool) trades CPU for bytes: worth it over a network, a cost on loopback',
        ),
      ]
    } finally {
      agent.destroy()
      await influxd.destroy()
    }
  },
}

export default bench

if (import.meta.url === `file://${process.argv[1]}`) {
  const {mkdtempSync, rmSync} = await import('node:fs')
  const {tmpdir} = await import('node:os')
  const {join} = await import('node:path')
  const tmp = mkdtempSync(join(tmpdir(), 'mon-bench-influx-write-'))
  try {
    const results = await bench.run({reps: Number(process.env.MON_BENCH_REPS ?? 5), progress: (m) => process.stderr.write(m + '\n'), tmp})
    for (const r of results) {
      const ratio = r.value.median / r.baseline!.value.median
      console.log(`${r.name}: ${Math.round(r.value.median)} points/s (samples ${r.value.samples.map(Math.round).join(', ')})`)
      console.log(`  baseline ${Math.round(r.baseline!.value.median)} points/s (samples ${r.baseline!.value.samples.map(Math.round).join(', ')}), ratio ${(ratio * 100).toFixed(1)}% — goal ${r.goal}: ${r.met ? 'met' : 'NOT met'}`)
    }
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}
