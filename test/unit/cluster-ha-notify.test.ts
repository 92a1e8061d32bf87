/**
 * HA notifications' deterministic part (src/core/cluster/ha-notify.ts): the lease rule every
 * daemon applies to the same ordered log, which records count, the dedup key; and the sender's
 * fencing gate (notify/deliver/sender.ts) on a real state.db outbox with an in-process channel.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {NotifierLedger, transitionDedupKey, type DeliveredRecord, type HaNotifyMessage, type LeaseMessage} from '../../src/core/cluster/ha-notify.js'
import {leaseMargin} from '../../src/core/cluster/jetstream-ha-notify.js'
import {ManualClock} from '../../src/core/clock.js'
import {NOTIFY_MIGRATIONS} from '../../src/core/notify/migrations.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {Outbox} from '../../src/core/notify/deliver/outbox.js'
import {Sender, type SendStamp} from '../../src/core/notify/deliver/sender.js'
import type {Notification} from '../../src/core/notify/types.js'
import {openStateDb} from '../../src/core/state/db.js'
import {tempDir} from '../helpers/servers.js'

const LEASE = 3000
const lease = (member: string, op: LeaseMessage['op'] = 'claim'): LeaseMessage => ({type: 'lease', op, member, leaseMs: LEASE})
const key = {routeId: '0', groupKey: '{}:{job="a"}', receiver: 'pager', channel: 'webhook[0]'}
const record = (member: string, term: number, prev = 0, kind: 'firing' | 'resolved' = 'firing'): DeliveredRecord => ({
  type: 'delivered',
  member,
  term,
  key,
  prev,
  dedupKey: transitionDedupKey(key, prev, kind, kind === 'firing' ? ['f1'] : [], kind === 'resolved' ? ['f1'] : []),
  kind,
  firing: kind === 'firing' ? ['f1'] : [],
  resolved: kind === 'resolved' ? ['f1'] : [],
  notifiedAt: 1,
  notificationId: 'n',
})

/** applies (seq, log time, message) triples in order */
function replay(log: Array<[number, number, HaNotifyMessage]>): NotifierLedger {
  const l = new NotifierLedger()
  for (const [seq, at, m] of log) l.apply(seq, at, m)
  return l
}

describe('notifier lease on an ordered log', () => {
  it('the first claim wins; a claim while the lease is live loses; a renew extends it', () => {
    const l = replay([
      [1, 1000, lease('d1')],
      [2, 1001, lease('d2')],
      [3, 2000, lease('d1', 'renew')],
      [4, 4500, lease('d2')], // before 2000 + 3000: d1 still holds it
    ])
    assert.equal(l.holder?.member, 'd1')
    assert.equal(l.holder?.term, 1)
    assert.equal(l.holder?.expiresAt, 5000)
  })

  it('a claim landing after the lease ran out (log time) takes over with a new term', () => {
    const l = replay([
      [1, 1000, lease('d1')],
      [2, 4000, lease('d2')], // exactly at expiry: expired
    ])
    assert.equal(l.holder?.member, 'd2')
    assert.equal(l.holder?.term, 2)
    // the old holder's renew after that is ignored: d2 holds it
    l.apply(3, 4100, lease('d1', 'renew'))
    assert.equal(l.holder?.member, 'd2')
  })

  it('a holder renewing after its own lease ran out (nobody claimed) starts a new term', () => {
    const l = replay([
      [1, 1000, lease('d1')],
      [2, 9000, lease('d1', 'renew')],
    ])
    assert.equal(l.holder?.member, 'd1')
    assert.equal(l.holder?.term, 2)
  })

  it('a release frees the lease at once; a release by someone else is ignored', () => {
    const l = replay([
      [1, 1000, lease('d1')],
      [2, 1100, lease('d2', 'release')],
    ])
    assert.equal(l.holder?.member, 'd1')
    const holder = () => l.holder?.member
    l.apply(3, 1200, lease('d1', 'release'))
    assert.equal(holder(), undefined)
    l.apply(4, 1300, lease('d2'))
    assert.equal(holder(), 'd2')
  })

  it('every reader of the same log computes the same holder and records, whatever it read before', () => {
    const log: Array<[number, number, HaNotifyMessage]> = [
      [1, 1000, lease('d1')],
      [2, 1500, record('d1', 1)],
      [3, 1600, lease('d2')],
      [4, 5000, lease('d3')],
      [5, 5100, record('d3', 4, 2, 'resolved')],
    ]
    const a = replay(log)
    const b = new NotifierLedger()
    for (const entry of log) {
      b.apply(...entry)
      b.apply(...entry) // a redelivery is skipped
    }
    assert.deepEqual({h: a.holder, r: [...a.records]}, {h: b.holder, r: [...b.records]})
    assert.equal(a.holder?.member, 'd3')
    assert.equal(a.prevOf(key), 5)
  })
})

describe('shared notification log', () => {
  it('counts a record only from the holder, in its term', () => {
    const l = replay([
      [1, 1000, lease('d1')],
      [2, 1100, record('d2', 1)], // not the holder
      [3, 1200, record('d1', 7)], // not its term
    ])
    assert.equal(l.records.size, 0)
    l.apply(4, 1300, record('d1', 1))
    assert.equal(l.prevOf(key), 4)
    assert.deepEqual(l.nflogEntries(), [{key, entry: {firing: ['f1'], resolved: [], notifiedAt: 1}}])
  })

  it('ignores the late record of a paused ex-holder: the new holder sends it again with the same dedup key', () => {
    // d1 sent the firing page (prev 0) and was paused before its record went out; d2 took over
    const late = record('d1', 1)
    const l = replay([
      [1, 1000, lease('d1')],
      [2, 5000, lease('d2')],
      [3, 5100, late],
    ])
    assert.equal(l.records.size, 0, 'the late record does not count')
    // d2 computes the key from the same shared log: the same as d1's
    assert.equal(transitionDedupKey(key, l.prevOf(key), 'firing', ['f1'], []), late.dedupKey)
  })

  it('forgets records older than the horizon at the same point of the log on every daemon', () => {
    const l = new NotifierLedger(100_000)
    l.apply(1, 1000, lease('d1'))
    l.apply(2, 1100, record('d1', 1))
    l.apply(3, 50_000, lease('d1', 'renew'))
    assert.equal(l.records.size, 1)
    l.apply(4, 90_000, lease('d1'))
    l.apply(5, 170_000, lease('d1')) // a new term (expired), and past the horizon: pruned
    assert.equal(l.records.size, 0)
    assert.equal(l.prevOf(key), 0)
  })

  it('a dedup key names one transition: fingerprint order does not matter, the record it follows does', () => {
    assert.equal(transitionDedupKey(key, 3, 'firing', ['a', 'b'], []), transitionDedupKey(key, 3, 'firing', ['b', 'a'], []))
    assert.notEqual(transitionDedupKey(key, 3, 'firing', ['a'], []), transitionDedupKey(key, 4, 'firing', ['a'], []))
    assert.notEqual(transitionDedupKey(key, 3, 'firing', ['a'], []), transitionDedupKey(key, 3, 'resolved', [], ['a']))
    assert.notEqual(transitionDedupKey(key, 3, 'firing', ['a'], []), transitionDedupKey({...key, channel: 'webhook[1]'}, 3, 'firing', ['a'], []))
  })

  it('the fencing margin is a fifth of the lease, at least 200 ms', () => {
    assert.equal(leaseMargin(3000), 600)
    assert.equal(leaseMargin(500), 200)
  })
})

describe('the sender gate (fencing)', () => {
  const T0 = Date.parse('2026-03-02T10:00:00Z')
  const setup = () => {
    const tmp = tempDir('mon-ha-gate-')
    const db = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
    const outbox = new Outbox(db, {owner: 'me'})
    const n = buildNotification({kind: 'firing', receiver: 'pager', groupKey: key.groupKey, groupLabels: {job: 'a'}, alerts: [], now: T0})
    n.routeId = '0'
    outbox.enqueue([{notification: n, channel: 'webhook[0]', channelType: 'webhook'}], T0)
    const sent: Notification[] = []
    const channel = {name: 'test', send: async (x: Notification) => void sent.push(structuredClone(x))}
    const policy = {maxAttempts: 3, backoffMs: 1000, maxBackoffMs: 1000, leaseMs: 60_000, concurrency: 4}
    const done = () => {
      db.close()
      tmp.cleanup()
    }
    return {outbox, sent, channel, policy, done}
  }

  it('without the lease nothing is sent and the row goes back to pending, attempts untouched', async () => {
    const {outbox, sent, channel, policy, done} = setup()
    const sender = new Sender({outbox, resolveChannel: () => channel, clock: new ManualClock(T0), policy, gate: {before: () => undefined}})
    const r = await sender.flush(T0)
    assert.deepEqual(r, {delivered: 0, retried: 0, dead: 0})
    assert.equal(sent.length, 0)
    const [row] = outbox.list()
    assert.equal(row!.status, 'pending')
    assert.equal(row!.attempts.length, 0)
    done()
  })

  it('with the lease the notification carries the dedup key, and the delivery is recorded after it is marked', async () => {
    const {outbox, sent, channel, policy, done} = setup()
    const recorded: Array<{status: string; stamp: SendStamp}> = []
    const sender = new Sender({
      outbox,
      resolveChannel: () => channel,
      clock: new ManualClock(T0),
      policy,
      gate: {
        before: () => ({dedupKey: 'k1', record: {x: 1}}),
        after: async (row, stamp) => void recorded.push({status: outbox.list().find((i) => i.id === row.id)!.status, stamp}),
      },
    })
    assert.equal((await sender.flush(T0)).delivered, 1)
    assert.equal(sent[0]!.dedupKey, 'k1')
    assert.deepEqual(recorded, [{status: 'delivered', stamp: {dedupKey: 'k1', record: {x: 1}}}])
    done()
  })

  it('on becoming the notifier, unsent group and acknowledgement notifications queued before are dropped (the old notifier’s to send)', () => {
    const {outbox, done} = setup()
    const ack = buildNotification({kind: 'acknowledged', receiver: 'pager', groupKey: key.groupKey, groupLabels: {}, alerts: [], now: T0})
    outbox.enqueue([{notification: ack, channel: 'webhook[0]', channelType: 'webhook'}], T0)
    assert.equal(outbox.dropQueuedBeforeTakeover(T0 + 1), 2)
    assert.deepEqual(
      outbox
        .list()
        .map((i) => `${i.kind}:${i.status}`)
        .sort(),
      ['acknowledged:dropped', 'firing:dropped'],
    )
    done()
  })
})
