/**
 * Benchmark plumbing. Every `bench/*.bench.ts` default-exports a {@link Bench}; `npm run bench`
 * (bench/run.ts) runs them all and rewrites BENCHMARKS.md. Each result carries the baseline measured
 * in the same run, so ratios compare like with like on whatever machine runs it.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {Agent, request} from 'node:http'

export interface Stats {
  median: number
  min: number
  max: number
  /** every repetition, in run order */
  samples: number[]
}

export interface BenchResult {
  /** what was measured, e.g. "embedded ingest" */
  name: string
  unit: string
  /** true when larger is better (throughput), false for times, bytes, CPU */
  higherIsBetter: boolean
  value: Stats
  baseline?: {name: string; value: Stats}
  /** the goal from the issue that set it, e.g. "≥ 2× baseline" or "≤ 250 ms" */
  goal?: string
  /** whether the goal is met (undefined when there is no goal) */
  met?: boolean
  /** what limits it, where the time goes (required when a goal is missed) */
  notes?: string
}

export interface BenchContext {
  /** repetitions per measurement (MON_BENCH_REPS, default 5) */
  reps: number
  /** progress line for the console (spinner on a TTY, plain lines otherwise) */
  progress(message: string): void
  /** temp dir for this benchmark, removed afterwards */
  tmp: string
}

export interface Bench {
  name: string
  /** the issue(s) whose goals it checks, e.g. "#2" */
  issue?: string
  run(ctx: BenchContext): Promise<BenchResult[]>
}

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return {median, min: sorted[0], max: sorted[sorted.length - 1], samples}
}

/** Runs `fn` `reps` times (after `warmup` unrecorded runs) and returns what each run reported. */
export async function repeat(reps: number, fn: (i: number) => Promise<number> | number, warmup = 0): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i)
  const samples: number[] = []
  for (let i = 0; i < reps; i++) samples.push(await fn(i))
  return stats(samples)
}

export function ratio(r: BenchResult): number | undefined {
  if (!r.baseline || r.baseline.value.median === 0) return undefined
  return r.value.median / r.baseline.value.median
}

export function machineFacts(): {cpu: string; cores: number; node: string; platform: string} {
  const c = cpus()
  return {cpu: c[0]?.model ?? 'unknown', cores: c.length, node: process.version, platform: `${process.platform}-${process.arch}`}
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks per second (100 nearly everywhere). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU seconds a process has used so far (user + system; `system`: the kernel's part only). */
export function cpuSeconds(pid: number, part: 'all' | 'system' = 'all'): number {
  // the command name may contain spaces and parentheses: fields start after the last ')'
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((part === 'all' ? Number(fields[11]) : 0) + Number(fields[12])) / CLOCK_TICKS
}

/** CPU seconds of one thread of a process (its main thread: tid = pid), from /proc/<pid>/task/<tid>/stat. */
export function threadCpuSeconds(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** A process (its pid: every thread), or one thread of it. */
export type CpuOf = number | {pid: number; tid: number}

function cpuOf(ref: CpuOf): number {
  return typeof ref === 'number' ? cpuSeconds(ref) : threadCpuSeconds(ref.pid, ref.tid)
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) * 1024
}

// ------------------------------------------------------------------ line protocol over HTTP
// What the ingest benches share: POSTing pre-built bodies with a fixed number in flight, and
// asking influxd how much it has written.

const postAgents = new Map<number, Agent>()

/** POSTs one body (keep-alive, at most `inFlight` sockets); resolves on 204, rejects otherwise. */
export function postBody(url: string, body: Buffer, inFlight = 4): Promise<void> {
  let agent = postAgents.get(inFlight)
  if (!agent) postAgents.set(inFlight, (agent = new Agent({keepAlive: true, maxSockets: inFlight})))
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'POST', agent, headers: {'content-length': body.length}}, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`${url}: HTTP ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** POSTs every body, `inFlight` at a time, in order. */
export async function postBodies(url: string, bodies: Buffer[], inFlight = 4): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: inFlight}, async () => {
      while (next < bodies.length) await postBody(url, bodies[next++]!, inFlight)
    }),
  )
}

/** `SELECT count(<field>) FROM <measurement>` on influxd 1.x. */
export async function influxCount(influxUrl: string, db: string, measurement: string, field = 'count'): Promise<number> {
  const res = await fetch(`${influxUrl}/query?db=${db}&q=${encodeURIComponent(`SELECT count(${field}) FROM ${measurement}`)}`)
  const body = (await res.json()) as {results: Array<{series?: Array<{values: number[][]}>}>}
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0
}

/** influxd's count of points its HTTP API has written (all databases). */
export async function influxPointsWritten(influxUrl: string): Promise<number> {
  const vars = (await (await fetch(`${influxUrl}/debug/vars`)).json()) as Record<string, {name?: string; values?: Record<string, number>}>
  for (const v of Object.values(vars)) if (v?.name === 'httpd') return v.values?.pointsWrittenOK ?? 0
  throw new Error('influxd /debug/vars has no httpd statistics')
}

/** Waits until process `pid` uses under 5 % of a core (a server's compactions done), at most 30 s. */
export async function settleCpu(pid: number): Promise<void> {
  const deadline = performance.now() + 30_000
  while (performance.now() < deadline) {
    const c0 = cpuSeconds(pid)
    await new Promise((r) => setTimeout(r, 300))
    if ((cpuSeconds(pid) - c0) / 0.3 < 0.05) return
  }
}

/** Closes the keep-alive sockets {@link postBody} opened (at the end of a bench). */
export function closePostAgents(): void {
  for (const a of postAgents.values()) a.destroy()
  postAgents.clear()
}

/**
 * `count` bodies of `lines` line-protocol lines of `measurement` (100 hosts × 8 cpus, two float
 * fields and an integer counter, a point per millisecond from 2023-11-14): what the listener and
 * cluster-pipeline benches POST, the same bytes to mon and to its peer.
 */
export function lineProtocolBatches(measurement: string, count: number, lines = 5000): Buffer[] {
  const out: Buffer[] = []
  const t0 = 1_700_000_000_000_000_000n
  for (let b = 0; b < count; b++) {
    const batch: string[] = []
    for (let i = 0; i < lines; i++) {
      const n = b * lines + i
      batch.push(`${measurement},host=server${n % 100},region=us-west,cpu=cpu${n % 8} usage_user=${(n % 1000) / 10},usage_system=${n % 17}.5,count=${n}i ${t0 + BigInt(n) * 1_000_000n}`)
    }
    out.push(Buffer.from(batch.join('\n') + '\n'))
  }
  return out
}

export interface DeliveryRun {
  /** s from the first POST until `stored()` had grown by `want` (interpolated between polls) */
  seconds: number
  /** CPU s per process over the run */
  cpu: Record<string, number>
}

/**
 * POSTs `bodies` to `url` ({@link postBodies}) and stops the clock when `stored()` — a server's
 * own count of what it has stored — has grown by `want`, polling every `pollMs`.
 */
export async function timeDelivery(opts: {url: string; bodies: Buffer[]; stored: () => Promise<number>; want: number; pids: Record<string, CpuOf>; pollMs: number; timeoutMs?: number; inFlight?: number}): Promise<DeliveryRun> {
  const {url, want, stored, pids, pollMs} = opts
  const timeoutMs = opts.timeoutMs ?? 300_000
  const before = await stored()
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuOf(pid)]))
  const t0 = performance.now()
  let failure: unknown
  const posting = postBodies(url, opts.bodies, opts.inFlight)
  posting.catch((err) => (failure = err))
  let last = {t: t0, n: 0}
  let seconds = 0
  for (;;) {
    await new Promise((r) => setTimeout(r, pollMs))
    if (failure) throw failure
    const t = performance.now()
    const n = (await stored()) - before
    if (n >= want) {
      const at = n === last.n ? t : last.t + ((want - last.n) / (n - last.n)) * (t - last.t)
      seconds = (at - t0) / 1000
      break
    }
    if (t - t0 > timeoutMs) throw new Error(`${url}: ${n} of ${want} stored after ${timeoutMs} ms`)
    last = {t, n}
  }
  await posting
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuOf(pid) - cpu0[k]!]))
  return {seconds, cpu}
}
