/**
 * The range query's JSON written by two threads (json-thread.ts): the bytes must be exactly those
 * matrixJsonBytes writes alone, whatever the series hold and whichever thread writes which series
 * (the thread alone, or both taking series in turn); an error the thread meets is the request's
 * error; a thread stopped leaves the answers to the main thread; the thread stops after its idle
 * time and starts again for the next answer.
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {MatrixJsonThread} from '../../src/core/daemon/json-thread.js'
import {JsonBytes, matrixJsonBytes} from '../../src/core/daemon/prom-json.js'
import {StepSeries, type RangeSeries} from '../../src/core/query/eval/engine.js'
import {ManualTimer} from '../../src/core/scheduler/timer.js'
import {generator} from '../helpers/random.js'

const HEAD = '{"status":"success","data":'
const TAIL = '}\n'
const START = Date.UTC(2026, 10, 24)

/** `n` step series of `steps` steps: dashboard-like means, edge values, gaps, labels of every kind */
function seriesOf(n: number, steps: number, seed: number): StepSeries[] {
  const next = generator(seed)
  const bits = new Float64Array(1)
  const words = new Uint32Array(bits.buffer)
  const edges = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-7, 1e21, -123456789.125, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53]
  const out: StepSeries[] = []
  for (let i = 0; i < n; i++) {
    const values = new Float64Array(steps)
    const present = new Uint8Array(steps)
    for (let k = 0; k < steps; k++) {
      const r = next() % 10
      present[k] = r === 0 ? 0 : 1
      if (r === 1) values[k] = edges[next() % edges.length]!
      else if (r === 2) {
        words[0] = next()
        words[1] = next()
        values[k] = bits[0]!
      } else values[k] = Math.round((20 + 15 * Math.sin(k / 30 + i)) * 6000 + (next() % 1000)) / 6000
    }
    out.push(new StepSeries({__name__: 'cpu.usage_user', host: `h${i}`, note: i % 3 === 0 ? 'ünïcødé "quoted" \\ \u2028' : 'plain'}, START, 60_000, values, present))
  }
  return out
}

const alone = (series: readonly RangeSeries[]) => Buffer.from(matrixJsonBytes(series, HEAD, TAIL, new JsonBytes()))

describe('the JSON thread', () => {
  const threads: MatrixJsonThread[] = []
  const thread = (opts: ConstructorParameters<typeof MatrixJsonThread>[0] = {}) => {
    // never written alone for being behind: the tests do not depend on timing
    const t = new MatrixJsonThread({minSamples: 100, ...opts})
    threads.push(t)
    return t
  }
  after(async () => {
    for (const t of threads) await t.close()
  })

  for (const threadOnly of [true, false]) {
    it(`writes the bytes matrixJsonBytes writes alone, for many shapes of answer (${threadOnly ? 'every series by the thread' : 'the series taken in turn'})`, async () => {
      const t = thread({threadOnly})
      assert.equal(await t.start(), true)
      const w = new JsonBytes()
      let shared = 0
      for (const [n, steps, seed] of [
        [2, 60, 1],
        [3, 1441, 2],
        [10, 1441, 3],
        [7, 500, 4],
        [25, 97, 5],
      ] as const) {
        const series = seriesOf(n, steps, seed)
        const [took, overflowed] = [t.took, t.overflowed]
        const got = await t.matrix(series, HEAD, TAIL, w)
        assert.ok(got.equals(alone(series)), `${n} series × ${steps} steps`)
        assert.equal(t.shared, ++shared, 'the thread was offered the series')
        // (values of random bits spelled out at length can make a series longer than its region)
        if (threadOnly) assert.equal(t.took - took + (t.overflowed - overflowed), n, 'the thread wrote every series')
      }
      // series of other steps and lengths in one answer (each writes its own times)
      const mixed = [...seriesOf(2, 300, 6), new StepSeries({a: 'b'}, START + 5, 15_000, new Float64Array([1.5, 2, 3]), new Uint8Array([1, 0, 1])), ...seriesOf(2, 300, 7)]
      assert.ok((await t.matrix(mixed, HEAD, TAIL, w)).equals(alone(mixed)))
      // JSON.parse of the answer: the answer is one valid document
      const parsed = JSON.parse((await t.matrix(mixed, HEAD, TAIL, w)).toString()) as {data: {result: unknown[]}}
      assert.equal(parsed.data.result.length, mixed.length)
    })
  }

  it('writes a series longer than its share of the shared answer on the main thread, the same bytes', async () => {
    const t = thread({threadOnly: true})
    assert.equal(await t.start(), true)
    // long labels and values spelled out at length (1e-300: 300 zeros) overflow a series' region
    const series = seriesOf(3, 400, 20).map((s, i) => new StepSeries({...s.labels, long: 'x'.repeat(3000 * i)}, s.start, s.step, s.values.map((v, k) => (k % 3 === 0 ? 1e-300 * (k + 1) : v)), s.present))
    const overflowed = t.overflowed
    assert.ok((await t.matrix(series, HEAD, TAIL)).equals(alone(series)))
    assert.equal(t.overflowed - overflowed, 3)
  })

  it('writes small answers, and answers with other than step series, on the main thread alone', async () => {
    const t = thread({minSamples: 1000})
    assert.equal(await t.start(), true)
    const small = seriesOf(3, 100, 8)
    assert.ok((await t.matrix(small, HEAD, TAIL)).equals(alone(small)))
    const plain: RangeSeries[] = [
      {labels: {a: '1'}, samples: [{t: START, v: 1.25}]},
      ...seriesOf(2, 1000, 9),
    ]
    assert.ok((await t.matrix(plain, HEAD, TAIL)).equals(alone(plain)))
    assert.equal(t.shared, 0)
  })

  it('answers two at once, each with its own bytes', async () => {
    const t = thread()
    assert.equal(await t.start(), true)
    const a = seriesOf(6, 1441, 10)
    const b = seriesOf(5, 1441, 11)
    const [ga, gb] = await Promise.all([t.matrix(a, HEAD, TAIL), t.matrix(b, HEAD, TAIL)])
    assert.ok(ga.equals(alone(a)))
    assert.ok(gb.equals(alone(b)))
    assert.equal(t.shared, 2)
  })

  it("makes an error the thread meets the request's error, and goes on answering", async () => {
    const t = thread({threadOnly: true})
    assert.equal(await t.start(), true)
    const series = seriesOf(4, 200, 12)
    // a label JSON cannot write, in a series the thread writes (it writes them all here)
    const bad = [...series.slice(0, 3), new StepSeries({host: 1n as unknown as string}, START, 60_000, series[3]!.values, series[3]!.present)]
    await assert.rejects(t.matrix(bad, HEAD, TAIL), (err: Error) => err.name === 'TypeError' && /BigInt/.test(err.message))
    assert.ok((await t.matrix(series, HEAD, TAIL)).equals(alone(series)))
    assert.equal(t.running, true)
  })

  it('answers alone once the thread is stopped, and starts a new one for the next', async () => {
    const t = thread({threadOnly: true})
    assert.equal(await t.start(), true)
    const series = seriesOf(4, 1441, 13)
    assert.ok((await t.matrix(series, HEAD, TAIL)).equals(alone(series)))
    await t.stop()
    assert.equal(t.running, false)
    // the next large answer starts it again (written alone until it is ready)
    const [took, overflowed] = [t.took, t.overflowed]
    assert.ok((await t.matrix(series, HEAD, TAIL)).equals(alone(series)))
    assert.equal(t.took, took, 'written alone')
    assert.equal(await t.start(), true)
    assert.equal(t.starts, 2)
    assert.ok((await t.matrix(series, HEAD, TAIL)).equals(alone(series)))
    assert.equal(t.took - took + (t.overflowed - overflowed), series.length)
  })

  it('stops after its idle time without an answer, and never runs after close', async () => {
    const timer = new ManualTimer(0)
    const t = thread({idleMs: 30_000, timer})
    assert.equal(t.running, false, 'not started before an answer needs it')
    assert.equal(await t.start(), true)
    const series = seriesOf(3, 500, 14)
    await t.matrix(series, HEAD, TAIL)
    await timer.advance(29_000)
    assert.equal(t.running, true)
    await t.matrix(series, HEAD, TAIL)
    await timer.advance(29_000)
    assert.equal(t.running, true, 'each answer starts the idle time again')
    await timer.advance(1_000)
    // terminate() is asynchronous: the thread is no longer used at once
    assert.equal(t.running, false)
    await t.close()
    assert.ok((await t.matrix(series, HEAD, TAIL)).equals(alone(series)))
    assert.equal(t.running, false)
    assert.equal(await t.start(), false)
  })
})
