/**
 * The cache of inflated chunk bytes (store/inflated.ts) a daemon keeps while it serves queries: off
 * unless turned on, exact (found by the compressed bytes themselves, never by a rowid or a hash
 * alone), bounded, emptied when turned off — and a store's reads give the same answers with it.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {deflateRawSync, inflateRawSync} from 'node:zlib'
import {after, afterEach, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {INFLATE_CACHE_BYTES, inflateCached, inflateCacheSize, limitInflateCache, useInflateCache} from '../../src/core/store/inflated.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {generator} from '../helpers/random.js'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})
afterEach(() => {
  useInflateCache(false)
  limitInflateCache(INFLATE_CACHE_BYTES)
})

function on(bytes: number): void {
  limitInflateCache(bytes)
  useInflateCache(true)
}

/** `n` bytes of text-like data deflate compresses */
function body(seed: number, n: number): Buffer {
  const next = generator(seed)
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = 0x61 + (next() % 6)
  return out
}

describe('the inflated-chunk cache', () => {
  it('is off until turned on: every call inflates, nothing is kept', () => {
    const d = deflateRawSync(body(1, 4000))
    const a = inflateCached(d)
    const b = inflateCached(d)
    assert.notEqual(a, b)
    assert.deepEqual(a, b)
    assert.equal(inflateCacheSize().entries, 0)
  })

  it('gives back what inflateRawSync gives, the kept bytes for the same compressed bytes', () => {
    on(1 << 20)
    const blobs = [1, 2, 3, 4, 5].map((seed) => deflateRawSync(body(seed, 3000 + seed * 100)))
    const first = blobs.map((d) => inflateCached(d))
    for (let i = 0; i < blobs.length; i++) {
      assert.deepEqual(first[i], inflateRawSync(blobs[i]!))
      // a copy of the same bytes (another read of the same row) finds the kept entry
      assert.equal(inflateCached(Buffer.from(blobs[i]!)), first[i])
    }
    assert.equal(inflateCacheSize().entries, 5)
  })

  it('never answers one blob with another of the same length and the same sampled bytes', () => {
    on(1 << 20)
    // stored (level 0) deflate blocks carry their bytes as they are: a byte changed between the
    // ones the key samples makes another valid blob of the same length and the same key
    const data = body(7, 10_000)
    const d1 = deflateRawSync(data, {level: 0})
    const changed = Buffer.from(data)
    changed[5001] = changed[5001] === 0x61 ? 0x62 : 0x61
    const d2 = deflateRawSync(changed, {level: 0})
    assert.equal(d1.length, d2.length)
    assert.notDeepEqual(d1, d2)
    assert.deepEqual(inflateCached(d1), data)
    assert.deepEqual(inflateCached(d2), changed)
    assert.deepEqual(inflateCached(d1), data)
    assert.equal(inflateCacheSize().entries, 2)
  })

  it('stays within its bound, dropping the least recently used first; off empties it', () => {
    on(200_000)
    const blobs = Array.from({length: 20}, (_, i) => deflateRawSync(body(100 + i, 20_000)))
    const kept = blobs.map((d) => inflateCached(d))
    const size = inflateCacheSize()
    assert.ok(size.bytes <= 200_000, `${size.bytes} bytes kept`)
    assert.ok(size.entries > 0 && size.entries < 20)
    // the last one is still there, the first one is not
    assert.equal(inflateCached(blobs[19]!), kept[19])
    assert.notEqual(inflateCached(blobs[0]!), kept[0])
    useInflateCache(false)
    assert.deepEqual(inflateCacheSize(), {entries: 0, bytes: 0, maxBytes: 0})
  })

  it("a store's range aggregation gives the same bits with the cache on, read after read", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mon-inflate-'))
    dirs.push(dir)
    const end = Date.UTC(2026, 10, 25)
    const start = end - 12 * 3_600_000
    const store = new SqliteStore({path: join(dir, 'mon.db'), clock: new ManualClock(end + 3_600_000)})
    try {
      const points = []
      // Telegraf-like CPU percentages with a daily shape and 3 decimals (deflate shrinks their chunks)
      for (let h = 0; h < 3; h++) {
        for (let k = 1; k <= 4320; k++) {
          const usage = Math.round((20 + 15 * Math.sin((k + h * 500) / 300) + ((k * 7919 + h * 104_729) % 1000) / 100) * 1000) / 1000
          points.push({measurement: 'cpu', tags: {host: `h${h}`}, fields: {usage_user: usage}, ts: start + k * 10_000})
        }
      }
      await store.write(points)
      const plan = {measurement: 'cpu', field: 'usage_user', matchers: [], start, end, every: 60_000, aggregate: {fn: 'mean' as const, by: ['host']}}
      const plain = JSON.stringify(await store.query(plan))
      on(1 << 20)
      assert.equal(JSON.stringify(await store.query(plan)), plain)
      assert.ok(inflateCacheSize().entries > 0, 'deflated chunks were read through the cache')
      assert.equal(JSON.stringify(await store.query(plan)), plain)
    } finally {
      await store.close()
    }
  })
})
