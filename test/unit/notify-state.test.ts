import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {NOTIFY_MIGRATIONS} from '../../src/core/notify/migrations.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {Outbox} from '../../src/core/notify/deliver/outbox.js'
import {Silences} from '../../src/core/notify/mute/silences.js'
import {parseLabelSet} from '../../src/core/notify/labels.js'
import {tempDir} from '../helpers/servers.js'

const T0 = Date.parse('2026-03-02T10:00:00Z')
const H = 3_600_000

describe('silences', () => {
  const tmp = tempDir('mon-silences-')
  let db: StateDb
  let silences: Silences
  before(() => {
    db = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
    silences = new Silences(db)
  })
  after(() => {
    db.close()
    tmp.cleanup()
  })

  it('matches with =, !=, =~ and !~ only while active', () => {
    const s = silences.createSilence({matchers: ['alertname="DiskFull"', 'host=~"db-[0-9]+"', 'env!="dev"', 'path!~"/boot.*"'], endsAt: T0 + 2 * H, createdBy: 'alice', comment: 'resizing disks'}, T0)
    assert.equal(s.state, 'active')
    const cases: Array<[string, number, boolean]> = [
      ['alertname=DiskFull,host=db-1,path=/', T0, true],
      ['alertname=DiskFull,host=db-12,env=prod,path=/var', T0 + H, true],
      ['alertname=DiskFull,host=db-1,env=dev', T0, false],
      ['alertname=DiskFull,host=db-1,path=/boot/efi', T0, false],
      ['alertname=DiskFull,host=web-1', T0, false],
      ['alertname=DiskFull,host=xdb-1', T0, false],
      ['alertname=DiskFull,host=db-1', T0 + 2 * H, false],
    ]
    for (const [labels, at, expected] of cases) assert.equal(silences.isSilenced(parseLabelSet(labels), at), expected, `${labels} @${at - T0}`)
    assert.deepEqual(silences.silencedBy(parseLabelSet('alertname=DiskFull,host=db-1'), T0), [s.id])
  })

  it('a silence that starts later is pending until then', () => {
    const s = silences.createSilence({matchers: ['alertname="Later"'], startsAt: T0 + H, endsAt: T0 + 2 * H, createdBy: 'bob'}, T0)
    assert.equal(s.state, 'pending')
    assert.equal(silences.isSilenced({alertname: 'Later'}, T0), false)
    assert.equal(silences.isSilenced({alertname: 'Later'}, T0 + H), true)
  })

  it('expire by id prefix ends it now and keeps it listed', () => {
    const s = silences.createSilence({matchers: ['alertname="Expire"'], endsAt: T0 + H, createdBy: 'carol'}, T0)
    const expired = silences.expireSilence(s.id.slice(0, 8), T0 + 60_000)
    assert.equal(expired.state, 'expired')
    assert.equal(expired.endsAt, T0 + 60_000)
    assert.equal(silences.isSilenced({alertname: 'Expire'}, T0 + 60_000), false)
    assert.ok(silences.listSilences({now: T0 + 60_000, state: 'expired'}).some((x) => x.id === s.id))
    assert.throws(() => silences.expireSilence(s.id, T0 + 120_000), /already expired/)
    assert.throws(() => silences.expireSilence('nope-nope', T0), /no silence with id 'nope-nope'/)
  })

  const invalid: Array<[string, Parameters<Silences['createSilence']>[0], RegExp]> = [
    ['no matchers', {matchers: [], endsAt: T0 + H, createdBy: 'a'}, /at least one matcher/],
    ['matches everything', {matchers: ['host=~".*"', 'env!="x"'], endsAt: T0 + H, createdBy: 'a'}, /would match every alert/],
    ['ends before it starts', {matchers: ['a="b"'], startsAt: T0 + H, endsAt: T0 + H, createdBy: 'a'}, /must end after it starts/],
    ['already over', {matchers: ['a="b"'], startsAt: T0 - 2 * H, endsAt: T0 - H, createdBy: 'a'}, /already be over/],
    ['no creator', {matchers: ['a="b"'], endsAt: T0 + H, createdBy: ' '}, /creator/],
    ['bad matcher', {matchers: ['a=~"("'], endsAt: T0 + H, createdBy: 'a'}, /invalid regular expression/],
  ]
  for (const [name, input, error] of invalid) it(`rejects: ${name}`, () => assert.throws(() => silences.createSilence(input, T0), error))
})

describe('outbox', () => {
  const tmp = tempDir('mon-outbox-')
  let db: StateDb
  let db2: StateDb
  before(() => {
    db = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
    // a second connection, as a second process would have
    db2 = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
  })
  after(() => {
    db.close()
    db2.close()
    tmp.cleanup()
  })

  const entry = (groupKey: string, fp: string, kind: 'firing' | 'resolved' = 'firing', channel = 'webhook[0]') => ({
    notification: buildNotification({
      kind,
      receiver: 'r',
      groupKey,
      groupLabels: {},
      alerts: [{status: kind, labels: {alertname: 'A'}, annotations: {}, startsAt: '', endsAt: '', fingerprint: fp, value: null}],
      now: T0,
    }),
    channel,
    channelType: 'webhook',
  })

  it('a claimed row is leased: another process cannot take it until the lease runs out', () => {
    const a = new Outbox(db, {owner: 'proc-a'})
    const b = new Outbox(db2, {owner: 'proc-b'})
    const [id] = a.enqueue([entry('g-lease', 'f1')], T0)
    const claimedByA = a.claimDue(T0, {limit: 10, leaseMs: 60_000})
    assert.deepEqual(claimedByA.map((r) => r.id), [id])
    assert.deepEqual(b.claimDue(T0 + 59_000, {limit: 10, leaseMs: 60_000}), [])
    // A dies without marking; after the lease B takes over and delivers.
    const claimedByB = b.claimDue(T0 + 60_000, {limit: 10, leaseMs: 60_000})
    assert.deepEqual(claimedByB.map((r) => r.id), [id])
    assert.equal(b.markDelivered(claimedByB[0]!, T0 + 61_000, 5), true)
    // A waking up late cannot mark it: its lease is gone.
    assert.equal(a.markDelivered(claimedByA[0]!, T0 + 62_000, 5), false)
    assert.equal(a.list({status: 'delivered'}).filter((i) => i.id === id).length, 1)
  })

  it('keeps a stream in order: a resolution waits for its trigger', () => {
    const o = new Outbox(db, {owner: 'order'})
    const [trigger, resolve] = o.enqueue([entry('g-order', 'f2'), entry('g-order', 'f2', 'resolved')], T0)
    const [other] = o.enqueue([entry('g-other', 'f3')], T0)
    const first = o.claimDue(T0, {limit: 10, leaseMs: 60_000})
    assert.deepEqual(first.map((r) => r.id).sort(), [trigger, other].sort())
    o.markRetry(first.find((r) => r.id === trigger)!, T0, {error: 'HTTP 503', retryAt: T0 + 10_000, durationMs: 3})
    o.markDelivered(first.find((r) => r.id === other)!, T0, 3)
    assert.deepEqual(o.claimDue(T0 + 5000, {limit: 10, leaseMs: 60_000}), [], 'the resolution must not overtake the failed trigger')
    const retried = o.claimDue(T0 + 10_000, {limit: 10, leaseMs: 60_000})
    assert.deepEqual(retried.map((r) => r.id), [trigger])
    assert.deepEqual(o.claimDue(T0 + 10_000, {limit: 10, leaseMs: 60_000}), [], 'nor while it is being sent')
    o.markDelivered(retried[0]!, T0 + 10_000, 1)
    assert.deepEqual(o.claimDue(T0 + 10_000, {limit: 10, leaseMs: 60_000}).map((r) => r.id), [resolve])
  })

  it('dead rows wait for retry or drop; attempts are recorded', () => {
    const o = new Outbox(db, {owner: 'dead'})
    const [id] = o.enqueue([entry('g-dead', 'f4')], T0)
    const [row] = o.claimDue(T0, {limit: 1, leaseMs: 60_000}).filter((r) => r.id === id)
    o.markDead(row!, T0 + 1, {error: 'POST http://x/***: HTTP 404: no_service', durationMs: 12})
    assert.equal(o.counts().dead, 1)
    const listed = o.list({status: 'dead'})
    assert.equal(listed[0]!.id, id)
    assert.equal(listed[0]!.lastError, 'POST http://x/***: HTTP 404: no_service')
    assert.deepEqual(listed[0]!.fingerprints, ['f4'])

    assert.equal(o.retry({ids: [id!.slice(0, 6)]}, T0 + 2), 1)
    const [again] = o.claimDue(T0 + 2, {limit: 1, leaseMs: 60_000})
    assert.equal(again!.id, id)
    assert.equal(again!.attempts, 0, 'a retried row gets a fresh attempt budget')
    o.markDelivered(again!, T0 + 3, 7)
    const deliveries = o.deliveriesFor('f4')
    assert.equal(deliveries.length, 1)
    assert.equal(deliveries[0]!.status, 'delivered')
    assert.deepEqual(
      deliveries[0]!.attempts.map((a) => [a.result, a.error ?? null]),
      [
        ['dead', 'POST http://x/***: HTTP 404: no_service'],
        ['delivered', null],
      ],
    )

    const [pending] = o.enqueue([entry('g-drop', 'f5')], T0 + 4)
    assert.equal(o.drop({ids: [pending!]}, T0 + 5), 1)
    assert.deepEqual(o.claimDue(T0 + 10, {limit: 10, leaseMs: 60_000}), [])
    assert.equal(o.list({status: 'dropped'})[0]!.id, pending)
    assert.throws(() => o.retry({ids: ['zzzzzz']}, T0), /no notification with id 'zzzzzz'/)
  })

  it('knows when it is next due, and purges old finished rows', () => {
    const o = new Outbox(db, {owner: 'due'})
    const [id] = o.enqueue([entry('g-due', 'f6')], T0 + 100)
    assert.ok((o.nextDueAt() ?? Infinity) <= T0 + 100)
    const [row] = o.claimDue(T0 + 100, {limit: 10, leaseMs: 60_000}).filter((r) => r.id === id)
    o.markRetry(row!, T0 + 100, {error: 'x', retryAt: T0 + 50_000, durationMs: 1})
    const before = o.counts()
    assert.ok(o.purge(T0 + 365 * 24 * H) > 0)
    const afterPurge = o.counts()
    assert.equal(afterPurge.delivered + afterPurge.dead + afterPurge.dropped, 0)
    assert.equal(afterPurge.pending, before.pending, 'pending rows are never purged')
  })
})
