/**
 * Write throughput of a store that takes line protocol over HTTP (InfluxDB, issue #3;
 * VictoriaMetrics, issue #20): `mon`'s store writing into the real server, beside a raw
 * line-protocol POST of the same points (serialized beforehand, outside the timing) to the same
 * server's same endpoint, in batches of 5,000 lines with the same number of requests in flight,
 * measured in the same run. Goal: mon ≥ 90 % of the raw POST.
 *
 * Two ways into the store are measured:
 * - writeLineProtocol(text): what `mon collect` and the daemon use — the pipeline spools line
 *   protocol and hands the text over (as bytes, or decoded to a string); the store splits it into
 *   entries and batches and sends it;
 * - write(points): Point objects from a caller, serialized by the store (on the same thread,
 *   overlapped with the requests in flight) — this pays for serialization the raw POST does not.
 * Each repetition writes a fresh time range (new points, as collection does), one of each
 * measurement per repetition, interleaved, so all see the same server state. A backend may check
 * afterwards that the server took every point (its own counters).
 *
 * The benches are bench/influx-write.bench.ts and bench/vm-write.bench.ts: one {@link WriteBackend} each.
 */
import http from 'node:http'
import {serializePoints} from '../src/core/model/line-protocol/index.js'
import type {Point} from '../src/core/model/point.js'
import type {WritePrecision} from '../src/core/store/influx/write.js'
import type {RunningServer} from '../test/helpers/servers.js'
import {repeat, stats as statsOf, type Bench, type BenchResult, type Stats} from './lib.js'

export const POINTS = 100_000
export const BATCH = 5000
export const CONCURRENCY = 2
const HOSTS = 50
/** float and integer fields per point (see makePoints) */
export const FIELDS_PER_POINT = 5

/** What the bench needs of a store: both ways in, and closing. */
export interface LineStore {
  write(points: Point[]): Promise<void>
  writeLineProtocol(text: string | Buffer, precision?: WritePrecision): Promise<void>
  close(): Promise<void>
}

export interface WriteBackend {
  /** the bench's name (MON_BENCH_ONLY) and issue */
  bench: string
  issue: string
  /** how results name the server, e.g. "influxd" */
  server: string
  start(): Promise<RunningServer>
  /** a store writing to `url`, `BATCH` lines per request, `CONCURRENCY` in flight, ms precision; ready to write */
  openStore(url: string, gzip: boolean): Promise<LineStore>
  /** path and query of the raw POST (the same endpoint the store writes to) */
  rawPath: string
  /** after the run: throws unless the server took every point written (`points` in all), else says what it checked */
  verify?(url: string, points: number): Promise<string>
}

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
async function rawPost(url: string, bodies: Buffer[], agent: http.Agent): Promise<void> {
  let next = 0
  const post = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(url, {method: 'POST', agent, headers: {'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length}}, (res) => {
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

export function writeBench(backend: WriteBackend): Bench {
  const {server} = backend
  return {
    name: backend.bench,
    issue: backend.issue,
    async run(ctx) {
      ctx.progress(`starting ${server}`)
      const running = await backend.start()
      const agent = new http.Agent({keepAlive: true, maxSockets: CONCURRENCY})
      const opened: LineStore[] = []
      try {
        let run = 0
        const fresh = () => makePoints(Date.UTC(2026, 0, 1) + run++ * 86_400_000)
        // one store per configuration for the whole run, as the daemon keeps one (warm connections, like the raw agent)
        const plainStore = await backend.openStore(running.url, false)
        opened.push(plainStore)
        const gzipStore = await backend.openStore(running.url, true)
        opened.push(gzipStore)
        // CPU of this process per point while write(points) runs: serializing, plus the HTTP client
        const pointCpu: number[] = []
        const measureMon = async (): Promise<number> => {
          const points = fresh()
          const cpu = process.cpuUsage()
          const t = performance.now()
          await plainStore.write(points)
          const s = (performance.now() - t) / 1000
          const used = process.cpuUsage(cpu)
          pointCpu.push((used.user + used.system) / POINTS)
          return POINTS / s
        }

        const measureText = (s: LineStore, asBytes = false) => async (): Promise<number> => {
          const text = serializePoints(fresh(), 'ms')
          const input = asBytes ? Buffer.from(text) : text
          const t = performance.now()
          await s.writeLineProtocol(input, 'ms')
          return POINTS / ((performance.now() - t) / 1000)
        }

        const measureRaw = async (): Promise<number> => {
          const points = fresh()
          const bodies: Buffer[] = []
          for (let i = 0; i < points.length; i += BATCH) bodies.push(Buffer.from(serializePoints(points.slice(i, i + BATCH), 'ms')))
          const t = performance.now()
          await rawPost(`${running.url}${backend.rawPath}`, bodies, agent)
          return POINTS / ((performance.now() - t) / 1000)
        }

        // interleaved, one of each per repetition
        const runs = {bytes: measureText(plainStore, true), raw: measureRaw, text: measureText(plainStore), textGzip: measureText(gzipStore), points: measureMon}
        const samples: Record<keyof typeof runs, number[]> = {bytes: [], raw: [], text: [], textGzip: [], points: []}
        ctx.progress('warming up')
        for (const f of Object.values(runs)) await f()
        for (let i = 0; i < ctx.reps; i++) {
          ctx.progress(`repetition ${i + 1}/${ctx.reps}`)
          for (const [k, f] of Object.entries(runs)) samples[k as keyof typeof runs].push(await f())
        }

        const checked = backend.verify ? ` ${await backend.verify(running.url, run * POINTS)}` : ''
        const stats = async (xs: number[]): Promise<Stats> => repeat(xs.length, (k) => xs[k])
        const raw = await stats(samples.raw)
        const baseline = {name: `raw line-protocol POST ${backend.rawPath} of the same points (pre-serialized, ${BATCH}-line bodies, ${CONCURRENCY} in flight)`, value: raw}
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
        const n = POINTS.toLocaleString('en')
        return [
          result(
            `mon → ${server}, ${n} points of line protocol as bytes (writeLineProtocol(Buffer): the spool's records, gzip off)`,
            await stats(samples.bytes),
            `entries found with indexOf over the bytes, bodies are views of them: what the raw POST does, plus the walk.${checked}`,
          ),
          result(
            `mon → ${server}, ${n} points of line protocol as a string (writeLineProtocol(string), gzip off)`,
            await stats(samples.text),
            'pays the UTF-8 encoding of the string on the way out, which the pre-encoded raw bodies do not',
          ),
          result(
            `mon → ${server}, ${n} points of spooled line protocol (gzip on, the default off loopback)`,
            await stats(samples.textGzip),
            `gzip (level 1, on the thread pool) trades CPU for bytes: worth it over a network, a cost on a 2-core loopback where ${server} needs the CPU`,
          ),
          result(
            `mon → ${server}, ${n} Point objects (write(points): serializes them, gzip off)`,
            await stats(samples.points),
            `this process spent ${statsOf(pointCpu.slice(-ctx.reps)).median.toFixed(2)} µs of CPU per point (median), serializing (PointSerializer: keys checked, escaped and sorted once per run of points with the same keys, tag values checked and escaped in one pass, each batch written straight into one Buffer) and sending — on the 2 cores ${server} needs too; the raw POST was serialized before its clock started. Most of what is left is V8's double-to-text (about 80 ns per float field) and the garbage of building the lines`,
          ),
        ]
      } finally {
        for (const s of opened) await s.close()
        agent.destroy()
        await running.destroy()
      }
    },
  }
}

/** `node dist/bench/<x>.bench.js`: runs one write bench alone and prints every sample. */
export async function runWriteBenchAlone(bench: Bench): Promise<void> {
  const {mkdtempSync, rmSync} = await import('node:fs')
  const {tmpdir} = await import('node:os')
  const {join} = await import('node:path')
  const tmp = mkdtempSync(join(tmpdir(), `mon-bench-${bench.name}-`))
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
