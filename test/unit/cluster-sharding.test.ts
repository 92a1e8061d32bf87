/**
 * Scrape sharding's pure parts (src/core/cluster/sharding.ts): the shard-mode setting, Prometheus'
 * hashmod, static i/N shards and rendezvous hashing. Membership over a real NATS cluster is in
 * test/integration/cluster-shard-handoff.test.ts.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {hashmod, parseShardMode, rendezvousOwner, staticShard} from '../../src/core/cluster/sharding.js'
import {clusterSchema} from '../../src/core/cluster/config.js'

const keys = Array.from({length: 3000}, (_, i) => `prometheus:http://10.0.${i >> 8}.${i & 255}:9100/metrics`)

describe('cluster sharding', () => {
  it('reads off, auto and i/N; refuses anything else with the expected forms', () => {
    assert.deepEqual(parseShardMode('off'), {kind: 'off'})
    assert.deepEqual(parseShardMode('auto'), {kind: 'auto'})
    assert.deepEqual(parseShardMode('2/3'), {kind: 'static', index: 2, total: 3})
    for (const bad of ['3/3', '1/0', 'x', '-1/3', '1/3/4', '']) assert.equal(parseShardMode(bad), undefined, bad)
    const r = clusterSchema.safeParse({sharding: {mode: '3/3'}})
    assert.equal(r.success, false)
    assert.match(JSON.stringify(r.error?.issues), /expected off, auto or a static shard i\/N/)
  })

  it('hashmod is md5’s last 8 bytes big-endian modulo n (Prometheus’ relabel action)', () => {
    // md5("a") = 0cc175b9c0f1b6a8 31c399e269772661: 0x31c399e269772661 mod 10 = 3585540384043190881 mod 10
    assert.equal(hashmod('a', 10), Number(0x31c399e269772661n % 10n))
    assert.equal(hashmod('a', 1), 0)
  })

  it('static i/N shards partition the targets: each in exactly one shard, evenly', () => {
    const shards = [0, 1, 2].map((i) => staticShard(i, 3))
    const counts = [0, 0, 0]
    for (const k of keys) {
      const owners = shards.filter((s) => s.owns(k, 0))
      assert.equal(owners.length, 1, k)
      counts[shards.indexOf(owners[0]!)]++
    }
    for (const c of counts) assert.ok(c > 850 && c < 1150, `uneven: ${counts.join(', ')}`)
  })

  it('rendezvous hashing moves only the leaving member’s targets, and spreads evenly', () => {
    const three = ['c1', 'c2', 'c3']
    const before = new Map(keys.map((k) => [k, rendezvousOwner(k, three)!]))
    const counts = new Map<string, number>()
    for (const o of before.values()) counts.set(o, (counts.get(o) ?? 0) + 1)
    for (const m of three) assert.ok(counts.get(m)! > 850 && counts.get(m)! < 1150, JSON.stringify([...counts]))
    const two = ['c1', 'c3']
    for (const k of keys) {
      const was = before.get(k)!
      const now = rendezvousOwner(k, two)!
      if (was !== 'c2') assert.equal(now, was, `${k} moved from ${was} to ${now} though ${was} stayed`)
    }
    // and back: the same members give the same owners, whatever order they are listed in
    for (const k of keys.slice(0, 100)) assert.equal(rendezvousOwner(k, ['c3', 'c1', 'c2']), before.get(k))
    assert.equal(rendezvousOwner('x', []), undefined)
  })
})
