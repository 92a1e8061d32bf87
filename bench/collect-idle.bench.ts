/**
 * Idle `mon collect` (issue #4): the default inputs (host metrics, self-metrics) at the default
 * 10 s interval on the embedded store. CPU share and RSS read from /proc over measurement
 * windows after a warm-up, beside an idle `node` process with one timer measured the same way.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {cpuSeconds, rssBytes, stats, type Bench, type Stats} from './lib.js'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..')
const bin = join(root, 'bin', 'run.js')
const WINDOW_MS = Number(process.env.MON_BENCH_IDLE_WINDOW_MS ?? 15_000)
const WARMUP_MS = 12_000



async function measure(proc: ChildProcess, windows: number, progress: (m: string) => void, what: string): Promise<{cpu: Stats; rss: Stats}> {
  await new Promise((r) => setTimeout(r, WARMUP_MS))
  const cpu: number[] = []
  const rss: number[] = []
  for (let i = 0; i < windows; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`)
    progress(`${what}: window ${i + 1}/${windows}`)
    const t0 = cpuSeconds(proc.pid!)
    const start = performance.now()
    await new Promise((r) => setTimeout(r, WINDOW_MS))
    const seconds = (performance.now() - start) / 1000
    cpu.push(((cpuSeconds(proc.pid!) - t0) / seconds) * 100)
    rss.push(rssBytes(proc.pid!) / (1 << 20))
  }
  return {cpu: stats(cpu), rss: stats(rss)}
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return
  proc.kill('SIGTERM')
  await new Promise((r) => proc.once('exit', r))
}

const bench: Bench = {
  name: 'collect-idle',
  issue: '#4',
  async run(ctx) {
    const windows = Math.min(ctx.reps, 3)
    const config = join(ctx.tmp, 'mon.yaml')
    writeFileSync(config, `data_dir: ${join(ctx.tmp, 'data')}\nlog: {level: warn}\n`)
    const mon = spawn(process.execPath, [bin, 'collect', '--config', config], {env: {...process.env, MON_CONFIG: ''}, stdio: 'ignore'})
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 10000)'], {stdio: 'ignore'})
    try {
      const [m, n] = await Promise.all([measure(mon, windows, ctx.progress, 'mon collect'), measure(idle, windows, () => {}, 'node')])
      return [
        {name: 'idle mon collect, default inputs at 10 s: CPU', unit: '% of one core', higherIsBetter: false, value: m.cpu, baseline: {name: 'idle node process with one timer', value: n.cpu}, goal: '< 1 %', met: m.cpu.median < 1},
        {name: 'idle mon collect, default inputs at 10 s: RSS', unit: 'MiB', higherIsBetter: false, value: m.rss, baseline: {name: 'idle node process with one timer', value: n.rss}, goal: '< 80 MB', met: m.rss.max < 80_000_000 / (1 << 20)},
      ]
    } finally {
      await Promise.all([stop(mon), stop(idle)])
    }
  },
}
export default bench

if (import.meta.url === `file://${process.argv[1]}`) {
  const {mkdtempSync, rmSync} = await import('node:fs')
  const {tmpdir} = await import('node:os')
  const tmp = mkdtempSync(join(tmpdir(), 'mon-bench-idle-'))
  try {
    for (const r of await bench.run({reps: Number(process.env.MON_BENCH_REPS ?? 3), progress: (m) => process.stderr.write(m + '\n'), tmp})) {
      console.log(`${r.name}: median ${r.value.median.toFixed(2)} ${r.unit} [${r.value.samples.map((s) => s.toFixed(2)).join(', ')}] vs ${r.baseline!.value.median.toFixed(2)} (${r.baseline!.name}); goal ${r.goal}: ${r.met ? 'met' : 'missed'}`)
    }
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}
