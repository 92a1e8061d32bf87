/**
 * Alert engine against VictoriaMetrics (issue #20): the 1,000 rules over 1,000 series of the rules
 * bench (bench/rules-cycle.ts), the data written through mon's VictoriaMetrics store into a real
 * victoria-metrics (Debian's single node) and made visible (flushed, every sample read back through
 * /api/v1/export) before the clock starts. Time per evaluation cycle with the query cache on, as
 * the daemon runs it on this store (one raw read per selector, as on the embedded store), beside the
 * same engine with it off, in the same run; and, for the record, sharing identical plans only (as on
 * InfluxDB). Every cycle must give the same alerts in all three.
 *
 * On VictoriaMetrics every selector is a raw read (GET /api/v1/export, JSON lines) and mon computes
 * the windows (docs/victoriametrics.md): without the cache a cycle's time is mostly this process
 * parsing 1,000 exports; with it (4 reads) mostly the engine's own work. The notes say how many reads
 * a cycle made and the CPU each side spent in it (from /proc: it does not depend on what else the
 * machine was doing, unlike the times).
 */
import {ManualClock} from '../src/core/clock.js'
import {victoriaMetricsStoreSchema} from '../src/core/config/schema.js'
import {VictoriaMetricsStore} from '../src/core/store/prom/store.js'
import type {Store} from '../src/core/store/types.js'
import {startVictoriaMetrics} from '../test/helpers/servers.js'
import {waitForVictoriaMetrics} from '../test/helpers/victoriametrics.js'
import {cpuSeconds, type Bench, type BenchResult} from './lib.js'
import {checkSameAlerts, CYCLE_NOW, fixture, HOSTS, measureCycles, POINTS_PER_SERIES, ruleSet, stateDir, type CycleRun} from './rules-cycle.js'

type Measured = CycleRun & {reads: number; serverCpu: number; ownCpu: number}

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
      type Mode = 'default' | 'plans only' | 'off'
      // the store as the engine sees it, counting the raw reads VictoriaMetrics answered (a window
      // aggregation it refuses, before any request, is not one)
      let reads = 0
      const counting: Store = {
        kind: store.kind,
        query: async (plan) => {
          const frames = await store.query(plan)
          reads++
          return frames
        },
        write: (points) => store.write(points),
        close: async () => {},
      }
      /** the cycles, and in the last one: raw reads (GET /api/v1/export), CPU seconds VictoriaMetrics and this process spent */
      const measure = async (mode: Mode, reps: number, warmup = 1): Promise<Measured> => {
        let last = {reads: 0, serverCpu: 0, ownCpu: 0}
        const observe = async () => {
          const before = {reads, server: cpuSeconds(vm.proc.pid!), own: process.cpuUsage()}
          return async () => {
            const own = process.cpuUsage(before.own)
            last = {reads: reads - before.reads, serverCpu: cpuSeconds(vm.proc.pid!) - before.server, ownCpu: (own.user + own.system) / 1e6}
          }
        }

        const cache = mode === 'off' ? false : {step: 60_000, ...(mode === 'plans only' ? {shareReads: false} : {})}
        const run = await measureCycles({groups, store: counting, clock, now, dir: stateDir(ctx.tmp, mode), cache, reps, warmup, observe})
        return {...run, ...last}
      }

      ctx.progress('1,000 rules, cache on (raw reads shared per selector, the default)')
      const on = await measure('default', ctx.reps)
      ctx.progress('1,000 rules, cache off')
      // fewer repetitions and no warm-up when uncached (a cycle of 1,000 reads warms itself up)
      const off = await measure('off', Math.min(ctx.reps, 3), 0)
      ctx.progress('1,000 rules, identical plans shared only')
      const plansOnly = await measure('plans only', Math.min(ctx.reps, 3))
      checkSameAlerts(off, [on, plansOnly])

      const baseline = {name: 'the same engine with the query cache off', value: off.stats}
      const ms = (seconds: number) => `${Math.round(seconds * 1000).toLocaleString('en')} ms`
      const where = (r: Measured) => `${r.reads} raw reads (GET /api/v1/export) in the last cycle; its CPU: VictoriaMetrics ${ms(r.serverCpu)}, mon ${ms(r.ownCpu)}`
      const uncached = `Uncached: ${where(off)}: in a profile of such a cycle, about 60 % of mon's CPU is reading the exports' JSON lines (JSON.parse, building the rows, and the garbage of both), about 10 % sending the 1,000 requests, about 10 % computing each rule's windows.`
      const results: BenchResult[] = [
        {
          name: '1,000 rules over 1,000 series on VictoriaMetrics, one evaluation cycle (cache on: one raw read per selector, the default on this store)',
          unit: 'ms',
          higherIsBetter: false,
          value: on.stats,
          baseline,
          goal: '< 1000 ms per cycle (as on the embedded store)',
          met: on.stats.median < 1000,
          notes:
            `${where(on)}; ${on.lastCycle.hits} of ${on.lastCycle.hits + on.lastCycle.misses} plans answered from memory, each distinct window computed once from its selector's read. ` +
            `What is left is the engine's own work (1,000 rules, their alerts through the state machine and state.db, the alerts series written back), about what it is on the embedded store. ` +
            `${uncached} Every cycle gives the same alerts with and without the cache (${on.active[on.active.length - 1].length} pending or firing at the last).`,
        },
        {
          name: '1,000 rules over 1,000 series on VictoriaMetrics, one evaluation cycle, identical plans shared only (shareReads off, as on InfluxDB)',
          unit: 'ms',
          higherIsBetter: false,
          value: plansOnly.stats,
          baseline,
          notes: `${where(plansOnly)}: a read per selector and window, and every rule computes its window itself from it (VictoriaMetrics refuses the aggregation, and a refusal is not cached), so 1,000 window computations instead of 100.`,
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
