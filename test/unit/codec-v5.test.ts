/**
 * Chunk codec version 5: every coding (scaled by 10^k or 2^k over the deltas' gcd, exact ratios of
 * one denominator, k-decimal + ULP residual, XORed doubles, bit-packed delta-of-delta timestamps) round-trips bit for bit —
 * on random series of many shapes over many seeds and on adversarial doubles (NaN payloads, -0,
 * subnormals, ±Infinity, 2^53 ± 1, the largest doubles) — and version 3 blobs still decode.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {chunkVersion, codecFallbacks, decodeChunk, encodeChunk, encodeChunkV3} from '../../src/core/store/codec.js'

const T0 = 1_767_225_600_000

function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** The 64-bit pattern of a double, as hex: compares NaN payloads and -0 too. */
function bits(v: number): string {
  const f = new Float64Array([v])
  const u = new Uint32Array(f.buffer)
  return u[1].toString(16).padStart(8, '0') + u[0].toString(16).padStart(8, '0')
}

function fromBits(hi: number, lo: number): number {
  const u = new Uint32Array([lo, hi])
  return new Float64Array(u.buffer)[0]
}

function assertRoundTrip(ts: number[], values: number[], what: string): Buffer[] {
  const blobs: Buffer[] = []
  for (const compress of [true, false]) {
    const blob = encodeChunk(ts, values, {compress})
    assert.equal(chunkVersion(blob), 5)
    const d = decodeChunk(blob)
    assert.deepEqual(Array.from(d.ts), ts, `${what}: timestamps (${compress ? 'thorough' : 'quick'})`)
    // the Float64Array itself: Array.from would canonicalize NaN payloads
    const got = d.values as Float64Array
    assert.equal(got.length, values.length)
    for (let i = 0; i < values.length; i++) {
      if (bits(got[i]) !== bits(values[i])) assert.fail(`${what} (${compress ? 'thorough' : 'quick'}): value ${i} is ${got[i]} (${bits(got[i])}), expected ${values[i]} (${bits(values[i])})`)
    }

    blobs.push(blob)
  }

  return blobs
}

/** Shapes of series the codings are for, and some they are not. */
const shapes: Record<string, (rnd: () => number, n: number) => number[]> = {
  counter: (rnd, n) => {
    let c = Math.floor(rnd() * 1e12)
    return Array.from({length: n}, () => (c += Math.floor(rnd() * 2_000_000)))
  },
  'byte counts in pages': (rnd, n) => {
    let c = 2 ** 33
    return Array.from({length: n}, () => (c += Math.round((rnd() - 0.5) * 8192) * 4096))
  },
  'two decimals': (rnd, n) => {
    let g = 50
    return Array.from({length: n}, () => Math.round((g += (rnd() - 0.5) * 4) * 100) / 100)
  },
  'power-of-two ratio (100 × used / 16 GiB)': (rnd, n) => {
    let used = 2 ** 33
    return Array.from({length: n}, () => (100 * (used += Math.round((rnd() - 0.5) * 8192) * 4096)) / 2 ** 34)
  },
  'ratio with float noise (100 × Δ seconds / Δ total)': (rnd, n) => {
    let a = 123_456
    return Array.from({length: n}, () => {
      const prev = a
      a += Math.floor(rnd() * 4000)
      return (100 * (a / 100 - prev / 100)) / 40
    })
  },
  'ratio of integers (p / 7 × 100)': (rnd, n) => Array.from({length: n}, () => (Math.floor(rnd() * 7) / 7) * 100),
  'ratio 100 × used / 24 GiB': (rnd, n) => {
    let used = 2 ** 33
    return Array.from({length: n}, () => (100 * (used += Math.round((rnd() - 0.5) * 8192) * 4096)) / (24 * 2 ** 30))
  },
  'ratio used / (used + free) × 100 (500 GiB disk)': (rnd, n) => {
    let used = 100 * 2 ** 30
    return Array.from({length: n}, () => ((used += Math.floor(rnd() * 64) * 4096) / (500 * 2 ** 30)) * 100)
  },
  'negative ratios with one outlier': (rnd, n) => Array.from({length: n}, (_, i) => (i === Math.floor(n / 2) ? Math.PI : (-100 * Math.floor(rnd() * 1e6)) / 999_983)),
  'ratios of varying denominators': (rnd, n) => Array.from({length: n}, () => (100 * Math.floor(rnd() * 50)) / (40 + Math.floor(rnd() * 5))),
  'full doubles': (rnd, n) => Array.from({length: n}, () => (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20)),
  'random bit patterns (NaN payloads, infinities, subnormals)': (rnd, n) =>
    Array.from({length: n}, () => fromBits(Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 2 ** 32))),
  'repeated value with noise': (rnd, n) => {
    const v = 37.123456789012345
    return Array.from({length: n}, () => (rnd() < 0.9 ? v : v + rnd()))
  },
  'negatives around zero': (rnd, n) => Array.from({length: n}, () => Math.round((rnd() - 0.5) * 2000) / 1000),
  'near the scaled limit': (rnd, n) => Array.from({length: n}, () => (rnd() < 0.5 ? 2 ** 51 : -(2 ** 51)) + Math.floor(rnd() * 3) - 1),
  'mixed magnitudes': (rnd, n) => Array.from({length: n}, () => [0.1, 1e15, 1e-15, 12.5, 2 ** 53 + 2][Math.floor(rnd() * 5)]),
}

const timestampShapes: Record<string, (rnd: () => number, n: number) => number[]> = {
  regular: (_, n) => Array.from({length: n}, (_v, i) => T0 + i * 10_000),
  jittered: (rnd, n) => {
    let t = T0
    return Array.from({length: n}, () => (t += 10_000 + Math.floor(rnd() * 50) - 25))
  },
  // a regular interval but for one step (in any block; read as a regular one would be wrong), and a
  // steady change of interval (every delta-of-delta the same, not 0)
  'regular but one': (rnd, n) => {
    const odd = Math.floor(rnd() * n)
    return Array.from({length: n}, (_v, i) => T0 + i * 10_000 + (i >= odd ? 1 : 0))
  },
  'steadily slower': (_, n) => Array.from({length: n}, (_v, i) => T0 + i * 1000 + (i * (i - 1)) / 2),
  gaps: (rnd, n) => {
    let t = T0
    return Array.from({length: n}, () => (t += rnd() < 0.05 ? Math.floor(rnd() * 86_400_000) + 1 : 1000))
  },
  'negative and around zero': (rnd, n) => {
    let t = -Math.floor(rnd() * 1e6)
    return Array.from({length: n}, () => (t += 1 + Math.floor(rnd() * 100)))
  },
  'beyond ±2^49 (plain timestamps)': (rnd, n) => {
    let t = -(2 ** 52)
    return Array.from({length: n}, () => (t += 1 + Math.floor(rnd() * 2 ** 40)))
  },
}

describe('chunk codec v5: round trips bit for bit', () => {
  for (const [name, make] of Object.entries(shapes)) {
    it(`${name}, 40 seeds, lengths 1–2000`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const rnd = mulberry32(seed)
        const n = seed <= 5 ? seed : Math.floor(rnd() * 2000) + 1
        const ts = timestampShapes.regular(rnd, n)
        assertRoundTrip(ts, make(rnd, n), `${name} seed ${seed}`)
      }
    })
  }

  for (const [name, make] of Object.entries(timestampShapes)) {
    it(`timestamps: ${name}, 40 seeds`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const rnd = mulberry32(1000 + seed)
        const n = Math.floor(rnd() * 1500) + 1
        const ts = make(rnd, n)
        assertRoundTrip(ts, shapes['two decimals'](rnd, n), `${name} seed ${seed}`)
      }
    })
  }

  it('adversarial doubles, alone, in pairs and in runs', () => {
    const nasty = [
      Number.NaN,
      fromBits(0x7ff00000, 1), // signalling NaN payload
      fromBits(0xfff80000, 0xdeadbeef), // negative quiet NaN with a payload
      fromBits(0x7fffffff, 0xffffffff),
      0,
      -0,
      5e-324,
      -5e-324,
      2.2250738585072014e-308, // smallest normal
      2.225073858507201e-308, // largest subnormal
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2 ** 53,
      2 ** 53 - 1,
      2 ** 53 + 2,
      -(2 ** 53) + 1,
      -(2 ** 53) - 2,
      2 ** 51,
      2 ** 51 + 1,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      0.1,
      0.30000000000000004,
      1 / 3,
      1e-7,
      123456.789,
      -1e21,
    ]
    const ts = (n: number) => Array.from({length: n}, (_, i) => T0 + i * 1000)
    for (const v of nasty) assertRoundTrip(ts(1), [v], `alone ${bits(v)}`)
    for (const a of nasty) for (const b of nasty) assertRoundTrip(ts(4), [a, b, a, 12.5], `pair ${bits(a)} ${bits(b)}`)
    for (const v of nasty) assertRoundTrip(ts(300), Array.from({length: 300}, (_, i) => (i % 50 === 7 ? v : i / 4)), `in a run ${bits(v)}`)
    // -0 among values every coding would otherwise take
    assertRoundTrip(ts(6), [1, 2, -0, 3, 0, 4], '-0 among integers')
    assertRoundTrip(ts(6), [0.5, 0.25, -0, 0.75, 0, 1], '-0 among binary fractions')
    assertRoundTrip(ts(6), [(100 * 1) / 7, -0, (100 * 2) / 7, 0, 1 / 3, 2 / 3], '-0 among ratios')
  })

  it('empty and one-point chunks', () => {
    assertRoundTrip([], [], 'empty')
    assertRoundTrip([T0], [42.5], 'one point')
    assertRoundTrip([-1], [-0], 'one -0 at -1 ms')
  })
})

describe('chunk codec v5: sizes', () => {
  const n = 5000
  const ts = Array.from({length: n}, (_, i) => T0 + i * 10_000)
  const perPoint = (values: number[]) => encodeChunk(ts, values).length / n
  const v3PerPoint = (values: number[]) => encodeChunkV3(ts, values).length / n

  it('each coding beats version 3 on the series it is for', () => {
    for (const name of [
      'counter',
      'byte counts in pages',
      'power-of-two ratio (100 × used / 16 GiB)',
      'ratio with float noise (100 × Δ seconds / Δ total)',
      'ratio 100 × used / 24 GiB',
      'ratio used / (used + free) × 100 (500 GiB disk)',
    ]) {
      const values = shapes[name](mulberry32(7), n)
      assert.ok(perPoint(values) < v3PerPoint(values) * 0.9, `${name}: ${perPoint(values).toFixed(2)} B/point vs ${v3PerPoint(values).toFixed(2)} in version 3`)
    }
  })

  it('exact ratios of one denominator cost what their numerators do', () => {
    for (const name of ['ratio 100 × used / 24 GiB', 'ratio used / (used + free) × 100 (500 GiB disk)']) {
      const values = shapes[name](mulberry32(7), n)
      assert.ok(perPoint(values) < 2, `${name}: ${perPoint(values).toFixed(2)} B/point`)
    }
  })

  it('a regular interval costs next to nothing', () => {
    assert.ok(perPoint(new Array(n).fill(1)) < 0.02, `${perPoint(new Array(n).fill(1))} B/point for constant values at a regular interval`)
  })

  it('never much worse than version 3', () => {
    for (const [name, make] of Object.entries(shapes)) {
      const values = make(mulberry32(9), n)
      assert.ok(perPoint(values) <= v3PerPoint(values) * 1.02 + 0.01, `${name}: ${perPoint(values).toFixed(3)} vs ${v3PerPoint(values).toFixed(3)}`)
    }
  })
})

describe('chunk codec: version 3 blobs still decode', () => {
  it('random series of every shape, deflated and plain', () => {
    for (const [name, make] of Object.entries(shapes)) {
      for (let seed = 1; seed <= 10; seed++) {
        const rnd = mulberry32(seed)
        const n = Math.floor(rnd() * 1500) + 1
        const ts = timestampShapes.jittered(rnd, n)
        const values = make(rnd, n)
        for (const compress of [true, false]) {
          const blob = encodeChunkV3(ts, values, {compress})
          assert.equal(chunkVersion(blob), 3)
          const d = decodeChunk(blob)
          assert.deepEqual(Array.from(d.ts), ts)
          // version 3 stored -0 as 0 in its DECIMAL mode (one reason for version 5)
          const want = values.map((v) => bits(v === 0 ? 0 : v))
          const got = Array.from(d.values as Float64Array, (v) => bits(v === 0 ? 0 : v))
          assert.deepEqual(got, want, `${name} seed ${seed}`)
        }
      }
    }
  })

  it('strings', () => {
    const values = ['ok', '', 'multi\nline "quoted" \\', 'ünïcødé ✓']
    const ts = values.map((_, i) => T0 + i)
    assert.deepEqual(decodeChunk(encodeChunkV3(ts, values)).values, values)
    assert.deepEqual(decodeChunk(encodeChunk(ts, values)).values, values)
  })
})

describe('chunk codec v5: the chosen codings read back exactly', () => {
  it('no chunk of the tests above needed the XOR fallback', () => {
    assert.equal(codecFallbacks(), 0)
  })
})
