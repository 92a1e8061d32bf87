/**
 * Routing, grouping, group_wait / group_interval / repeat_interval, resolution, silences,
 * inhibition, mute intervals, escalation and acknowledgement — driven by a ManualClock (no
 * sleeping), end to end: the dispatcher writes the outbox and the sender delivers to real
 * loopback receivers (an Alertmanager-style webhook per receiver, and PagerDuty where noted).
 *
 * Each step moves the clock, pushes alerts / acks / silences, runs one tick, and lists exactly
 * what the receivers got in that tick: `team: +a +b` is a webhook payload with alerts a and b
 * firing (`-a`: resolved), `pd/team: trigger a` a PagerDuty event.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {stringify} from 'yaml'
import type {Alert} from '../../src/core/alerting/types.js'
import {ManualClock} from '../../src/core/clock.js'
import {parseDuration} from '../../src/core/config/duration.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {Dispatcher} from '../../src/core/notify/deliver/dispatcher.js'
import {EscalationStore} from '../../src/core/notify/deliver/escalation.js'
import {parseLabelSet} from '../../src/core/notify/labels.js'
import {NOTIFY_MIGRATIONS} from '../../src/core/notify/migrations.js'
import {compileNotify} from '../../src/core/notify/notifier.js'
import {openStateDb} from '../../src/core/state/db.js'
import {startCapture, type CaptureServer} from '../helpers/capture.js'
import {tempDir} from '../helpers/servers.js'

interface Step {
  at: string
  push?: Array<[fingerprint: string, labels: string, state?: 'firing' | 'resolved']>
  ack?: [fingerprint: string, by: string]
  /** `mon alerts unack`: no longer acked, and the escalation it stopped starts again (as IncidentStore.unack does) */
  unack?: string
  silence?: {matchers: string[]; for: string}
  /** a new process: a new dispatcher on the same state.db, which knows no groups yet */
  restart?: boolean
  expect: string[]
}

interface Scenario {
  name: string
  start?: string
  /** receiver name → options; each gets a webhook at /<name> */
  receivers: Record<string, {sendResolved?: boolean; pagerduty?: boolean}>
  notify: Record<string, unknown>
  steps: Step[]
}

const team = {team: {}}
const fast = {group_wait: '0s', group_interval: '1m', repeat_interval: '1h'}
/** team is told first; on-call is paged after 15m, the manager after 30m, unless acknowledged */
const escalating: Pick<Scenario, 'receivers' | 'notify'> = {
  receivers: {team: {}, oncall: {pagerduty: true}, manager: {}},
  notify: {
    route: {receiver: 'team', group_wait: '30s', group_interval: '5m', repeat_interval: '4h', escalation: 'db'},
    escalation_policies: [{name: 'db', steps: [{after: '15m', receiver: 'oncall'}, {after: '30m', receiver: 'manager'}]}],
  },
}

const scenarios: Scenario[] = [
  {
    name: 'group_wait batches, group_interval adds, repeat_interval repeats, resolution is sent',
    receivers: team,
    notify: {route: {receiver: 'team', group_by: ['alertname'], group_wait: '30s', group_interval: '5m', repeat_interval: '1h'}},
    steps: [
      {at: '0s', push: [['a', 'alertname=Disk,host=1'], ['x', 'alertname=Load,host=1']], expect: []},
      {at: '10s', push: [['b', 'alertname=Disk,host=2']], expect: []},
      {at: '30s', expect: ['team: +a +b', 'team: +x']},
      {at: '1m', push: [['c', 'alertname=Disk,host=3']], expect: []},
      {at: '5m30s', expect: ['team: +a +b +c']},
      {at: '10m30s', expect: []},
      {at: '1h5m30s', expect: ['team: +a +b +c', 'team: +x']},
      {at: '1h10m', push: [['a', 'alertname=Disk,host=1', 'resolved']], expect: []},
      {at: '1h10m30s', expect: ['team: +b +c -a']},
    ],
  },
  {
    name: 'without send_resolved nothing is sent on resolution, and a return is news',
    receivers: {quiet: {sendResolved: false}},
    notify: {route: {receiver: 'quiet', ...fast}},
    steps: [
      {at: '0s', push: [['a', 'alertname=A']], expect: ['quiet: +a']},
      {at: '1m', push: [['a', 'alertname=A', 'resolved']], expect: []},
      {at: '2m', push: [['a', 'alertname=A']], expect: ['quiet: +a']},
    ],
  },
  {
    name: 'silenced alerts are left out until the silence ends',
    receivers: team,
    notify: {route: {receiver: 'team', ...fast}},
    steps: [
      {at: '0s', silence: {matchers: ['host="1"'], for: '10m'}, push: [['a', 'alertname=A,host=1'], ['b', 'alertname=A,host=2']], expect: ['team: +b']},
      {at: '1m', expect: []},
      {at: '10m', expect: ['team: +a +b']},
    ],
  },
  {
    name: 'inhibition: critical holds back warnings on the same host until it resolves',
    receivers: team,
    notify: {
      route: {receiver: 'team', group_by: ['alertname'], ...fast},
      inhibit_rules: [{source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['host']}],
    },
    steps: [
      {at: '0s', push: [['crit', 'alertname=Down,severity=critical,host=1'], ['warn', 'alertname=Slow,severity=warning,host=1'], ['warn2', 'alertname=Slow,severity=warning,host=2']], expect: ['team: +crit', 'team: +warn2']},
      {at: '1m', push: [['crit', 'alertname=Down,severity=critical,host=1', 'resolved']], expect: ['team: -crit', 'team: +warn +warn2']},
    ],
  },
  {
    name: 'a muted route sends nothing until the mute interval ends',
    start: '2026-03-02T22:00:00Z',
    receivers: team,
    notify: {
      route: {receiver: 'team', group_by: ['severity'], ...fast, routes: [{matchers: ['severity="warning"'], mute_time_intervals: ['nights']}]},
      time_intervals: [{name: 'nights', time_intervals: [{times: [{start_time: '22:00', end_time: '24:00'}, {start_time: '00:00', end_time: '07:00'}]}]}],
    },
    steps: [
      {at: '0s', push: [['c', 'alertname=A,severity=critical'], ['w', 'alertname=B,severity=warning']], expect: ['team: +c']},
      {at: '1m', push: [['w', 'alertname=B,severity=warning', 'resolved'], ['w2', 'alertname=C,severity=warning']], expect: []},
      // 07:00: the warning route wakes up; the critical one repeats (repeat_interval 1h)
      {at: '9h', expect: ['team: +c', 'team: +w2']},
    ],
  },
  {
    name: 'escalation: on-call after 15m, the manager after 30m',
    ...escalating,
    steps: [
      {at: '0s', push: [['a', 'alertname=A']], expect: []},
      {at: '30s', expect: ['team: +a']},
      {at: '15m', expect: []},
      {at: '15m30s', expect: ['oncall: +a', 'pd/oncall: trigger a']},
      {at: '30m30s', expect: ['manager: +a']},
      {at: '35m30s', expect: []},
      {at: '40m', push: [['a', 'alertname=A', 'resolved']], expect: []},
      {at: '40m30s', expect: ['team: -a', 'oncall: -a', 'pd/oncall: resolve a', 'manager: -a']},
    ],
  },
  {
    name: 'escalation stops at the acknowledgement; the paged channel hears the ack and the resolution',
    ...escalating,
    steps: [
      {at: '0s', push: [['a', 'alertname=A']], expect: []},
      {at: '30s', expect: ['team: +a']},
      {at: '15m30s', expect: ['oncall: +a', 'pd/oncall: trigger a']},
      {at: '20m', ack: ['a', 'alice'], expect: ['pd/oncall: acknowledge a']},
      {at: '45m30s', expect: []},
      {at: '50m', push: [['a', 'alertname=A', 'resolved']], expect: []},
      {at: '50m30s', expect: ['team: -a', 'oncall: -a', 'pd/oncall: resolve a']},
    ],
  },
  {
    name: 'unack starts the stopped escalation again from its first step, the clock from the unack',
    ...escalating,
    steps: [
      {at: '0s', push: [['a', 'alertname=A']], expect: []},
      {at: '30s', expect: ['team: +a']},
      {at: '10m', ack: ['a', 'alice'], expect: []},
      {at: '20m', unack: 'a', expect: []},
      {at: '34m50s', expect: []},
      {at: '35m', expect: ['oncall: +a', 'pd/oncall: trigger a']},
      {at: '49m50s', expect: []},
      {at: '50m', expect: ['manager: +a']},
    ],
  },
  {
    name: 'an acknowledged alert gets no repeats',
    receivers: {team: {pagerduty: true}},
    notify: {route: {receiver: 'team', ...fast}},
    steps: [
      {at: '0s', push: [['a', 'alertname=A,host=1'], ['b', 'alertname=A,host=2']], expect: ['team: +a +b', 'pd/team: trigger a', 'pd/team: trigger b']},
      {at: '10m', ack: ['a', 'alice'], expect: ['pd/team: acknowledge a']},
      {at: '1h', expect: ['team: +a +b', 'pd/team: trigger b']},
      {at: '1h10m', ack: ['b', 'bob'], expect: ['pd/team: acknowledge b']},
      {at: '2h10m', expect: []},
      {at: '3h10m', expect: []},
    ],
  },
  {
    name: 'a restart does not notify again, and still sends the resolution',
    receivers: team,
    notify: {route: {receiver: 'team', ...fast}},
    steps: [
      {at: '0s', push: [['a', 'alertname=A']], expect: ['team: +a']},
      {at: '1m', restart: true, push: [['a', 'alertname=A']], expect: []},
      {at: '2m', push: [['a', 'alertname=A', 'resolved']], expect: ['team: -a']},
    ],
  },
  {
    name: 'continue: one alert, two receivers',
    receivers: {db: {}, pager: {}, other: {}},
    notify: {route: {receiver: 'other', ...fast, routes: [{matchers: ['team="db"'], receiver: 'db', continue: true}, {matchers: ['severity="critical"'], receiver: 'pager'}]}},
    steps: [{at: '0s', push: [['a', 'alertname=A,team=db,severity=critical'], ['b', 'alertname=B,team=web']], expect: ['db: +a', 'pager: +a', 'other: +b']}],
  },
]

describe('dispatcher scenarios (ManualClock, loopback receivers)', () => {
  let server: CaptureServer
  before(async () => {
    server = await startCapture({responder: (req) => (req.url.startsWith('/pd/') ? {status: 202, body: {status: 'success'}} : undefined)})
  })
  after(async () => {
    await server.close()
  })

  /** What the receivers got: `team: +a -b` per webhook payload, `pd/team: trigger a` per PagerDuty event. */
  const received = (): string[] =>
    server.requests
      .map((r) => {
        const body = server.json<{receiver: string; alerts: Array<{status: string; fingerprint: string}>; event_action?: string; dedup_key?: string}>(r)
        if (r.url.startsWith('/pd/')) return `${r.url.slice(1)}: ${body.event_action} ${body.dedup_key}`
        const firing = body.alerts.filter((a) => a.status === 'firing').map((a) => `+${a.fingerprint}`)
        const resolved = body.alerts.filter((a) => a.status === 'resolved').map((a) => `-${a.fingerprint}`)
        return `${body.receiver}: ${[...firing.sort(), ...resolved.sort()].join(' ')}`
      })
      .sort()

  for (const s of scenarios) {
    it(s.name, async () => {
      const tmp = tempDir('mon-dispatch-')
      const db = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
      const start = Date.parse(s.start ?? '2026-03-02T10:00:00Z')
      const clock = new ManualClock(start)
      const acked = new Map<string, string>()
      const receivers = Object.entries(s.receivers).map(([name, o]) => ({
        name,
        webhook_configs: [{url: `${server.url}/${name}`, send_resolved: o.sendResolved ?? true}],
        ...(o.pagerduty ? {pagerduty_configs: [{routing_key: '${PD_KEY}', url: `${server.url}/pd/${name}`}]} : {}),
      }))
      const loaded = parseConfigText(stringify({notify: {...s.notify, receivers}}), 'mon.yaml', {HOME: '/tmp', PD_KEY: 'pd-key-0000'})
      const notify = compileNotify(loaded.config.notify)
      const make = () => new Dispatcher({notify, db, clock, ackState: {ackedBy: (fp) => acked.get(fp)}, random: () => 0.5})
      let dispatcher = make()
      const alerts = new Map<string, Alert>()
      try {
        for (const step of s.steps) {
          const now = start + parseDuration(step.at)
          clock.set(now)
          if (step.restart) {
            dispatcher.close()
            dispatcher = make()
          }
          if (step.silence) dispatcher.silences.createSilence({matchers: step.silence.matchers, endsAt: now + parseDuration(step.silence.for), createdBy: 'test'}, now)
          if (step.push) {
            const batch = step.push.map(([fp, labels, state = 'firing']) => {
              const before = alerts.get(fp)
              const back = before?.state === 'resolved' && state === 'firing'
              const alert: Alert = {
                fingerprint: fp,
                group: 'g',
                labels: parseLabelSet(labels),
                annotations: {summary: `alert ${fp}`},
                state,
                value: 1,
                activeAt: before && !back ? before.activeAt : now,
                firedAt: before && !back ? before.firedAt : now,
                ...(state === 'resolved' ? {resolvedAt: now} : {}),
                lastEvalAt: now,
              }
              alerts.set(fp, alert)
              return alert
            })
            dispatcher.push(batch, now)
          }
          if (step.ack) {
            acked.set(step.ack[0], step.ack[1])
            dispatcher.notifyAcknowledged(alerts.get(step.ack[0])!, step.ack[1], 'on it', now)
          }
          if (step.unack) {
            acked.delete(step.unack)
            new EscalationStore(db).restart(step.unack, now)
          }
          server.reset()
          const result = await dispatcher.tick(now)
          assert.deepEqual(received(), [...step.expect].sort(), `at ${step.at}`)
          assert.equal(result.retried + result.dead, 0, `at ${step.at}: every send succeeds`)
        }
      } finally {
        dispatcher.close()
        db.close()
        tmp.cleanup()
      }
    })
  }
})
