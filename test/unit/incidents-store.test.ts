/**
 * The incident store and service on a real state.db in a temp dir: the action table (who may do
 * what in which state), the concurrent-ack race between two connections, episodes (an acked alert
 * that resolves and fires again is a new incident), the notifier's AckState, id resolution,
 * list filters, propagation to channels and the events written to the metrics store.
 */
import assert from 'node:assert/strict'
import {after, before, beforeEach, describe, it} from 'node:test'
import {stringify} from 'yaml'
import {AlertStateWriter} from '../../src/core/alerting/persist.js'
import type {Alert, AlertTransition} from '../../src/core/alerting/types.js'
import {ManualClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {AmbiguousIdError, IncidentConflictError, NotFoundError} from '../../src/core/incidents/errors.js'
import {LocalIncidents} from '../../src/core/incidents/service.js'
import {IncidentStore, STATE_MIGRATIONS} from '../../src/core/incidents/store.js'
import type {Point} from '../../src/core/model/point.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {EscalationStore} from '../../src/core/notify/deliver/escalation.js'
import {compileNotify} from '../../src/core/notify/notifier.js'
import {Outbox} from '../../src/core/notify/deliver/outbox.js'
import {toNotificationAlert} from '../../src/core/notify/types.js'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {tempDir} from '../helpers/servers.js'

const T0 = Date.parse('2026-11-25T10:00:00Z')
const M = 60_000

function alert(fingerprint: string, labels: Record<string, string>, state: Alert['state'], activeAt = T0, extra: Partial<Alert> = {}): Alert {
  return {
    fingerprint,
    group: 'g',
    labels,
    annotations: {summary: `${labels.alertname} on ${labels.host ?? '?'}`},
    state,
    value: 97,
    activeAt,
    ...(state === 'firing' ? {firedAt: activeAt} : {}),
    ...(state === 'resolved' ? {firedAt: activeAt, resolvedAt: activeAt + 5 * M} : {}),
    lastEvalAt: activeAt + 5 * M,
    rule: `g/${labels.alertname}`,
    ...extra,
  }
}

function save(writer: AlertStateWriter, alerts: Alert[]): void {
  const transitions: AlertTransition[] = alerts.map((a) => ({alert: a, from: 'inactive', to: a.state, at: a.state === 'resolved' ? a.resolvedAt! : a.activeAt}))
  writer.save(alerts, transitions, [])
}

describe('incident actions', () => {
  const tmp = tempDir('mon-incidents-')
  let db: StateDb
  let writer: AlertStateWriter
  let store: IncidentStore
  before(() => {
    db = openStateDb(tmp.dir, STATE_MIGRATIONS)
    writer = new AlertStateWriter(db)
    store = new IncidentStore(db)
    save(writer, [
      alert('aaaa000000000001', {alertname: 'HighCpu', host: 'web-1', severity: 'critical'}, 'firing'),
      alert('bbbb000000000002', {alertname: 'DiskFull', host: 'db-1', severity: 'warning'}, 'resolved'),
      alert('cccc000000000003', {alertname: 'Slow', host: 'web-2', severity: 'warning'}, 'pending'),
    ])
  })
  after(() => {
    db.close()
    tmp.cleanup()
  })

  /** the last element: who the notifier then sees as acking (null: nobody; omitted: not checked) */
  type Step = [action: 'ack' | 'unack' | 'resolve' | 'comment', fingerprint: string, by: string, expect: 'ok' | 'unchanged' | RegExp, ackedAfter?: string | null]
  const steps: Step[] = [
    ['ack', 'aaaa000000000001', 'alice', 'ok', 'alice'],
    ['ack', 'aaaa000000000001', 'alice', 'unchanged', 'alice'],
    ['ack', 'aaaa000000000001', 'bob', /HighCpu \{host=web-1, severity=critical\} is already acknowledged by alice 2m ago \("looking"\)/, 'alice'],
    ['unack', 'aaaa000000000001', 'bob', 'ok', null],
    ['unack', 'aaaa000000000001', 'bob', /is not acknowledged/, null],
    ['ack', 'aaaa000000000001', 'bob', 'ok', 'bob'],
    ['comment', 'aaaa000000000001', 'carol', 'ok', 'bob'],
    ['resolve', 'aaaa000000000001', 'carol', 'ok', 'bob'],
    ['ack', 'aaaa000000000001', 'dave', /cannot acknowledge HighCpu .* it was resolved by carol/, 'bob'],
    ['resolve', 'aaaa000000000001', 'dave', /cannot resolve .* resolved by carol/, 'bob'],
    ['ack', 'bbbb000000000002', 'alice', /cannot acknowledge DiskFull \{host=db-1, severity=warning\}: it resolved \d+m ago \(the condition cleared\)/],
    ['resolve', 'bbbb000000000002', 'alice', /cannot resolve DiskFull/],
    ['unack', 'bbbb000000000002', 'alice', /cannot unacknowledge DiskFull/],
    ['comment', 'bbbb000000000002', 'alice', 'ok'],
    ['ack', 'cccc000000000003', 'erin', 'ok', 'erin'],
  ]

  it('who may do what, in which state (table)', () => {
    let now = T0 + 10 * M
    for (const [action, fp, by, expect, ackedAfter] of steps) {
      now += M
      const actor = {by, source: 'local', comment: action === 'comment' ? 'a note' : by === 'alice' ? 'looking' : undefined}
      const label = `${action} ${fp.slice(0, 4)} by ${by}`
      const run = () => (action === 'comment' ? store.comment(fp, {...actor, comment: 'a note'}, now) : store[action](fp, actor, now))
      if (expect instanceof RegExp) {
        assert.throws(run, (e: Error) => e instanceof IncidentConflictError && (expect.test(e.message) || assert.fail(`${label}: ${e.message}`)), label)
      } else {
        const out = run()
        assert.equal(out.unchanged, expect === 'unchanged', label)
      }
      if (ackedAfter !== undefined) assert.equal(store.ackState.ackedBy(fp), ackedAfter ?? undefined, `${label}: acked by`)
    }
    // every change is in the audit trail (the unchanged re-ack and the refusals are not)
    const trail = store.auditTrail({fingerprint: 'aaaa000000000001'}).reverse()
    assert.deepEqual(
      trail.map((a) => `${a.action}:${a.actor}`),
      ['ack:alice', 'unack:bob', 'ack:bob', 'comment:carol', 'resolve:carol'],
    )
    assert.ok(trail.every((a) => a.source === 'local' && a.alertname === 'HighCpu' && a.severity === 'critical' && a.incidentId === trail[0]!.incidentId))
  })

  it('the notifier sees hand-resolved alerts as acked (no repeats) and ended ones as not', () => {
    assert.equal(store.ackState.ackedBy('aaaa000000000001'), 'bob') // resolved by carol after bob acked: the ack is reported
    assert.equal(store.ackState.ackedBy('bbbb000000000002'), undefined)
    assert.equal(store.ackState.ackedBy('ffff000000000000'), undefined)
  })

  it('ack stops the escalation; unack starts it again from its first step, the clock from the unack', () => {
    const fp = 'eeee000000000005'
    save(writer, [alert(fp, {alertname: 'Latency', host: 'api-2', severity: 'critical'}, 'firing')])
    const escalations = new EscalationStore(db)
    escalations.start({fingerprint: fp, routeId: '0', policy: 'db', groupKey: '{}:{}', groupLabels: {}}, T0)
    escalations.advance(escalations.forAlert(fp)[0]!, 'oncall', 2, T0 + 15 * M)
    const state = () => escalations.forAlert(fp).map((r) => ({status: r.status, startedAt: r.startedAt, nextStep: r.nextStep, receivers: r.receivers}))
    assert.deepEqual(state(), [{status: 'active', startedAt: T0, nextStep: 1, receivers: ['oncall']}])

    assert.equal(store.ack(fp, {by: 'alice', source: 'local'}, T0 + 20 * M).escalationsCancelled, 1)
    assert.deepEqual(state(), [{status: 'cancelled', startedAt: T0, nextStep: 1, receivers: ['oncall']}])
    const unacked = store.unack(fp, {by: 'alice', source: 'local'}, T0 + 40 * M)
    assert.equal(unacked.escalationsRestarted, 1)
    // the receivers paged so far are kept: they hear of the resolution
    assert.deepEqual(state(), [{status: 'active', startedAt: T0 + 40 * M, nextStep: 0, receivers: ['oncall']}])
    assert.equal(store.resolve(fp, {by: 'bob', source: 'local'}, T0 + 45 * M).escalationsCancelled, 1)
  })

  it('unknown fingerprints are not found (exit 2)', () => {
    assert.throws(() => store.ack('ffff000000000000', {by: 'x', source: 'local'}, T0), NotFoundError)
  })
})

describe('incident retention: purge', () => {
  const tmp = tempDir('mon-incidents-purge-')
  let db: StateDb
  after(() => {
    db.close()
    tmp.cleanup()
  })

  it('forgets ended incidents and old audit rows; an incident still firing keeps its whole trail', () => {
    db = openStateDb(tmp.dir, STATE_MIGRATIONS)
    const writer = new AlertStateWriter(db)
    const store = new IncidentStore(db)
    const D = 86_400_000
    save(writer, [
      alert('1111000000000001', {alertname: 'StillFiring', host: 'a'}, 'firing'),
      alert('2222000000000002', {alertname: 'EndedLongAgo', host: 'b'}, 'firing'),
      alert('3333000000000003', {alertname: 'EndedRecently', host: 'c'}, 'firing'),
    ])
    const actor = {by: 'alice', source: 'local'}
    store.ack('1111000000000001', actor, T0 + M)
    store.ack('2222000000000002', actor, T0 + M)
    store.ack('3333000000000003', actor, T0 + M)
    store.comment('3333000000000003', {...actor, comment: 'post-mortem notes'}, T0 + 50 * D)
    store.audit({at: T0 + 2 * M, action: 'silence_add', silenceId: 's1', actor: 'alice', source: 'local'})
    store.audit({at: T0 + 50 * D, action: 'auth_failed', actor: 'anonymous', source: '10.0.0.9'})
    // the two others resolve (the rule's condition cleared): their episodes are over
    save(writer, [alert('2222000000000002', {alertname: 'EndedLongAgo', host: 'b'}, 'resolved'), alert('3333000000000003', {alertname: 'EndedRecently', host: 'c'}, 'resolved')])

    const pruned = store.purge(T0 + 40 * D)
    assert.deepEqual(pruned, {incidents: 1, audit: 2}, 'the ended incident (with its ack) and the old silence row')
    const left = store.auditTrail().map((a) => `${a.action}:${a.fingerprint ?? a.actor}`)
    assert.deepEqual(left.sort(), ['ack:1111000000000001', 'ack:3333000000000003', 'auth_failed:anonymous', 'comment:3333000000000003'])
    assert.equal(store.incidentsOf('2222000000000002').length, 0)
    assert.equal(store.incidentsOf('1111000000000001').length, 1, 'still firing: kept however old')
    assert.equal(store.incidentsOf('3333000000000003').length, 1, 'its last action is recent')
    assert.equal(store.ackState.ackedBy('1111000000000001'), 'alice')
    assert.deepEqual(store.purge(T0 + 40 * D), {incidents: 0, audit: 0}, 'nothing more to do')
  })
})

describe('the concurrent-ack race: two terminals, two connections, one winner', () => {
  const tmp = tempDir('mon-incidents-race-')
  let dbs: StateDb[]
  before(() => {
    dbs = [openStateDb(tmp.dir, STATE_MIGRATIONS), openStateDb(tmp.dir, STATE_MIGRATIONS), openStateDb(tmp.dir, STATE_MIGRATIONS)]
    save(new AlertStateWriter(dbs[0]!), [alert('dddd000000000004', {alertname: 'Down', host: 'api-1', severity: 'critical'}, 'firing')])
  })
  after(() => {
    for (const d of dbs) d.close()
    tmp.cleanup()
  })

  const racers = ['alice@laptop', 'bob@desk', 'carol@phone']
  it('all saw it unacked; the first to commit wins and the others are told who', () => {
    const stores = dbs.map((d) => new IncidentStore(d))
    // what each terminal showed before anyone pressed enter
    for (const s of stores) assert.equal(s.ackState.ackedBy('dddd000000000004'), undefined)
    const results = stores.map((s, i) => {
      try {
        s.ack('dddd000000000004', {by: racers[i]!, source: 'local'}, T0 + i)
        return 'won'
      } catch (e) {
        assert.ok(e instanceof IncidentConflictError, String(e))
        return e.message
      }
    })
    assert.equal(results[0], 'won')
    for (const r of results.slice(1)) assert.match(r, /^Down \{host=api-1, severity=critical\} is already acknowledged by alice@laptop/)
    for (const s of stores) assert.equal(s.ackState.ackedBy('dddd000000000004'), 'alice@laptop')
    assert.equal(stores[0]!.auditTrail({fingerprint: 'dddd000000000004'}).filter((a) => a.action === 'ack').length, 1)
  })
})

describe('episodes: an acked alert that resolves and fires again is a new incident', () => {
  const tmp = tempDir('mon-incidents-episode-')
  let db: StateDb
  before(() => {
    db = openStateDb(tmp.dir, STATE_MIGRATIONS)
  })
  after(() => {
    db.close()
    tmp.cleanup()
  })

  it('the ack does not carry over, the incident id does not repeat', async () => {
    const writer = new AlertStateWriter(db)
    const clock = new ManualClock(T0)
    const svc = new LocalIncidents({db, clock})
    const fp = 'eeee000000000005'
    const labels = {alertname: 'Flappy', host: 'h', severity: 'warning'}
    save(writer, [alert(fp, labels, 'firing', T0)])
    clock.set(T0 + M)
    const first = await svc.ack('eeee', {by: 'alice'})
    assert.equal((await svc.list({state: 'acked'})).length, 1)

    // resolves …
    const resolved = alert(fp, labels, 'resolved', T0, {resolvedAt: T0 + 10 * M, lastEvalAt: T0 + 10 * M})
    writer.save([resolved], [{alert: resolved, from: 'firing', to: 'resolved', at: T0 + 10 * M}], [])
    clock.set(T0 + 11 * M)
    await assert.rejects(svc.ack('eeee', {by: 'bob'}), /cannot acknowledge Flappy .*: it resolved 1m ago/)
    assert.equal((await svc.list({state: 'resolved'}))[0]?.ackedBy, 'alice')

    // … and fires again: a new episode
    const again = alert(fp, labels, 'firing', T0 + 20 * M)
    writer.save([again], [{alert: again, from: 'resolved', to: 'firing', at: T0 + 20 * M}], [])
    clock.set(T0 + 21 * M)
    assert.equal(svc.ackState.ackedBy(fp), undefined)
    const [view] = await svc.list()
    assert.equal(view?.state, 'firing')
    assert.equal(view?.ackedBy, null)
    assert.equal(view?.incident, null)
    const second = await svc.ack(fp, {by: 'bob', comment: 'again?'})
    assert.ok(second.incident > first.incident)
    assert.equal(svc.ackState.ackedBy(fp), 'bob')

    // the timeline shows the current episode; --all shows both
    const current = await svc.get(fp)
    assert.deepEqual(current.timeline.map((e) => e.kind), ['fired', 'ack'])
    const all = await svc.get(fp, {allEpisodes: true})
    assert.equal(all.episodes, 2)
    assert.deepEqual(all.timeline.map((e) => e.kind), ['fired', 'ack', 'resolved', 'fired', 'ack'])
  })
})

describe('the service: ids, filters, propagation, events', () => {
  const tmp = tempDir('mon-incidents-svc-')
  let db: StateDb
  let svc: LocalIncidents
  let clock: ManualClock
  const events: Point[] = []
  before(() => {
    db = openStateDb(tmp.dir, STATE_MIGRATIONS)
    const loaded = parseConfigText(
      stringify({
        notify: {
          receivers: [{name: 'oncall', webhook_configs: [{url: 'http://127.0.0.1:9/hook'}], pagerduty_configs: [{routing_key: '${PD_KEY}', url: 'http://127.0.0.1:9/pd'}]}],
          route: {receiver: 'oncall'},
        },
      }),
      'mon.yaml',
      {HOME: '/tmp', PD_KEY: 'pd-key-0000'},
    )
    clock = new ManualClock(T0 + 30 * M)
    svc = new LocalIncidents({db, clock, notify: compileNotify(loaded.config.notify), writeEvents: async (p) => void events.push(...p)})
    save(new AlertStateWriter(db), [
      alert('abcd000000000001', {alertname: 'HighCpu', host: 'web-1', severity: 'critical', team: 'web'}, 'firing', T0),
      alert('abcd000000000002', {alertname: 'HighCpu', host: 'web-2', severity: 'critical', team: 'web'}, 'firing', T0 + 10 * M),
      alert('1234000000000003', {alertname: 'DiskFull', host: 'db-1', severity: 'warning', team: 'db'}, 'firing', T0 + 20 * M),
      alert('5678000000000004', {alertname: 'Slow', host: 'web-3', severity: 'info', team: 'web'}, 'pending', T0 + 25 * M),
      alert('9abc000000000005', {alertname: 'Gone', host: 'web-4', severity: 'warning', team: 'web'}, 'resolved', T0),
    ])
  })
  beforeEach(() => {
    events.length = 0
  })
  after(() => {
    db.close()
    tmp.cleanup()
  })

  it('ambiguous and unknown prefixes are input errors that list the candidates', async () => {
    await assert.rejects(svc.get('abcd'), (e: unknown) => {
      assert.ok(e instanceof AmbiguousIdError)
      assert.equal(e.exitCode, 2)
      assert.equal(e.message, "alert id 'abcd' is ambiguous: it matches 2 alerts")
      assert.deepEqual(e.candidates.map((c) => [c.id, c.alertname, c.labels.host]), [
        ['abcd000000000001', 'HighCpu', 'web-1'],
        ['abcd000000000002', 'HighCpu', 'web-2'],
      ])
      assert.match(e.details ?? '', /abcd000000000001 {2}HighCpu \{host=web-1, severity=critical, team=web\} {2}firing/)
      return true
    })
    await assert.rejects(svc.get('ffff'), (e: unknown) => e instanceof NotFoundError && e.exitCode === 2 && /no alert with id 'ffff'/.test(e.message))
    await assert.rejects(svc.ack('xyz!', {by: 'a'}), (e: Error & {exitCode?: number}) => e.exitCode === 2 && /not an alert id/.test(e.message))
    assert.equal((await svc.get('1234')).alertname, 'DiskFull')
  })

  const filters: Array<[name: string, q: Parameters<LocalIncidents['list']>[0], ids: string[]]> = [
    ['default: firing, critical first, newest first', {}, ['abcd000000000002', 'abcd000000000001', '1234']],
    ['pending', {state: 'pending'}, ['5678']],
    ['resolved', {state: 'resolved'}, ['9abc']],
    ['all', {state: 'all'}, ['abcd000000000002', 'abcd000000000001', '1234', '5678', '9abc']],
    ['severity', {severity: ['warning,info'], state: 'all'}, ['1234', '5678', '9abc']],
    ['label k=v', {labels: ['team=db']}, ['1234']],
    ['label regex and negation', {labels: ['host=~"web-.*"', 'host!=web-2']}, ['abcd000000000001']],
    ['since: current state began within 15m', {since: T0 + 15 * M}, ['1234']],
  ]
  for (const [name, q, ids] of filters) {
    it(`list: ${name}`, async () => {
      assert.deepEqual((await svc.list(q)).map((v) => v.id), ids)
    })
  }

  it('the list view: state, age, short id', async () => {
    const [v] = await svc.list({labels: ['team=db']})
    assert.equal(v?.state, 'firing')
    assert.equal(v?.ageMs, 10 * M)
    assert.equal(v?.severity, 'warning')
    assert.equal(v?.firedAt, new Date(T0 + 20 * M).toISOString())
  })

  it('ack reaches the channels that were told and know acks; resolve the ones that send resolutions', async () => {
    const outbox = new Outbox(db)
    const told = (fp: string) => {
      const a = svc.store.reader.get(fp)!
      const n = (channel: string) => ({
        notification: buildNotification({kind: 'firing', receiver: 'oncall', groupKey: '{}:{}', groupLabels: {}, alerts: [toNotificationAlert(a)], now: a.activeAt}),
        channel,
        channelType: channel.replace(/\[\d+\]$/, ''),
      })
      outbox.enqueue([n('webhook[0]'), n('pagerduty[0]')], a.activeAt)
    }
    told('1234000000000003')
    const acked = await svc.ack('1234', {by: 'alice@laptop', comment: 'on it'})
    assert.deepEqual(acked.notified, ['oncall/pagerduty[0]'])
    const kinds = (fp: string) => outbox.deliveriesFor(fp).map((d) => `${d.kind}:${d.channel}`)
    assert.deepEqual(kinds('1234000000000003'), ['firing:webhook[0]', 'firing:pagerduty[0]', 'acknowledged:pagerduty[0]'])
    assert.deepEqual(
      events.map((p) => [p.measurement, p.tags, p.fields.fingerprint, p.fields.comment, p.fields.source]),
      [['alert_events', {action: 'ack', actor: 'alice@laptop', alertname: 'DiskFull', severity: 'warning'}, '1234000000000003', 'on it', 'local']],
    )
    assert.equal(events[0]!.fields.incident, BigInt(acked.incident))

    told('abcd000000000001')
    const resolved = await svc.resolve('abcd000000000001', {by: 'bob', comment: 'fixed', source: '10.0.0.7'})
    assert.deepEqual(resolved.notified.sort(), ['oncall/pagerduty[0]', 'oncall/webhook[0]'])
    assert.match(resolved.warning ?? '', /the rule's condition still held/)
    assert.deepEqual(kinds('abcd000000000001'), ['firing:webhook[0]', 'firing:pagerduty[0]', 'resolved:webhook[0]', 'resolved:pagerduty[0]'])
    assert.equal(events.at(-1)!.tags.action, 'resolve')
    const history = await svc.history({since: T0})
    assert.deepEqual(
      history.filter((h) => h.action === 'resolve' || h.action === 'ack').map((h) => [h.action, h.actor, h.source, h.comment]),
      [
        ['resolve', 'bob', '10.0.0.7', 'fixed'],
        ['ack', 'alice@laptop', 'local', 'on it'],
      ],
    )
    assert.equal((await svc.list({state: 'resolved'})).find((v) => v.fingerprint === 'abcd000000000001')?.incident?.resolvedBy, 'bob')
  })

  it('the timeline: notifications with their result, escalation steps, actions with actor and source', async () => {
    const outbox = new Outbox(db)
    const a = svc.store.reader.get('1234000000000003')!
    const [id] = outbox.enqueue(
      [
        {
          notification: buildNotification({kind: 'escalation', receiver: 'manager', groupKey: '{}:{}', groupLabels: {}, alerts: [toNotificationAlert(a)], now: T0 + 25 * M, message: 'Not acknowledged after 5m'}),
          channel: 'webhook[0]',
          channelType: 'webhook',
        },
      ],
      T0 + 25 * M,
    )
    assert.ok(id)
    const d = await svc.get('1234')
    assert.deepEqual(
      d.timeline.map((e) => `${e.kind}: ${e.text}`),
      [
        'fired: fired (value 97)',
        'notification: firing notification → oncall/webhook[0] (webhook): pending',
        'notification: firing notification → oncall/pagerduty[0] (pagerduty): pending',
        'escalation: escalated to manager → manager/webhook[0] (webhook): pending',
        'ack: acknowledged by alice@laptop: on it',
        'notification: acknowledged notification → oncall/pagerduty[0] (pagerduty): pending',
      ],
    )
  })

  it('silences: add needs a comment, counts what it silences, expire is audited', async () => {
    await assert.rejects(svc.addSilence({matchers: ['team=web'], durationMs: 3_600_000, comment: ' ', by: 'alice'}), /needs a comment/)
    const s = await svc.addSilence({matchers: ['team=web', 'alertname=HighCpu'], durationMs: 3_600_000, comment: 'deploy', by: 'alice'})
    assert.equal(s.state, 'active')
    // web-2 only: the rule still fires for web-1, but it was resolved by hand above and is not
    // counted firing anywhere (issue 16: the counts of every view agree)
    assert.equal(s.silencing, 1)
    assert.deepEqual((await svc.list({labels: ['host=web-2']}))[0]?.silencedBy, [s.id])
    const expired = await svc.expireSilence(s.id.slice(0, 6), {by: 'bob'})
    assert.equal(expired.state, 'expired')
    await assert.rejects(svc.expireSilence(s.id, {by: 'bob'}), /already expired/)
    await assert.rejects(svc.expireSilence('0000ffff', {by: 'bob'}), (e: Error & {exitCode?: number}) => e.exitCode === 2 && /no silence with id '0000ffff'/.test(e.message))
    assert.deepEqual(
      events.map((p) => p.tags.action),
      ['silence_add', 'silence_expire'],
    )
  })
})
