import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {Call, PromExpr} from '../../src/core/query/eval/ast.js'
import {anomalyLookbackMs, extraHistoryMs, instantQuery, PromEvalError, rangeQuery, type Value} from '../../src/core/query/eval/engine.js'
import {formatPromExpr} from '../../src/core/query/eval/format.js'
import * as fn from '../../src/core/query/eval/functions.js'
import {readsFor} from '../../src/core/query/executor.js'
import {parseQuery} from '../../src/core/query/parser.js'
import {formatLabels, MemorySeriesSource, monSeries, type RawSeries, type Sample, type SeriesSource} from '../../src/core/query/eval/series.js'
import {agg, bin, call, num, range, sel, str, subquery} from '../helpers/promql-ast.js'

// anomaly(v, period, n = 4) (issue 18): v now in bands of the robust seasonal baseline of the same
// time in the previous n periods. See docs/anomaly.md and fn.seasonalBand.

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const WEEK = 7 * DAY
const WEEK_S = WEEK / 1000

/** Monday 2026-01-05 00:00 UTC: the fixture's first sample. */
const START = Date.UTC(2026, 0, 5)
/** The injected drop: Tuesday of the fifth week, 10:00 up to (not including) 10:30, at 30 % of the orders. */
const DROP_START = START + 4 * WEEK + DAY + 10 * HOUR
const DROP_END = DROP_START + 30 * MIN
const LAST_WEEK = START + 4 * WEEK

/** A seeded linear congruential generator (Numerical Recipes' constants) in [0, 1): no Math.random. */
function lcg(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}

/**
 * Orders per minute: a daily curve (lowest 04:00, highest 16:00, 15 % to 100 %) × a weekday factor
 * (Tuesday busiest, weekend quiet) × 200 at the peak, plus noise with a Poisson count's spread
 * (√level, from the sum of three uniforms) rounded to whole orders. Tuesday 10:00 is ≈ 126 ± 11.
 */
function expectedOrders(t: number): number {
  const minuteOfDay = ((t - START) % DAY) / MIN
  const weekday = [1, 1.1, 1, 0.95, 1.05, 0.7, 0.6][Math.floor(((t - START) % WEEK) / DAY)]
  const daily = 0.15 + 0.85 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (minuteOfDay - 240)) / 1440))
  return 200 * weekday * daily
}

/** Five weeks of 1-minute samples: the gauge `shop.orders_per_minute` and the counter `shop.orders`. */
function shopFixture(): {gauge: Sample[]; counter: Sample[]} {
  const random = lcg(42)
  const gauge: Sample[] = []
  const counter: Sample[] = []
  let total = 0
  for (let t = START; t < START + 5 * WEEK; t += MIN) {
    const level = expectedOrders(t)
    const noise = (random() + random() + random() - 1.5) * 2 * Math.sqrt(level)
    let orders = Math.max(0, Math.round(level + noise))
    if (t >= DROP_START && t < DROP_END) orders = Math.round(orders * 0.3)
    gauge.push({t, v: orders})
    total += orders
    counter.push({t, v: total})
  }

  return {gauge, counter}
}

const fixture = shopFixture()
const shop = new MemorySeriesSource([monSeries('shop', 'orders_per_minute', {}, fixture.gauge), monSeries('shop', 'orders', {}, fixture.counter)])
const ordersPerMinute = sel('shop.orders_per_minute')
/** The alert expression of docs/anomaly.md: anomaly(sum(rate(shop.orders[5m])), 1w) */
const ordersRate = agg('sum', call('rate', range(sel('shop.orders'), 5 * MIN)))
const anomaly = (...args: PromExpr[]) => call('anomaly', ...args)

function only(value: Value): number {
  assert.equal(value.type, 'vector')
  if (value.type !== 'vector') throw new Error('unreachable')
  assert.equal(value.elements.length, 1, 'one result')
  assert.deepEqual(value.elements[0].labels, {})
  return value.elements[0].v
}

function lines(value: Value): string[] {
  if (value.type !== 'vector') throw new Error(`unexpected ${value.type}`)
  return value.elements.map((e) => `${formatLabels(e.labels)} ${Number(e.v.toPrecision(12))}`).sort()
}

const clock = (t: number) => new Date(t).toISOString().slice(0, 16)
/** Minutes since the drop began (negative before). */
const sinceDrop = (t: number) => (t - DROP_START) / MIN

// one range query per expression over the whole last week, shared by the tests below
let weekCache: Map<PromExpr, Sample[]> | undefined
function lastWeek(expr: PromExpr): Sample[] {
  weekCache ??= new Map()
  let samples = weekCache.get(expr)
  if (!samples) {
    const result = rangeQuery(shop, expr, LAST_WEEK, LAST_WEEK + WEEK - MIN, MIN)
    assert.equal(result.length, 1)
    samples = result[0].samples
    assert.equal(samples.length, 7 * 1440, 'a result every minute of the week')
    weekCache.set(expr, samples)
  }

  return samples
}

const gaugeAnomaly = anomaly(ordersPerMinute, num(WEEK_S))
const rateAnomaly = anomaly(ordersRate, num(WEEK_S))

describe('anomaly(): a weekly pattern with an injected drop (Tuesday 10:00-10:30 at 30 %)', () => {
  it('is strongly negative at every minute of the drop, on the raw orders per minute', () => {
    // 30 % of ≈126 orders is ≈88 below the usual, with a Poisson spread of ≈11 a minute (more
    // between weeks): -4.5 to -7.3, -5.9 on average. The 5-minute rate is steadier (next tests)
    const scores: number[] = []
    for (let t = DROP_START; t < DROP_END; t += MIN) {
      const v = only(instantQuery(shop, gaugeAnomaly, t))
      assert.ok(v < -4, `${clock(t)}: ${v}`)
      scores.push(v)
    }

    assert.ok(fn.mean(scores) < -5, `${fn.mean(scores)}`)
  })

  it('stays within ±3 around the drop and at the same time on other days', () => {
    const times: number[] = []
    for (let t = DROP_START - HOUR; t < DROP_START; t += MIN) times.push(t)
    for (let t = DROP_END; t < DROP_END + HOUR; t += MIN) times.push(t)
    for (let day = 0; day < 7; day++) if (day !== 1) times.push(LAST_WEEK + day * DAY + 10 * HOUR + 15 * MIN)
    for (const t of times) {
      const v = only(instantQuery(shop, gaugeAnomaly, t))
      assert.ok(Math.abs(v) < 3, `${clock(t)}: ${v}`)
    }
  })

  it('over the whole last week: ordinary minutes beyond ±3 are as rare as for a normal distribution', () => {
    const ordinary = lastWeek(gaugeAnomaly).filter((s) => s.t < DROP_START || s.t >= DROP_END)
    const beyond3 = ordinary.filter((s) => Math.abs(s.v) > 3).length
    // a normal distribution has 0.27 % beyond ±3 (27 of 10050); these Poisson-like counts: 25
    assert.ok(beyond3 / ordinary.length < 0.005, `${beyond3} of ${ordinary.length}`)
    // `anomaly(...) < -4` on the raw minutes: the 30 drop minutes and one ordinary minute of the
    // week (Sunday 12:07 at -4.2). Even on Gaussian noise the estimator goes below -4 about once in
    // 11000 minutes (0.009 %: the band is itself estimated), the reason an alert rule waits a few
    // minutes (`for: 5m`) or reads a smoothed rate, as below
    const selected = lastWeek(gaugeAnomaly).filter((s) => s.v < -4)
    assert.deepEqual(
      selected.map((s) => clock(s.t)),
      [...Array.from({length: 30}, (_, i) => clock(DROP_START + i * MIN)), '2026-02-08T12:07'],
    )
  })

  it('the alert rule anomaly(sum(rate(shop.orders[5m])), 1w) < -4 selects the drop and nothing else in the week', () => {
    const rule = bin('<', rateAnomaly, num(-4))
    const minutes = rangeQuery(shop, rule, LAST_WEEK, LAST_WEEK + WEEK - MIN, MIN).flatMap((s) => s.samples.map((x) => sinceDrop(x.t)))
    // rate[5m] at t reads the samples in (t-5m, t]: 4 per-minute increases (t-3m … t). A minute is
    // selected once at least half of them fall in the drop: 10:01 (2 of 4) to 10:31 (10:28, 10:29
    // of 10:28-10:31). 10:00 (1 of 4: -3.0) and 10:32 (1 of 4: -3.4) stay above -4.
    assert.deepEqual(minutes, Array.from({length: 31}, (_, i) => i + 1))
    const byMinute = new Map(lastWeek(rateAnomaly).map((s) => [sinceDrop(s.t), s.v]))
    for (let m = 3; m < 30; m++) assert.ok(byMinute.get(m)! < -8, `10:${m}: the whole window in the drop: ${byMinute.get(m)}`)
    const ordinary = lastWeek(rateAnomaly).filter((s) => sinceDrop(s.t) < 0 || sinceDrop(s.t) >= 33)
    assert.ok(ordinary.every((s) => s.v > -4 && s.v < 5))
  })

  it('a range query gives what the instant query gives at each step (the history memo changes nothing)', () => {
    const steps = lastWeek(rateAnomaly)
    for (const s of steps.filter((x) => Math.abs(sinceDrop(x.t)) < 40 || x.t % (6 * HOUR) === 0)) {
      assert.equal(only(instantQuery(shop, rateAnomaly, s.t)), s.v, clock(s.t))
    }

    // and a range query whose steps skip neighbours (5 m) or go off the minute grid
    for (const [step, from] of [[5 * MIN, DROP_START - HOUR], [7 * MIN + 13_000, DROP_START - HOUR + 29_000]]) {
      for (const s of rangeQuery(shop, rateAnomaly, from, from + 2 * HOUR, step)[0].samples) assert.equal(only(instantQuery(shop, rateAnomaly, s.t)), s.v)
    }
  })

  it('why the band is pooled over 31 minutes: the MAD of the 4 same-time values alone is too noisy', () => {
    // the same baseline with the band from the 4 same-time values only: as the plain MAD around
    // their median (1762 of 10050 ordinary minutes beyond ±3, one in six), or as the leave-one-out
    // deviations of those 4 (1006, one in ten, what a period of 8 minutes or less gets). Pooled
    // over 31 minutes: as rare as for a normal distribution (the test above)
    const byTime = new Map(fixture.gauge.map((s) => [s.t, s.v]))
    const plainMad = (now: number, history: number[]) => {
      const baseline = fn.median(history)
      const band = Math.max(fn.MAD_TO_SIGMA * fn.median(history.map((h) => Math.abs(h - baseline))), fn.BAND_RELATIVE_FLOOR * Math.abs(baseline), fn.BAND_ABSOLUTE_FLOOR)
      return (now - baseline) / band
    }

    let plainBeyond3 = 0
    let sameTimeBeyond3 = 0
    let ordinary = 0
    for (let t = LAST_WEEK; t < LAST_WEEK + WEEK; t += MIN) {
      if (t >= DROP_START && t < DROP_END) continue
      const sameTime = [1, 2, 3, 4].map((k) => byTime.get(t - k * WEEK)!)
      ordinary++
      if (Math.abs(plainMad(byTime.get(t)!, sameTime)) > 3) plainBeyond3++
      if (Math.abs(fn.seasonalScore(byTime.get(t)!, [sameTime])) > 3) sameTimeBeyond3++
    }

    assert.ok(plainBeyond3 / ordinary > 0.15, `plain MAD: ${plainBeyond3} of ${ordinary}`)
    assert.ok(sameTimeBeyond3 / ordinary > 0.08, `same-time leave-one-out: ${sameTimeBeyond3} of ${ordinary}`)
  })
})

/** Samples of one value at every minute of [from, to). */
function constant(v: number, from: number, to: number): Sample[] {
  const samples: Sample[] = []
  for (let t = from; t < to; t += MIN) samples.push({t, v})
  return samples
}

describe('anomaly(): history, floors and labels', () => {
  const T = START + 4 * WEEK + 12 * HOUR
  /** samples from 20 minutes before to 40 after T − k weeks for each listed k (0 = now), with value(k) */
  const around = (ks: number[], value: (k: number) => number): Sample[] => ks.flatMap((k) => constant(value(k), T - k * WEEK - 20 * MIN, T - k * WEEK + 40 * MIN))

  it('a series needs ⌈n/2⌉ same-time values in its history; with fewer it has no result', () => {
    const source = new MemorySeriesSource([
      monSeries('m', 'v', {has: 'none'}, around([0], () => 5)),
      monSeries('m', 'v', {has: 'one'}, around([0, 3], () => 5)),
      monSeries('m', 'v', {has: 'two'}, around([0, 1, 4], () => 5)),
      monSeries('m', 'v', {has: 'all'}, around([0, 1, 2, 3, 4], () => 5)),
      // history but nothing now: no result either
      monSeries('m', 'v', {has: 'past only'}, around([1, 2, 3, 4], () => 5)),
    ])
    assert.deepEqual(lines(instantQuery(source, anomaly(sel('m.v'), num(WEEK_S)), T)), ['{has="all"} 0', '{has="two"} 0'])
    // n = 1 needs one, n = 8 four (of which this data has at most four)
    assert.deepEqual(lines(instantQuery(source, anomaly(sel('m.v'), num(WEEK_S), num(1)), T)), ['{has="all"} 0', '{has="two"} 0'])
    assert.deepEqual(lines(instantQuery(source, anomaly(sel('m.v'), num(WEEK_S), num(2)), T)), ['{has="all"} 0', '{has="two"} 0'])
    assert.deepEqual(lines(instantQuery(source, anomaly(sel('m.v'), num(WEEK_S), num(8)), T)), ['{has="all"} 0'])
    // with no data at all: an empty vector, not an error
    assert.deepEqual(lines(instantQuery(source, anomaly(sel('absent.metric'), num(WEEK_S)), T)), [])
  })

  it('a flat history gives a finite value: the band is floored at 1 % of the baseline, and at 1e-9', () => {
    const flat = (now: number, past: number) => new MemorySeriesSource([monSeries('m', 'v', {}, around([0, 1, 2, 3, 4], (k) => (k === 0 ? now : past)))])
    const at = (now: number, past: number, n?: number) => only(instantQuery(flat(now, past), anomaly(sel('m.v'), num(WEEK_S), ...(n ? [num(n)] : [])), T))
    assert.equal(at(100, 100), 0)
    // MAD 0: one band is 1 % of 100, so 90 is 10 bands below
    assert.equal(at(90, 100), -10)
    assert.equal(at(104, 100), 4)
    assert.equal(at(-90, -100), 10)
    // one period of history has no spread to measure: the floor again
    assert.equal(at(90, 100, 1), -10)
    // a baseline of 0 with no variation: any change is huge, but finite
    assert.equal(at(0, 0), 0)
    assert.equal(at(1, 0), 1 / 1e-9)
    assert.equal(at(Number.NaN, 100), Number.NaN)
  })

  it('one outlier period moves neither the baseline nor the band (median and MAD)', () => {
    // last week had an outage (0); the three weeks before were 100 ± 2, alternating every minute
    const past = [1, 2, 3, 4].flatMap((k) => constant(0, T - k * WEEK - 20 * MIN, T - k * WEEK + 40 * MIN).map((s, i) => ({t: s.t, v: k === 1 ? 0 : 100 + ((i + k) % 2 === 0 ? 2 : -2)})))
    const source = new MemorySeriesSource([monSeries('m', 'v', {}, [...constant(94, T - 20 * MIN, T + MIN), ...past])])
    // the same time: 0, 102, 98, 102: the baseline is their median, 100. Each minute, one period
    // lies 4 from the median of the others, and the outage 102 from it: the band is 1.4826 × 4
    assert.equal(fn.seasonalBand([[0, 102, 98, 102]]).baseline, 100)
    assert.equal(only(instantQuery(source, anomaly(sel('m.v'), num(WEEK_S)), T)), -6 / (1.4826 * 4))
  })

  it('a sharp weekly feature (a rush 10 minutes later) does not widen the band: weeks are compared minute by minute', () => {
    // every week: 50 orders a minute, 200 from 10 minutes after T on, each minute ± up to 3 (seeded)
    const random = lcg(7)
    const rush = T + 10 * MIN
    const week = (k: number, now?: number) =>
      constant(0, T - k * WEEK - 20 * MIN, T - k * WEEK + 40 * MIN).map((s) => ({t: s.t, v: now ?? (s.t + k * WEEK >= rush ? 200 : 50) + Math.round(6 * random() - 3)}))
    const past = [1, 2, 3, 4].flatMap((k) => week(k))
    const at = (now: number) => only(instantQuery(new MemorySeriesSource([monSeries('m', 'v', {}, [...past, ...week(0, now)])]), anomaly(sel('m.v'), num(WEEK_S)), T))
    // the half hour after T holds both 50s and 200s, yet the band is the week-to-week spread (a few orders)
    assert.ok(Math.abs(at(50)) < 3, `${at(50)}`)
    assert.ok(at(35) < -4, `${at(35)}`)
    assert.ok(at(20) < -10, `${at(20)}`)
  })

  it('labels: per label set, the metric name dropped; `offset` inside shifts every read; `@` pins them', () => {
    const source = new MemorySeriesSource([
      monSeries('m', 'v', {host: 'a'}, around([0, 1, 2, 3, 4, 5], (k) => (k === 0 ? 50 : 100))),
      monSeries('m', 'v', {host: 'b'}, around([0, 1, 2, 3, 4, 5], (k) => (k === 1 ? 150 : 100))),
    ])
    assert.deepEqual(lines(instantQuery(source, anomaly(sel('m.v'), num(WEEK_S)), T)), ['{host="a"} -50', '{host="b"} 0'])
    // offset 1w: now is last week (host b 150 against 100, 100, 100, 100)
    assert.deepEqual(lines(instantQuery(source, anomaly(sel('m.v', {}, {offset: WEEK}), num(WEEK_S)), T)), ['{host="a"} 0', '{host="b"} 50'])
    // @ T pins every read to T: the history is the value itself
    assert.deepEqual(lines(instantQuery(source, anomaly(sel('m.v', {}, {at: T}), num(WEEK_S)), T + WEEK)), ['{host="a"} 0', '{host="b"} 0'])
  })
})

describe('anomaly(): arguments that cannot be evaluated', () => {
  const source = new MemorySeriesSource([monSeries('m', 'v', {}, constant(1, START, START + HOUR)), monSeries('n', 'v', {}, constant(1, START, START + HOUR))])
  const x = sel('m.v')
  const cases: Array<[string, PromExpr, RegExp]> = [
    ['no period', anomaly(x), /anomaly\(\) takes 2 to 3 argument\(s\), got 1/],
    ['four arguments', anomaly(x, num(60), num(4), num(1)), /takes 2 to 3 argument\(s\), got 4/],
    ['a range vector', anomaly(range(x, MIN), num(60)), /expected an instant vector as argument 1 of anomaly\(\), got range vector/],
    ['a subquery', anomaly(subquery(x, HOUR, MIN), num(60)), /expected an instant vector as argument 1 of anomaly\(\), got range vector/],
    ['a number', anomaly(num(3), num(60)), /expected an instant vector as argument 1 of anomaly\(\), got scalar/],
    ['a string', anomaly(str('x'), num(60)), /expected an instant vector as argument 1 of anomaly\(\), got string/],
    ['a scalar expression', anomaly(call('time'), num(60)), /expected an instant vector in anomaly\(\), got scalar/],
    ['a period read from data', anomaly(x, call('scalar', x)), /period \(argument 2\) must be written as a duration or a number of seconds, such as 1w or 604800; got function call/],
    // the prefetch must know how far back to read before any value exists: literals only
    ['a period computed', anomaly(x, bin('*', num(7), num(86_400))), /period \(argument 2\) must be written as a duration or a number of seconds, such as 1w or 604800; got expression/],
    ['a zero period', anomaly(x, num(0)), /period must be positive, got 0/],
    ['a negative period', anomaly(x, {kind: 'unary', op: '-', expr: num(WEEK_S)}), /period must be positive, got -604800/],
    ['an infinite period', anomaly(x, num(Number.POSITIVE_INFINITY)), /period must be positive, got Infinity/],
    ['zero periods', anomaly(x, num(60), num(0)), /number of periods must be an integer from 1 to 52, got 0/],
    ['53 periods', anomaly(x, num(60), num(53)), /from 1 to 52, got 53/],
    ['a fractional number of periods', anomaly(x, num(60), num(2.5)), /from 1 to 52, got 2.5/],
    ['periods read from data', anomaly(x, num(60), x), /number of periods \(argument 3\) must be written as a number, such as 4; got instant vector/],
    ['two series that differ only in name', anomaly(sel(undefined, {}, {matchers: [{name: '__name__', op: '=~', value: 'm.v|n.v'}]}), num(60)), /anomaly\(\): vector cannot contain metrics with the same labelset/],
  ]
  for (const [name, expr, message] of cases) {
    it(name, () => {
      assert.throws(() => instantQuery(source, expr, START + 30 * MIN), (error: unknown) => error instanceof PromEvalError && message.test(error.message) && error.exitCode === 2)
    })
  }
})

/** A source that remembers the earliest time anything asked it for. */
class RecordingSource implements SeriesSource {
  earliest = Number.POSITIVE_INFINITY
  latest = Number.NEGATIVE_INFINITY
  constructor(private readonly inner: SeriesSource) {}
  select(...args: Parameters<SeriesSource['select']>): RawSeries[] {
    this.earliest = Math.min(this.earliest, args[1])
    this.latest = Math.max(this.latest, args[2])
    return this.inner.select(...args)
  }
}

describe('anomaly(): how far back it reads (for the prefetcher)', () => {
  const x = sel('shop.orders_per_minute')
  it('anomalyLookbackMs: n periods (the band neighbourhood never reaches before the oldest period)', () => {
    assert.equal(anomalyLookbackMs(anomaly(x, num(WEEK_S)) as Call), 4 * WEEK)
    assert.equal(anomalyLookbackMs(anomaly(x, num(86_400), num(7)) as Call), 7 * DAY)
    assert.equal(anomalyLookbackMs(anomaly(x, num(3600), num(2)) as Call), 2 * HOUR)
    assert.equal(anomalyLookbackMs(anomaly(x, num(60)) as Call), 4 * MIN)
    assert.throws(() => anomalyLookbackMs(anomaly(x, num(-1)) as Call), PromEvalError)
  })

  it('extraHistoryMs: summed through nested anomaly(), the largest over the tree, 0 without', () => {
    assert.equal(extraHistoryMs(agg('sum', call('rate', range(x, 5 * MIN)))), 0)
    assert.equal(extraHistoryMs(bin('<', rateAnomaly, num(-4))), 4 * WEEK)
    const nested = agg('max', anomaly(anomaly(x, num(86_400), num(2)), num(WEEK_S)))
    assert.equal(extraHistoryMs(nested), 4 * WEEK + 2 * DAY)
    assert.equal(extraHistoryMs(bin('+', anomaly(x, num(86_400)), subquery(anomaly(x, num(WEEK_S), num(2)), HOUR))), 2 * WEEK)
  })

  it('the parsed text is the tree the tests build, and the runner prefetches every read the evaluator makes', () => {
    assert.equal(formatPromExpr(parseQuery('anomaly(sum(rate(shop.orders[5m])), 1w)').expr), formatPromExpr(rateAnomaly))
    assert.equal(formatPromExpr(rateAnomaly), 'anomaly(sum (rate(shop.orders[5m])), 604800)')
    for (const text of ['anomaly(sum(rate(shop.orders[5m])), 1w) < -4', 'anomaly(shop.orders_per_minute, 1d, 7)', 'anomaly(shop.orders_per_minute offset 1h, 1w, 2)', 'anomaly(anomaly(shop.orders_per_minute, 1h), 1d)']) {
      const {expr} = parseQuery(text)
      for (const [start, end] of [[DROP_START, DROP_START], [DROP_START - HOUR, DROP_START + HOUR]]) {
        const plans = readsFor(expr, start, end, {lookbackMs: 5 * MIN, stepMs: MIN})
        const reads: Array<[number, number]> = []
        const recording: SeriesSource = {select: (matchers, mint, maxt) => (reads.push([mint, maxt]), shop.select(matchers, mint, maxt))}
        if (start === end) instantQuery(recording, expr, start)
        else rangeQuery(recording, expr, start, end, MIN)
        const from = Math.min(...plans.map((p) => p.start))
        const to = Math.max(...plans.map((p) => p.end))
        for (const [mint, maxt] of reads) assert.ok(mint >= from && maxt < to, `${text}: read [${clock(mint)}, ${clock(maxt)}] outside the prefetch [${clock(from)}, ${clock(to)})`)
      }
    }
  })

  it('matches what the evaluator reads: the earliest read is t − extraHistoryMs − the lookback', () => {
    const t = DROP_START
    for (const expr of [gaugeAnomaly, rateAnomaly, anomaly(x, num(86_400), num(3)), anomaly(x, num(60))]) {
      const source = new RecordingSource(shop)
      instantQuery(source, expr, t)
      // the selector's own reach: the 5-minute lookback, or the [5m] window (left-open: +1 ms)
      assert.equal(source.earliest, t - extraHistoryMs(expr) - 5 * MIN + 1, formatPromExpr(expr))
      assert.equal(source.latest, t, 'nothing after the evaluation time')
    }
  })
})

describe('anomaly(): the statistics', () => {
  it('median: the middle value, or the mean of the two middle ones', () => {
    assert.equal(fn.median([3, 1, 2]), 2)
    assert.equal(fn.median([4, 1, 3, 2]), 2.5)
    assert.equal(fn.median([7]), 7)
    assert.equal(fn.median([]), Number.NaN)
  })

  it('leaveOneOutDeviations: |each value − the median of the others|, the same as removing each in turn', () => {
    const random = lcg(3)
    for (let length = 0; length <= 9; length++) {
      for (let round = 0; round < 20; round++) {
        const values = Array.from({length}, () => Math.round(random() * 20))
        const expected = values.map((v, i) => Math.abs(v - fn.median(values.filter((_, j) => j !== i)))).sort((a, b) => a - b)
        assert.deepEqual([...fn.leaveOneOutDeviations(values)].sort((a, b) => a - b), length < 2 ? [] : expected, `${values}`)
      }
    }
  })

  it('seasonalBand: median baseline, 1.4826 × the median deviation, floored', () => {
    assert.deepEqual(fn.seasonalBand([[10, 12, 14, 100]]), {baseline: 13, band: 1.4826 * fn.median(fn.leaveOneOutDeviations([10, 12, 14, 100]))})
    // the same-time row is the first; the others only add deviations
    assert.equal(fn.seasonalBand([[100, 100], [0, 0], [0, 10]]).baseline, 100)
    // deviations 0 0 0 0 10 10: their median is 0, so the band is the floor, 1 % of 100
    assert.equal(fn.seasonalBand([[100, 100], [0, 0], [0, 10]]).band, 1)
    assert.equal(fn.seasonalBand([[5, 5, 5]]).band, 0.05)
    assert.equal(fn.seasonalBand([[0, 0, 0]]).band, 1e-9)
  })
})
