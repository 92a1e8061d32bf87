/**
 * The shared incidents' materialiser (src/core/cluster/incidents-materialise.ts) on real state.dbs:
 * two daemons whose engines started the same alert's episode at different evaluations apply the same
 * ordered events and end with the same incidents — the first ack in stream order wins on both, the
 * later one is refused naming the winner, the incident has the same id on both; a replay is a
 * no-op; a sequence past the next one is refused; a restart resumes from the applied sequence;
 * silences keep their id; an event applied before the engine saw the alert joins its episode later.
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {AlertStateWriter} from '../../src/core/alerting/persist.js'
import type {Alert} from '../../src/core/alerting/types.js'
import {ManualClock} from '../../src/core/clock.js'
import {IncidentMaterialiser, type EventOutcome} from '../../src/core/cluster/incidents-materialise.js'
import {decodeIncidentEvent, encodeIncidentEvent, type IncidentEvent} from '../../src/core/cluster/incidents-events.js'
import {IncidentStore, STATE_MIGRATIONS} from '../../src/core/incidents/store.js'
import {Silences} from '../../src/core/notify/mute/silences.js'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {tempDir} from '../helpers/servers.js'

const T0 = Date.parse('2026-12-05T01:00:00Z')
const S = 1000
const FP = 'aaaa000000000001'
const LABELS = {alertname: 'HighCpu', host: 'web-1', severity: 'critical'}
const STREAM = 'MON_INCIDENTS'

function firing(activeAt: number, fingerprint = FP, labels = LABELS): Alert {
  return {fingerprint, group: 'g', labels, annotations: {}, state: 'firing', value: 97, activeAt, firedAt: activeAt, lastEvalAt: activeAt + 60 * S, rule: `g/${labels.alertname}`}
}

interface Daemon {
  name: string
  db: StateDb
  store: IncidentStore
  m: IncidentMaterialiser
  writer: AlertStateWriter
  changes: string[]
}

const tmp = tempDir('mon-cluster-incidents-')
after(() => tmp.cleanup())
const clock = new ManualClock(T0 + 120 * S)

function daemon(name: string, dir = `${tmp.dir}/${name}`): Daemon {
  const db = openStateDb(dir, STATE_MIGRATIONS)
  const store = new IncidentStore(db)
  const changes: string[] = []
  const m = new IncidentMaterialiser({db, member: name, clock, store: () => store, onChange: (a) => changes.push(a)})
  return {name, db, store, m, writer: new AlertStateWriter(db), changes}
}

let nextId = 0
function ev(kind: IncidentEvent['kind'], member: string, by: string, at: number, rest: Partial<IncidentEvent> = {}): IncidentEvent {
  return {v: 1, id: `e${++nextId}`, kind, member, at, by, source: '127.0.0.1', fingerprint: FP, labels: LABELS, ...rest}
}

/** The stream: events in order, as every daemon reads them. */
const stream: IncidentEvent[] = []
function publish(e: IncidentEvent): number {
  stream.push(e)
  return stream.length
}
function applyAll(d: Daemon): void {
  for (let seq = d.m.appliedSeq(STREAM) + 1; seq <= stream.length; seq++) {
    // through the wire format, as the reader gets it
    assert.equal(d.m.apply(STREAM, seq, decodeIncidentEvent(encodeIncidentEvent(stream[seq - 1]!))), 'applied')
  }
}

describe('cluster: the shared incident materialiser', () => {
  // each engine started the episode at its own evaluation
  const a = daemon('a')
  const b = daemon('b')
  a.writer.save([firing(T0)], [], [])
  b.writer.save([firing(T0 + 15 * S)], [], [])

  it('two acks at once: the first in stream order wins on every daemon; the other is refused naming the winner', () => {
    const bob = publish(ev('ack', 'b', 'bob', T0 + 100 * S, {activeAt: T0 + 15 * S, comment: 'mine'}))
    const alice = publish(ev('ack', 'a', 'alice', T0 + 100 * S, {activeAt: T0}))
    applyAll(a)
    applyAll(b)
    for (const d of [a, b]) {
      const won = d.m.outcome(stream[bob - 1]!.id)!
      const lost = d.m.outcome(stream[alice - 1]!.id)!
      assert.equal(won.result, 'applied', d.name)
      assert.deepEqual([lost.result, lost.reason, lost.winner], ['refused', 'acked', {by: 'bob', at: T0 + 100 * S, comment: 'mine'}], d.name)
      // the incident has the stream's id everywhere, and joins this daemon's own episode
      assert.equal(won.incident, 1)
      const current = d.store.current(d.store.reader.get(FP)!)
      assert.deepEqual([current?.id, current?.ackedBy, current?.ackComment], [1, 'bob', 'mine'], d.name)
      assert.equal(d.store.ackState.ackedBy(FP), 'bob')
      assert.deepEqual(d.store.auditTrail().map((x) => [x.action, x.actor]), [['ack', 'bob']], d.name)
    }
    assert.deepEqual(a.store.auditTrail()[0]!.source, '127.0.0.1 via b')
    assert.deepEqual(b.store.auditTrail()[0]!.source, '127.0.0.1')
    assert.deepEqual(a.changes, ['ack'])
  })

  it('a replay is a no-op; a sequence past the next one is refused', () => {
    assert.equal(a.m.apply(STREAM, 1, stream[0]!), 'replay')
    assert.equal(a.m.apply(STREAM, 2, stream[1]!), 'replay')
    assert.equal(a.m.apply(STREAM, 9, ev('comment', 'a', 'x', T0, {activeAt: T0, comment: 'x'})), 'gap')
    assert.equal(a.m.appliedSeq(STREAM), 2)
    assert.equal(a.store.auditTrail().length, 1)
    // the same event id again at a later sequence (a republish past the dedup window): applied once
    const again = publish(stream[0]!)
    applyAll(a)
    applyAll(b)
    assert.equal(a.m.appliedSeq(STREAM), again)
    assert.equal(a.store.auditTrail().length, 1)
  })

  it('unack, ack, comment and resolve in order; an undecodable message is skipped', () => {
    const t = T0 + 200 * S
    publish(ev('unack', 'a', 'alice', t, {activeAt: T0}))
    publish(ev('ack', 'a', 'alice', t + S, {activeAt: T0, comment: 'taking it'}))
    const unackAgain = publish(ev('unack', 'b', 'carol', t + 2 * S, {activeAt: T0 + 15 * S}))
    publish(ev('comment', 'b', 'carol', t + 3 * S, {activeAt: T0 + 15 * S, comment: 'restarted nginx'}))
    const resolve = publish(ev('resolve', 'a', 'alice', t + 4 * S, {activeAt: T0, comment: 'fixed'}))
    const resolveAgain = publish(ev('resolve', 'b', 'bob', t + 4 * S, {activeAt: T0 + 15 * S}))
    stream.push({v: 1} as IncidentEvent) // not an event: skipped, the sequence moves on
    applyAll(a)
    applyAll(b)
    for (const d of [a, b]) {
      assert.equal(d.m.outcome(stream[unackAgain - 1]!.id)!.result, 'applied', 'carol unacks alice')
      assert.equal(d.m.outcome(stream[resolve - 1]!.id)!.result, 'applied')
      const o = d.m.outcome(stream[resolveAgain - 1]!.id)!
      assert.deepEqual([o.result, o.reason, o.winner?.by], ['refused', 'resolved', 'alice'])
      const i = d.store.current(d.store.reader.get(FP)!)!
      assert.deepEqual([i.id, i.ackedBy, i.resolvedBy, i.resolveComment], [1, undefined, 'alice', 'fixed'])
      assert.deepEqual(
        d.store.auditTrail().map((x) => [x.action, x.actor]).reverse(),
        [['ack', 'bob'], ['unack', 'alice'], ['ack', 'alice'], ['unack', 'carol'], ['comment', 'carol'], ['resolve', 'alice']],
        d.name,
      )
      assert.equal(d.m.appliedSeq(STREAM), stream.length)
    }
  })

  it('the alert fires again after the hand resolve: a new incident, acked anew', () => {
    const start = T0 + 600 * S
    a.writer.save([firing(start)], [], [])
    b.writer.save([firing(start + 10 * S)], [], [])
    const ack = publish(ev('ack', 'b', 'dave', start + 30 * S, {activeAt: start + 10 * S}))
    applyAll(a)
    applyAll(b)
    for (const d of [a, b]) {
      const o: EventOutcome = d.m.outcome(stream[ack - 1]!.id)!
      assert.deepEqual([o.result, o.incident], ['applied', ack])
      const i = d.store.current(d.store.reader.get(FP)!)!
      assert.deepEqual([i.id, i.ackedBy], [ack, 'dave'])
      assert.equal(d.store.incidentsOf(FP).length, 2)
    }
  })

  it('silences keep their id on every daemon; the second expiry is refused', () => {
    const silence = {id: '5f2c9a1e-0000-4000-8000-000000000001', matchers: [{name: 'host', op: '=' as const, value: 'web-1'}], startsAt: T0, endsAt: T0 + 3600 * S, createdBy: 'erin', comment: 'deploy', createdAt: T0}
    publish(ev('silence_add', 'a', 'erin', T0 + 700 * S, {silence, fingerprint: undefined}))
    const first = publish(ev('silence_expire', 'b', 'frank', T0 + 800 * S, {silenceId: silence.id, fingerprint: undefined}))
    const second = publish(ev('silence_expire', 'a', 'gina', T0 + 801 * S, {silenceId: silence.id, fingerprint: undefined}))
    applyAll(a)
    applyAll(b)
    for (const d of [a, b]) {
      const [s] = new Silences(d.db).listSilences({now: T0 + 900 * S})
      assert.deepEqual([s?.id, s?.state, s?.endsAt, s?.createdBy], [silence.id, 'expired', T0 + 800 * S, 'erin'])
      assert.equal(d.m.outcome(stream[first - 1]!.id)!.result, 'applied')
      assert.deepEqual([d.m.outcome(stream[second - 1]!.id)!.result, d.m.outcome(stream[second - 1]!.id)!.reason], ['refused', 'silence_expired'])
    }
  })

  it('a daemon restarted later resumes from its applied sequence and catches up', () => {
    const before = b.m.appliedSeq(STREAM)
    b.db.close()
    publish(ev('comment', 'a', 'alice', T0 + 900 * S, {activeAt: T0 + 600 * S, comment: 'while b was down'}))
    const b2 = daemon('b')
    assert.equal(b2.m.appliedSeq(STREAM), before)
    applyAll(b2)
    applyAll(a)
    assert.deepEqual(b2.store.auditTrail({limit: 1})[0]?.comment, 'while b was down')
    assert.equal(b2.store.auditTrail().length, a.store.auditTrail().length)
  })

  it('an episode that started long after the last action is a new incident even without a hand resolve', () => {
    const FP2 = 'bbbb000000000002'
    const labels = {alertname: 'DiskFull', host: 'db-1'}
    const first = publish(ev('ack', 'a', 'alice', T0 + 1000 * S, {fingerprint: FP2, labels, activeAt: T0 + 990 * S}))
    // resolved and fired again (not by hand): its new start is past the last action + the slack
    const again = publish(ev('ack', 'b', 'bob', T0 + 2000 * S, {fingerprint: FP2, labels, activeAt: T0 + 1990 * S}))
    const b3 = daemon('b') // b restarted above
    applyAll(a)
    applyAll(b3)
    for (const d of [a, b3]) {
      assert.deepEqual([d.m.outcome(stream[first - 1]!.id)!.incident, d.m.outcome(stream[again - 1]!.id)!.incident, d.m.outcome(stream[again - 1]!.id)!.result], [first, again, 'applied'])
    }
  })

  it('purge forgets old shared episodes and outcomes', () => {
    const pruned = a.m.purge(T0 + 1500 * S)
    assert.ok(pruned.episodes >= 2, JSON.stringify(pruned))
    assert.equal(a.m.purge(T0 + 1500 * S).episodes, 0)
  })

  it('a daemon whose engine has not seen the alert yet: the incident joins its episode once it fires there', () => {
    const c = daemon('c')
    applyAll(c)
    // no alert here yet: the incident is kept under the publisher's start, not shown as current
    c.writer.save([firing(T0 + 620 * S)], [], [])
    assert.equal(c.store.current(c.store.reader.get(FP)!), undefined)
    assert.equal(c.m.reconcile(), 1)
    const i = c.store.current(c.store.reader.get(FP)!)
    assert.deepEqual([i?.id, i?.ackedBy], [a.store.current(a.store.reader.get(FP)!)!.id, 'dave'])
    assert.equal(c.m.reconcile(), 0)
  })
})
