/**
 * The Prometheus API writes a range query's matrix as bytes (prom-json.ts): each value's digits
 * computed without String(v), each time's without JSON.stringify. The bytes must be exactly those
 * the string way gives — formatValue (String(v), spelled out without an exponent, as Go's
 * FormatFloat(v, 'f', -1, 64)) and JSON.stringify of the {metric, values} objects — for every double:
 * the edge values, random bit patterns, short decimals and their neighbours, means like a
 * dashboard's, and every power of two and of ten with its neighbours.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatValue, JsonBytes, matrixJsonBytes, matrixJsonParts, writeSeconds, writeValue} from '../../src/core/daemon/prom-json.js'
import {StepSeries, type RangeSeries} from '../../src/core/query/eval/engine.js'
import {generator} from '../helpers/random.js'

const bits = new Float64Array(1)
const words = new Uint32Array(bits.buffer)
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1

/** the double `steps` representations above `v` (below when negative; within one binade) */
function neighbour(v: number, steps: number): number {
  bits[0] = v
  words[LO] = (words[LO]! + steps) >>> 0
  return bits[0]!
}

function written(v: number, w = new JsonBytes(8)): string {
  w.pos = 0
  writeValue(w, v)
  return w.buf.toString('latin1', 0, w.pos)
}

/** the values formatValue and writeValue must agree on (each also negated) */
function values(): number[] {
  const out: number[] = [
    0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21, 1e-7, 1.5e-7, 5e-324, 1e-320, 2.2250738585072014e-308, 2.225073858507201e-308, Number.MAX_VALUE,
    2 ** 53, 2 ** 53 + 2, 2 ** 53 - 1, 2 ** 60, 1e14, 1e14 - 0.5, 1e15, 1e15 + 0.5, 1e-6, neighbour(1e-6, -1), 1e-5, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, 2 / 3, 0.5, 0.25, 0.125,
    1.5, 123_456_789_012_345.6, 99_999_999_999_999.98, 9.999_999_999_999_998, 21.836_416_666_666_668, 1.234_5e25, 4_294_967_295.5, 2_147_483_648.25,
  ]
  const next = generator(0x9e37_79b9)
  const random = () => next() / 2 ** 32
  // random bit patterns: every exponent, most outside the fast path
  for (let i = 0; i < 100_000; i++) {
    words[LO] = next()
    words[1 - LO] = next()
    out.push(bits[0]!)
  }
  // random mantissas at the exponents of 1e-6 … 1e14 (the fast path)
  for (let i = 0; i < 100_000; i++) {
    words[LO] = next()
    words[1 - LO] = ((next() & 0xf_ffff) | ((1003 + (next() % 70)) << 20)) >>> 0
    out.push(bits[0]!)
  }
  // short decimals (what most gauges hold) and the doubles either side of them
  for (let i = 0; i < 50_000; i++) {
    const v = Math.round(random() * 10 ** (next() % 16)) / 10 ** (next() % 17)
    out.push(v, neighbour(v, 1), neighbour(v, -1))
  }
  // means of a few three-decimal samples (what avg_over_time answers), at several scales
  for (let i = 0; i < 50_000; i++) {
    let sum = 0
    const n = 1 + (next() % 12)
    for (let j = 0; j < n; j++) sum += Math.round(random() * 1e5) / 1000
    out.push(sum / n, (sum / n) * 1e-4, (sum / n) * 1e8)
  }
  for (let e = -1074; e <= 1023; e++) out.push(2 ** e, neighbour(2 ** e, 1), neighbour(2 ** e, -1))
  for (let e = -30; e <= 30; e++) {
    const v = Number(`1e${e}`)
    out.push(v, neighbour(v, 1), neighbour(v, -1), neighbour(v, 2), neighbour(v, -2))
  }
  return out
}

/** Columns with gaps and special values, times JSON writes with an exponent, series of samples, an empty one. */
function mixedSeries(): RangeSeries[] {
  const next = generator(777)
  const start = 1_764_028_800_000
  const step = 60_000
  const steps = 300
  const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1e21, 1e-7, 5e-324]
  const series: RangeSeries[] = []
  for (let i = 0; i < 6; i++) {
    const v = new Float64Array(steps)
    const present = new Uint8Array(steps)
    for (let k = 0; k < steps; k++) {
      present[k] = i === 5 ? 0 : next() % 7 === 0 ? 0 : 1
      v[k] = k % 37 === 0 ? special[(k / 37) % special.length]! : (next() / 2 ** 32) * 10 ** ((next() % 20) - 8)
    }
    series.push(new StepSeries(i === 0 ? {__name__: 'cpu.usage_user', host: 'h"é\\\n☃'} : {host: `h${i}`}, start, step, v, present))
  }
  // columns at other steps (each step's time text made again), and times JSON writes with an exponent
  series.push(new StepSeries({host: 'other step'}, start + 500, 15_500, Float64Array.from([1.5, 2, -3]), Uint8Array.from([1, 0, 1])))
  series.push(new StepSeries({host: 'far'}, 2e18, 1e17, Float64Array.from([1, 2, 3]), Uint8Array.from([1, 1, 1])))
  series.push(new StepSeries({host: 'back'}, start, step, Float64Array.from([7, 8]), Uint8Array.from([0, 1])))
  // a series of samples (not columns): odd times, ms fractions
  series.push({labels: {}, samples: [{t: 1, v: 0.1}, {t: 1500, v: -2.5}, {t: start + 7, v: 1 / 3}, {t: -1500, v: 1e300}]})
  series.push({labels: {empty: ''}, samples: []})
  return series
}

describe('prom-json: values and times as bytes', () => {
  it('writes every value exactly as formatValue (String(v) without an exponent) does', () => {
    const w = new JsonBytes(8)
    let checked = 0
    for (const v of values()) {
      for (const x of [v, -v]) {
        const want = formatValue(x)
        const got = written(x, w)
        if (got !== want) assert.fail(`${x}: wrote ${got}, formatValue ${want}`)
        checked++
      }
    }
    assert.ok(checked > 1_000_000)
  })

  it('formatValue keeps Prometheus’ spelling (the reference the bytes are checked against)', () => {
    assert.equal(formatValue(0.1 + 0.2), '0.30000000000000004')
    assert.equal(formatValue(1e21), '1000000000000000000000')
    assert.equal(formatValue(-1.5e-7), '-0.00000015')
    assert.equal(formatValue(5e-324), `0.${'0'.repeat(323)}5`)
    assert.equal(formatValue(Number.NaN), 'NaN')
    assert.equal(written(-0), '-0')
    assert.equal(written(26.433_333_333_333_334), '26.433333333333334')
    assert.equal(written(-0.000_001), '-0.000001')
    assert.equal(written(2 ** 53), '9007199254740992')
    assert.equal(written(Number.NEGATIVE_INFINITY), '-Inf')
  })

  it('writes a time in ms as JSON.stringify(t / 1000) does', () => {
    const next = generator(12_345)
    const w = new JsonBytes(8)
    const times = [0, -0, 1, -1, 10, 999, 1000, 1001, 1010, 1100, 1_764_028_800_000, 1_764_028_800_120, 1e15 - 1, -(1e15 - 1), 1e15, 2e15 + 1, 0.5, 1.25, -1.5, Number.MAX_SAFE_INTEGER]
    for (let i = 0; i < 100_000; i++) times.push(Math.floor(((next() / 2 ** 32) - 0.3) * 10 ** (next() % 16)))
    for (const t of times) {
      w.pos = 0
      writeSeconds(w, t)
      assert.equal(w.buf.toString('latin1', 0, w.pos), JSON.stringify(t / 1000), `t = ${t}`)
    }
  })

  it('writes a matrix as JSON.stringify of {metric, values: [[seconds, "value"], …]} does', () => {
    const series = mixedSeries()
    const want = JSON.stringify({
      status: 'success',
      data: {resultType: 'matrix', result: series.map((s) => ({metric: s.labels, values: s.samples.map((p) => [p.t / 1000, formatValue(p.v)])}))},
    })
    const got = matrixJsonBytes(series, '{"status":"success","data":', '}').toString('utf8')
    assert.equal(got, want)
    assert.equal(matrixJsonBytes([]).toString(), '{"resultType":"matrix","result":[]}')
  })

  it('writes the same bytes in parts (a large answer sent as it is written), the parts sent before left as they were', () => {
    const series = mixedSeries()
    // a label past the size estimate: the buffer is outgrown after parts were handed out
    series.splice(3, 0, new StepSeries({host: 'x'.repeat(20_000)}, 1_764_028_800_000, 60_000, Float64Array.from([1, 2]), Uint8Array.from([1, 1])))
    const want = matrixJsonBytes(series, '{"status":"success","data":', '}').toString('utf8')
    for (const part of [1, 100, 5000, 1e9]) {
      const w = new JsonBytes(16)
      const parts: Buffer[] = []
      const rest = matrixJsonParts(series, '{"status":"success","data":', '}', w, (b) => parts.push(b), part)
      assert.equal(Buffer.concat([...parts, rest]).toString('utf8'), want, `parts of ${part}`)
      if (part === 1) assert.equal(parts.length, series.length)
      if (part === 1e9) assert.equal(parts.length, 0)
    }
    assert.equal(matrixJsonParts([], '', '', new JsonBytes(), () => assert.fail('no part')).toString(), '{"resultType":"matrix","result":[]}')
  })

  it('grows its buffer as it writes (past a small first guess)', () => {
    const w = new JsonBytes(1)
    const parts: string[] = []
    for (let i = 0; i < 5000; i++) {
      w.ascii(',')
      writeValue(w, i / 7)
      w.utf8('☃')
      parts.push(',', formatValue(i / 7), '☃')
    }
    assert.equal(w.bytes().toString('utf8'), parts.join(''))
  })
})
