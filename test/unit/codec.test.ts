import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {decodeChunk, encodeChunk, isCompressed} from '../../src/core/store/codec.js'

const T0 = 1_700_000_000_000
const regular = (n: number, step = 10_000) => Array.from({length: n}, (_, i) => T0 + i * step)

describe('chunk codec round trip', () => {
  const cases: Array<{name: string; ts: number[]; values: number[] | string[]}> = [
    {name: 'empty', ts: [], values: []},
    {name: 'single point', ts: [T0], values: [42.5]},
    {name: 'integers (counter)', ts: regular(500), values: Array.from({length: 500}, (_, i) => i * 1234)},
    {name: 'two decimals', ts: regular(300), values: Array.from({length: 300}, (_, i) => Math.round(Math.sin(i) * 10_000) / 100)},
    {name: 'full doubles', ts: regular(300), values: Array.from({length: 300}, (_, i) => Math.sin(i) * Math.PI)},
    {name: 'irregular timestamps', ts: [T0, T0 + 1, T0 + 1000, T0 + 1001, T0 + 86_400_000, T0 + 86_400_007], values: [1, 2, 3, 4, 5, 6]},
    {name: 'negative timestamps', ts: [-5000, -1, 0, 7], values: [-1.5, 0, 1.5, -0.25]},
    {name: 'extreme values', ts: regular(6), values: [Number.MAX_VALUE, Number.MIN_VALUE, -Number.MAX_VALUE, 2 ** 53, -(2 ** 53), 1e-300]},
    {name: 'mixed scale', ts: regular(4), values: [1, 0.5, 0.125, 1e-9]},
    {name: 'big integers', ts: regular(3), values: [2 ** 50, -(2 ** 50), 2 ** 51 + 1]},
    {name: 'strings', ts: regular(4), values: ['ok', '', 'multi\nline "quoted" \\', 'ünïcødé ✓']},
  ]
  for (const c of cases) {
    for (const compress of [true, false]) {
      it(`${c.name} (${compress ? 'deflated' : 'plain'})`, () => {
        const blob = encodeChunk(c.ts, c.values, {compress})
        if (!compress) assert.equal(isCompressed(blob), false)
        const decoded = decodeChunk(blob)
        assert.deepEqual(Array.from(decoded.ts), c.ts)
        assert.deepEqual(Array.from(decoded.values as ArrayLike<number | string>), c.values)
      })
    }
  }

  it('regular two-decimal series compress well', () => {
    const n = 1024
    const blob = encodeChunk(
      regular(n),
      Array.from({length: n}, (_, i) => Math.round((50 + 20 * Math.sin(i / 30)) * 100) / 100),
    )
    assert.ok(blob.length / n < 2.5, `${(blob.length / n).toFixed(2)} bytes per point`)
  })

  it('rejects blobs of an unknown version', () => {
    const blob = encodeChunk([T0], [1], {compress: false})
    blob[1] = 99
    assert.throws(() => decodeChunk(blob), /unknown chunk encoding version 99/)
  })
})
