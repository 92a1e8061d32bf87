/**
 * The forwarder's message ids and splitting (src/core/cluster/forward.ts): the same record always
 * gets the same id (the stream's dedup key), different text a different one, and a record larger
 * than a message is cut at line ends into pieces whose points add up.
 */
import assert from 'node:assert/strict'
import {it} from 'node:test'
import {batchMessages, messageId, splitLines} from '../../src/core/cluster/forward.js'
import type {SpoolBatch, SpoolRecord} from '../../src/core/pipeline/spool.js'

function batch(records: SpoolRecord[]): SpoolBatch {
  const points = records.reduce((n, r) => n + r.points, 0)
  return {id: 1, records, points, bytes: 0, precision: records[0]!.precision, start: {segment: 1, offset: 8}, end: {segment: 1, offset: 99}, firstAppendedAt: 0}
}

const rec = (payload: string, points: number): SpoolRecord => ({input: 'listener', points, precision: 'ms', appendedAt: 0, payload: Buffer.from(payload)})

it('message ids are deterministic, per member, precision and text', () => {
  const body = Buffer.from('m v=1i 1\n')
  assert.equal(messageId('a1', 'ms', body), messageId('a1', 'ms', Buffer.from('m v=1i 1\n')))
  assert.notEqual(messageId('a1', 'ms', body), messageId('a2', 'ms', body))
  assert.notEqual(messageId('a1', 'ms', body), messageId('a1', 's', body), 'the same text at another precision is other points')
  assert.notEqual(messageId('a1', 'ms', body), messageId('a1', 'ms', Buffer.from('m v=1i 2\n')))
  assert.match(messageId('a1', 'ms', body), /^a1:[A-Za-z0-9_-]{32}$/)
})

it('one message per record; the same records batched differently give the same ids', () => {
  const r1 = rec('m v=1i 1\nm v=2i 2\n', 2)
  const r2 = rec('m v=3i 3\n', 1)
  const together = batchMessages(batch([r1, r2]), 'a1', 1 << 20)
  const apart = [...batchMessages(batch([r1]), 'a1', 1 << 20), ...batchMessages(batch([r2]), 'a1', 1 << 20)]
  assert.deepEqual(
    together.map((m) => [m.id, m.points, m.input, m.precision]),
    apart.map((m) => [m.id, m.points, m.input, m.precision]),
  )
  assert.equal(together.length, 2)
})

it('a record larger than a message is cut at line ends; the pieces hold every line once', () => {
  const lines = Array.from({length: 100}, (_, i) => `m,k=${i} v=${i}i ${i}\n`)
  const payload = Buffer.from(lines.join(''))
  const pieces = splitLines(payload, 200)
  assert.ok(pieces.length > 1)
  for (const p of pieces) {
    assert.ok(p.length <= 200)
    assert.equal(p.at(-1), 10, 'each piece ends a line')
  }
  assert.equal(Buffer.concat(pieces).toString(), payload.toString())
  const msgs = batchMessages(batch([rec(payload.toString(), 100)]), 'a1', 200)
  assert.equal(msgs.reduce((n, m) => n + m.points, 0), 100)
  assert.equal(new Set(msgs.map((m) => m.id)).size, msgs.length)
})

it('a single line longer than a message is a piece by itself', () => {
  const long = `m v="${'x'.repeat(300)}" 1\n`
  const pieces = splitLines(Buffer.from(`a v=1i 1\n${long}b v=1i 1\n`), 100)
  assert.deepEqual(
    pieces.map((p) => p.toString()),
    ['a v=1i 1\n', long, 'b v=1i 1\n'],
  )
})
