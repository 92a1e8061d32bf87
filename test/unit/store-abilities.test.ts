import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {fixedClock} from '../../src/core/clock.js'
import {initStore} from '../../src/core/store/catalog.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {hasTierRouting, isCompactable, isInitializable, isMaintainable, isRetentionApplier, type FullStore, type InitResult} from '../../src/core/store/types.js'

describe('optional store abilities are asked for by method, not by backend kind', () => {
  it('the embedded store compacts, maintains and routes tiers; it has no server to init or retention to apply', async () => {
    const store = new SqliteStore({path: ':memory:', autoCompactEvery: 0, clock: fixedClock(1_700_000_000_000)})
    try {
      assert.equal(isCompactable(store), true)
      assert.equal(isMaintainable(store), true)
      assert.equal(hasTierRouting(store), true)
      assert.equal(isInitializable(store), false)
      assert.equal(isRetentionApplier(store), false)
    } finally {
      await store.close()
    }
  })

  it('a backend of another kind gets `mon store init` by having init() (no kind check)', async () => {
    const created: InitResult = {backend: 'other', location: 'loopback', database: 'mon', created: true, notes: []}
    let inits = 0
    const other = {kind: 'other', init: async () => (inits++, created)} as unknown as FullStore
    assert.equal(isCompactable(other), false)
    assert.deepEqual(await initStore({type: 'influxdb'} as never, '/nonexistent', async () => other), created)
    assert.equal(inits, 1)
  })
})
