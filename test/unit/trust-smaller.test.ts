/**
 * Issue 16, "Outputs that mislead" (smaller list): the pure parts — wording helpers and renderers.
 * The CLI side of each bullet is in test/integration/trust-smaller.test.ts.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {plural, relativeTime, roundMs} from '../../src/core/format.js'
import {renderOutbox} from '../../src/cli/render/notify.js'
import {renderStoreInfo} from '../../src/cli/render/store.js'
import {emptyQueryNote} from '../../src/cli/render/query.js'
import type {OutboxItem} from '../../src/core/notify/index.js'
import type {QueryResult} from '../../src/core/query/run.js'

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0)

describe('wording helpers', () => {
  it('plural: "1 point", "2 points", "0 points", irregular words', () => {
    assert.equal(plural(1, 'point'), '1 point')
    assert.equal(plural(2, 'point'), '2 points')
    assert.equal(plural(0, 'point'), '0 points')
    assert.equal(plural(1, 'series', 'series'), '1 series')
    assert.equal(plural(3, 'series', 'series'), '3 series')
  })

  it('relativeTime: "in 7s" for the future, "7s ago" for the past, "now" in between', () => {
    assert.equal(relativeTime(NOW + 7000, NOW), 'in 7s')
    assert.equal(relativeTime(NOW - 7000, NOW), '7s ago')
    assert.equal(relativeTime(NOW - 150_000, NOW), '3m ago')
    assert.equal(relativeTime(NOW - (14 * 86_400 + 9 * 3600 + 38 * 60 + 41) * 1000, NOW), '14d10h ago')
    assert.equal(relativeTime(NOW + 300, NOW), 'now')
  })

  it('roundMs: a measured duration to the microsecond, not 0.7551780000000008', () => {
    assert.equal(roundMs(0.755_178_000_000_000_8), 0.755)
    assert.equal(roundMs(12.000_499), 12)
    assert.equal(roundMs(3), 3)
  })
})

describe('renderers', () => {
  const item = (nextAttemptAt: number): OutboxItem => ({
    id: 'abcdef0123456789',
    kind: 'firing',
    receiver: 'team',
    channel: 'webhook[0]',
    channelType: 'webhook',
    groupKey: 'g',
    status: 'pending',
    attempts: [{at: NOW - 60_000, durationMs: 3, result: 'retry', error: 'connection refused'}],
    createdAt: NOW - 120_000,
    nextAttemptAt,
    title: 'DiskFull',
    fingerprints: [],
  } as OutboxItem)
  const counts = {pending: 1, sending: 0, delivered: 0, dead: 0, dropped: 0}

  it('outbox: a retry in the future reads "next in 7s"; one already due reads "due 7s ago", never "next 7s ago"', () => {
    assert.match(renderOutbox([item(NOW + 7000)], counts, NOW), /next in 7s/)
    const overdue = renderOutbox([item(NOW - 7000)], counts, NOW)
    assert.match(overdue, /due 7s ago/)
    assert.doesNotMatch(overdue, /next 7s ago/)
  })

  it('store info: labels people read and human units, no internal keys', () => {
    const text = renderStoreInfo({
      backend: 'sqlite',
      location: '/data/mon.db',
      series: 4,
      points: 1000,
      bytesOnDisk: 2_097_152,
      bytesPerPoint: 2.3456,
      details: {liveBytes: 1_048_576, chunks: 12, headRows: 40, fields: 6},
    })
    for (const internal of ['liveBytes', 'headRows', '1048576']) assert.doesNotMatch(text, new RegExp(internal))
    assert.match(text, /size on disk +2 MB/)
    assert.match(text, /data size \(live pages\) +1 MB/)
    assert.match(text, /points not yet compacted +40/)
    assert.match(text, /bytes per point +2\.35 B/)
  })

  it('query: an empty result gives a note for table and chart (shown on stderr), none for json/csv', () => {
    const empty = {query: 'cpu.usage_user', series: []} as unknown as QueryResult
    assert.equal(emptyQueryNote(empty, 'table'), 'no data in this range')
    assert.equal(emptyQueryNote(empty, 'chart'), 'no data in this range')
    assert.equal(emptyQueryNote(empty, 'csv'), undefined)
    assert.equal(emptyQueryNote(empty, 'json'), undefined)
  })
})
