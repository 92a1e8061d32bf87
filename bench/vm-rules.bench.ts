/**
 * Alert engine against VictoriaMetrics (issue #20): the 1,000 rules over 1,000 series of the rules
 * bench (bench/rules-cycle.ts), the data written through mon's VictoriaMetrics store into a real
 * victoria-metrics (Debian's single node) and made visible (flushed, every sample read back through
 * /api/v1/export) before the clock starts. Time per evaluation cycle with the query cache on, as
 * the daemon runs it on this store (identical plans shared), beside the same engine with it off, in
 * the same run; and, for the record, with raw reads shared per selector (the embedded store's
 * default). Every cycle must give the same alerts in all three.
 *
 * On VictoriaMetrics every selector is a raw read (GET /api/v1/export, JSON lines) and mon computes
 * the windows (docs/victoriametrics.md), so a cycle's time is mostly the server exporting, and this
 * process parsing, the samples of each read.
 */
import {ManualClock} from '../src/core/clock.js'
import {victoriaMetricsStoreSchema} from '../src/core/config/schema.js'
import {VictoriaMetricsStore} from '../src/core/store/prom/store.js'
import {startVictoriaMetrics} from '../test/helpers/servers.js'
import {victoriaMetricsCounter, waitForVictoriaMetrics} from '../test/helpers/victoriametrics.js'
import {cpuSeconds, type Bench, type BenchResult} from './lib.js'
import {checkSameAlerts, CYCLE_NOW, fixture, HOSTS, measureCycles, POINTS_PER_SERIES, ruleSet, stateDir, type CycleRun} from './rules-cycle.js'

type Measured = CycleRun & {exports: number; serverCpu: number; ownCpu: number}

const bench: Bench = {
  name: 'vm-rules',
  issue: '#20',
  async run(ctx) {
    const now = CYCLE_NOW
    const clock = new ManualClock(now)
    ctx.progress('starting VictoriaMetrics')
    const vm = await startVictoriaMetrics()
    const store = new VictoriaMetricsStore(victoriaMetricsStoreSchema.parse({type: 'victoriametrics', url: vm.url}), {clock})
    try {
      const series = HOSTS * 4
      ctx.progress(`writing ${series} series × ${POINTS_PER_SERIES} points through mon's VictoriaMetrics store`)
      await store.write(fixture(now))
      await waitForVictoriaMetrics(vm.url, series * POINTS_PER_SERIES)
      const groups = ruleSet()
      type Mode = 'default' | 'shared reads' | 'off'
      const exports = () => victoriaMetricsCounter(vm.url, 'vm_http_requests_total{path="/api/v1/export"}')
      /** the cycles, and in the last one: export requests VictoriaMetrics answered, CPU seconds it and this process spent */
      const measure = async (mode: Mode, reps: number, warmup = 1): Promise<Measured> => {
        let last = {exports: 0, serverCpu: 0, ownCpu: 0}
        const observe = async () => {
          const before = {exports: await exports(), server: cpuSeconds(vm.proc.pid!), own: process.cpuUsage()}
          return async () => {
            const own = process.cpuUsage(before.own)
            last = {exports: (await exports()) - before.exports, serverCpu: cpuSeconds(vm.proc.pid!) - before.server, ownCpu: (own.user + own.system) / 1e6}
          }
        }

        const cache = mode === 'off' ? false : {step: 60_000, ...(mode === 'shared reads' ? {shareReads: true} : {})}
        const run = await measureCycles({groups, store, clock, now, dir: stateDir(ctx.tmp, mode), cache, reps, warmup, observe})
        return {...run, ...last}
      }

      ctx.progress('1,000 rules, cache on (identical plans shared, the default here)')
      const on = await measure('default', ctx.reps)
      ctx.progress('1,000 rules, cache off')
      // fewer repetitions and no warm-up when uncached (a cycle of 1,000 reads warms itself up)
      const off = await measure('off', Math.min(ctx.reps, 3), 0)
      ctx.progress('1,000 rules, raw reads shared per selector')
      const shared = await measure('shared reads', ctx.reps)
      checkSameAlerts(off, [on, shared])

      const baseline = {name: 'the same engine with the query cache off', value: off.stats}
      const ms = (seconds: number) => `${Math.round(seconds * 1000).toLocaleString('en')} ms`
      const reads = (r: Measured) =>
        `${r.exports} requests to /api/v1/export in the last cycle (VictoriaMetrics' own count), ${r.lastCycle.hits} of ${r.lastCycle.hits + r.lastCycle.misses} plans answered from the cache ` +
        `(its misses include the window aggregations VictoriaMetrics refuses before any request, which mon then computes from a raw read); ` +
        `CPU in that cycle: VictoriaMetrics ${ms(r.serverCpu)}, mon ${ms(r.ownCpu)} (uncached: ${off.exports} requests, VictoriaMetrics ${ms(off.serverCpu)}, mon ${ms(off.ownCpu)})`
      const results: BenchResult[] = [
        {
          name: '1,000 rules over 1,000 series on VictoriaMetrics, one evaluation cycle (cache on: identical plans shared, the default on this store)',
          unit: 'ms',
          higherIsBetter: false,
          value: on.stats,
          baseline,
          goal: '< 1000 ms per cycle (as on the embedded store)',
          met: on.stats.median < 1000,
          notes: `${reads(on)}. Every cycle gives the same alerts with and without the cache (${on.active[on.active.length - 1].length} pending or firing at the last).`,
        },
        {
          name: '1,000 rules over 1,000 series on VictoriaMetrics, one evaluation cycle, raw reads shared per selector (shareReads on, as on the embedded store)',
          unit: 'ms',
          higherIsBetter: false,
          value: shared.stats,
          baseline,
          notes: `${reads(shared)}: one read per selector over its widest window, every window computed from it in memory.`,
        },
      ]
      return results
    } finally {
      await store.close()
      await vm.destroy()
    }
  },
}

export default bench

if (import.meta.url === `file://${process.argv[1]}`) {
  const {mkdtempSync, rmSync} = await import('node:fs')
  const {tmpdir} = await import('node:os')
  const {join} = await import('node:path')
  const tmp = mkdtempSync(join(tmpdir(), 'mon-bench-vm-rules-'))
  try {
    for (const r of await bench.run({reps: Number(process.env.MON_BENCH_REPS ?? 5), progress: (m) => process.stderr.write(m + '\n'), tmp})) {
      console.log(`${r.name}: ${r.value.median.toFixed(0)} ms (samples ${r.value.samples.map(Math.round).join(', ')}); baseline ${r.baseline!.value.median.toFixed(0)} ms (samples ${r.baseline!.value.samples.map(Math.round).join(', ')})\n  ${r.notes}`)
    }
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}
