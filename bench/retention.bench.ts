/**
 * Retention tiers (issue #10): a one-year query at one-hour resolution answered from the 1h
 * rollups, beside the same query answered from every raw point (the same store before pruning),
 * measured in the same run.
 */
import {join} from 'node:path'
import {ManualClock} from '../src/core/clock.js'
import {SqliteStore} from '../src/core/store/sqlite/store.js'
import type {QueryPlan} from '../src/core/store/types.js'
import {repeat, type Bench} from './lib.js'

const DAY = 86_400_000
const HOUR = 3_600_000

const bench: Bench = {
  name: 'retention',
  issue: '#10',
  async run(ctx) {
    const end = Math.floor(Date.now() / HOUR) * HOUR
    const start = end - 365 * DAY
    const step = 5 * 60_000
    const hosts = 10
    const clock = new ManualClock(end)
    const store = new SqliteStore({path: join(ctx.tmp, 'mon.db'), clock, autoCompactEvery: 0})
    ctx.progress(`writing a year of 5-minute points for ${hosts} hosts`)
    let points = 0
    for (let h = 0; h < hosts; h++) {
      let batch = []
      let v = 50
      for (let t = start; t < end; t += step) {
        v = Math.min(100, Math.max(0, v + Math.sin(t / 7_777_777 + h) * 2))
        batch.push({measurement: 'cpu', tags: {host: `web-${h}`, cpu: 'cpu-total'}, fields: {usage_user: Math.round(v * 100) / 100}, ts: t})
        if (batch.length === 5000) {
          store.writeSync(batch)
          points += batch.length
          batch = []
        }
      }

      store.writeSync(batch)
      points += batch.length
    }

    const q: QueryPlan = {measurement: 'cpu', field: 'usage_user', matchers: [{name: 'cpu', op: '=', value: 'cpu-total'}], start, end, every: HOUR, aggregate: {fn: 'mean', by: ['host']}}
    ctx.progress('query over raw points')
    store.compact({full: true})
    const fromRaw = await repeat(ctx.reps, () => {
      const t = performance.now()
      store.querySync(q)
      return performance.now() - t
    }, 1)
    const rawFrames = store.querySync(q)
    ctx.progress('rolling up and pruning')
    const t0 = performance.now()
    store.maintainSync(end)
    const maintainMs = performance.now() - t0
    const tier = store.tierFor(q).tier.name
    if (tier !== '1h') throw new Error(`expected the 1h tier to answer, got ${tier}`)
    const fromRollups = await repeat(ctx.reps, () => {
      const t = performance.now()
      store.querySync(q)
      return performance.now() - t
    }, 1)
    // the same numbers either way
    const rolled = store.querySync(q)
    for (let f = 0; f < rawFrames.length; f++) {
      for (let i = 0; i < rawFrames[f].rows.length; i++) {
        const a = rawFrames[f].rows[i][1] as number
        const b = rolled[f].rows[i][1] as number
        if (Math.abs(a - b) > 1e-9 * Math.abs(a)) throw new Error(`rollup mean differs at ${f}/${i}: ${a} vs ${b}`)
      }
    }

    await store.close()
    return [
      {
        name: `1-year mean by host at 1 h resolution (${hosts} hosts, ${points.toLocaleString()} points, ${rawFrames[0].rows.length} buckets each)`,
        unit: 'ms',
        higherIsBetter: false,
        value: fromRollups,
        baseline: {name: 'same query over raw points', value: fromRaw},
        goal: '≤ 100 ms',
        met: fromRollups.median <= 100,
        notes: `the first maintenance pass (roll up a year into 1m and 1h tiers, prune) took ${(maintainMs / 1000).toFixed(1)} s; answers checked equal to the raw computation`,
      },
    ]
  },
}

export default bench
