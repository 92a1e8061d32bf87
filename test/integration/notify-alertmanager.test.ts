/**
 * Forwarding to a real Prometheus Alertmanager (Debian's prometheus-alertmanager, started on
 * loopback): a firing alert shows up in its GET /api/v2/alerts with our labels, annotations and
 * link; the resolution ends it there; and an alert that keeps firing in mon keeps firing there,
 * however long mon's repeat_interval (no false "resolved" to Alertmanager's receivers).
 */
import assert from 'node:assert/strict'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'
import {stringify} from 'yaml'
import type {Alert} from '../../src/core/alerting/types.js'
import {ManualClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {Dispatcher} from '../../src/core/notify/deliver/dispatcher.js'
import {NOTIFY_MIGRATIONS} from '../../src/core/notify/migrations.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {compileNotify} from '../../src/core/notify/notifier.js'
import type {Channel, NotificationAlert} from '../../src/core/notify/types.js'
import {openStateDb} from '../../src/core/state/db.js'
import {startCapture, type CaptureServer} from '../helpers/capture.js'
import {startAlertmanager, tempDir, waitFor, type RunningServer} from '../helpers/servers.js'

const AM_CONFIG = `route:
  receiver: blackhole
  group_wait: 1h
receivers:
  - name: blackhole
`

interface GettableAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
  status: {state: string}
}

describe('forwarding to Prometheus Alertmanager', () => {
  let am: RunningServer
  let channel: Channel
  before(async () => {
    am = await startAlertmanager(AM_CONFIG)
    const text = stringify({notify: {external_url: 'https://mon.example.com', receivers: [{name: 'am', alertmanager_configs: [{url: am.url, alert_ttl: '1h'}]}], route: {receiver: 'am'}}})
    channel = compileNotify(parseConfigText(text, 'mon.yaml', {HOME: '/tmp'}).config.notify).receivers.get('am')![0]!.channel()
  })
  after(async () => {
    await am?.destroy()
  })

  const alertsIn = async (): Promise<GettableAlert[]> => {
    const res = await fetch(`${am.url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`)
    assert.equal(res.status, 200)
    return (await res.json()) as GettableAlert[]
  }

  const now = Date.now()
  const alert: NotificationAlert = {
    status: 'firing',
    labels: {alertname: 'DiskFull', host: 'db-1', severity: 'critical', source: 'mon'},
    annotations: {summary: 'Disk / on db-1 is 97% full'},
    startsAt: new Date(now - 60_000).toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    fingerprint: 'aaaaaaaaaaaaaaaa',
    value: 97,
  }
  const note = (a: NotificationAlert) => buildNotification({kind: a.status, receiver: 'am', groupKey: '{}:{}', groupLabels: {}, alerts: [a], now, externalURL: 'https://mon.example.com'})

  it('a firing alert is active in the Alertmanager', async () => {
    await channel.send(note(alert), new AbortController().signal)
    let found: GettableAlert | undefined
    await waitFor(async () => {
      found = (await alertsIn()).find((a) => a.labels.alertname === 'DiskFull' && a.labels.host === 'db-1')
      return found !== undefined
    }, 'forwarded alert in GET /api/v2/alerts', 10_000)
    assert.deepEqual(found!.labels, alert.labels)
    assert.equal(found!.annotations.summary, 'Disk / on db-1 is 97% full')
    assert.equal(found!.generatorURL, 'https://mon.example.com/alerts/aaaaaaaaaaaaaaaa')
    assert.equal(found!.status.state, 'active')
    assert.equal(Date.parse(found!.startsAt), Date.parse(alert.startsAt))
    // endsAt = send time + alert_ttl (1h)
    const endsIn = Date.parse(found!.endsAt) - Date.now()
    assert.ok(endsIn > 50 * 60_000 && endsIn <= 60 * 60_000, `endsAt ${found!.endsAt}`)
  })

  it('the resolution ends it', async () => {
    const resolvedAt = new Date(Date.now() - 1000).toISOString()
    await channel.send(note({...alert, status: 'resolved', endsAt: resolvedAt}), new AbortController().signal)
    await waitFor(async () => !(await alertsIn()).some((a) => a.labels.alertname === 'DiskFull'), 'resolved alert no longer active', 10_000)
  })

  it('a bad request is reported, not retried forever', async () => {
    // Alertmanager rejects an alert without labels (400): permanent
    const bad = {...alert, labels: {}}
    await assert.rejects(channel.send(note(bad), new AbortController().signal), (e) => (e as Error).name === 'PermanentDeliveryError' && /HTTP 400/.test((e as Error).message))
  })
})

describe('an alert firing in mon stays firing in Alertmanager', () => {
  // Alertmanager's clock is real, so the alert_ttl is short and real time passes between the
  // evaluations (bounded: until the first send's endsAt is well past); mon's side runs on a ManualClock.
  const ALERT_TTL = '3s'
  /** real time between two evaluations: far below alert_ttl, so only a missing re-send can let it expire */
  const EVALUATION_GAP_MS = 500
  let am: RunningServer
  let hook: CaptureServer
  const tmp = tempDir('mon-am-resend-')
  before(async () => {
    hook = await startCapture()
    // Alertmanager tells this webhook about its groups quickly, resolutions included
    am = await startAlertmanager(`route:
  receiver: hook
  group_wait: 50ms
  group_interval: 100ms
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${hook.url}/am
        send_resolved: true
`)
  })
  after(async () => {
    await am?.destroy()
    await hook?.close()
    tmp.cleanup()
  })

  interface WebhookBody {
    status: string
    alerts: Array<{status: string; labels: Record<string, string>; endsAt: string}>
  }
  const statusesSeen = (): string[] => hook.at('/am').map((r) => hook.json<WebhookBody>(r).status)
  const inAlertmanager = async (): Promise<GettableAlert | undefined> => {
    const res = await fetch(`${am.url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`)
    return ((await res.json()) as GettableAlert[]).find((a) => a.labels.alertname === 'DiskFilling')
  }

  it('re-sends on every evaluation with endsAt ahead of the next send, not only every repeat_interval', async () => {
    const clock = new ManualClock(Date.now())
    const config = {
      external_url: 'https://mon.example.com',
      receivers: [{name: 'am', alertmanager_configs: [{url: am.url, alert_ttl: ALERT_TTL, resend_delay: '1s'}]}],
      // mon's own repeat_interval is far longer than alert_ttl: only the per-evaluation re-send keeps it alive
      route: {receiver: 'am', group_wait: '0s', group_interval: '5m', repeat_interval: '4h'},
    }
    const notify = compileNotify(parseConfigText(stringify({notify: config}), 'mon.yaml', {HOME: '/tmp'}).config.notify)
    const db = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
    let dispatcher = new Dispatcher({notify, db, clock})
    const firedAt = clock.now()
    const alert: Alert = {
      fingerprint: 'bbbbbbbbbbbbbbbb',
      group: 'disk',
      labels: {alertname: 'DiskFilling', host: 'db-2', severity: 'warning'},
      annotations: {summary: 'Disk / on db-2 fills in 3h'},
      state: 'firing',
      value: 91,
      activeAt: firedAt,
      firedAt,
      lastEvalAt: firedAt,
    }
    /** one rule evaluation (evaluation interval 30s): the engine pushes the firing alert, the notify loop ticks */
    const evaluate = async (a: Alert = alert) => {
      dispatcher.push([{...a, lastEvalAt: clock.now()}], clock.now())
      return dispatcher.tick(clock.now())
    }

    assert.equal((await evaluate()).delivered, 1, 'the first notification')
    let forwarded: GettableAlert | undefined
    await waitFor(async () => (forwarded = await inAlertmanager()) !== undefined, 'forwarded alert in Alertmanager', 10_000)
    const firstEndsAt = Date.parse(forwarded!.endsAt)

    // Evaluate until Alertmanager has notified its webhook (it first waits for its cluster to settle)
    // and the first send's endsAt is 1.5 s past: without re-sends Alertmanager would have resolved the
    // alert and told its webhook by then. Bounded: 60 evaluations.
    let evaluations = 0
    const deliveredPerEvaluation: number[] = []
    while (statusesSeen().length === 0 || Date.now() < firstEndsAt + 1500) {
      assert.ok(evaluations < 60, `Alertmanager's webhook got ${statusesSeen().length} notification(s) after ${evaluations} evaluations`)
      await sleep(EVALUATION_GAP_MS)
      clock.advance(30_000)
      const r = await evaluate()
      deliveredPerEvaluation.push(r.delivered + 100 * (r.dead + r.retried))
      evaluations++
    }
    const now = Date.now()
    const current = await inAlertmanager()
    assert.equal(current?.status.state, 'active', 'still active in Alertmanager')
    assert.ok(Date.parse(current.endsAt) > now, `endsAt ${current.endsAt} is ahead`)
    assert.deepEqual([...new Set(statusesSeen())], ['firing'], "Alertmanager's receiver never heard 'resolved'")
    assert.ok(evaluations >= 3, `${evaluations} evaluations spanned more than alert_ttl`)
    assert.deepEqual(deliveredPerEvaluation, deliveredPerEvaluation.map(() => 1), 'every evaluation re-sent the firing alert, delivered at the first attempt')

    // re-sends are not news: the alert's delivery history keeps the first notification only, and
    // the outbox keeps the latest re-send per stream, not one row per evaluation
    assert.equal(dispatcher.outbox.deliveriesFor(alert.fingerprint).length, 1)
    assert.equal(dispatcher.outbox.counts().delivered, 2)

    // a restarted daemon (a new dispatcher on the same state.db) goes on re-sending, and still keeps one re-send
    dispatcher.close()
    dispatcher = new Dispatcher({notify, db, clock})
    clock.advance(30_000)
    assert.equal((await evaluate()).delivered, 1)
    assert.equal(dispatcher.outbox.counts().delivered, 2)
    assert.equal((await inAlertmanager())?.status.state, 'active')

    // the resolution reaches Alertmanager's receiver (so the check above could have seen one)
    clock.advance(5 * 60_000)
    // (resolved at the real now: Alertmanager compares endsAt with its own clock, which is behind mon's ManualClock)
    assert.equal((await evaluate({...alert, state: 'resolved', resolvedAt: Date.now()})).delivered, 1)
    await waitFor(async () => statusesSeen().includes('resolved'), "Alertmanager's resolved notification", 10_000)
    db.close()
  })
})

describe('re-sends to Alertmanager: throttled, only what it was told, no pile-up while it is down', () => {
  // a loopback server standing in for Alertmanager's POST /api/v2/alerts, so it can also answer 503
  let am: CaptureServer
  const tmp = tempDir('mon-am-resend-unit-')
  before(async () => {
    am = await startCapture()
  })
  after(async () => {
    await am?.close()
    tmp.cleanup()
  })

  it('re-sends at most once per resend_delay, leaves new alerts to the group timers, and queues one row while Alertmanager is down', async () => {
    const clock = new ManualClock(Date.parse('2026-03-02T10:00:00Z'))
    const t0 = clock.now()
    const config = {
      receivers: [{name: 'am', alertmanager_configs: [{url: am.url, resend_delay: '30s'}]}],
      route: {receiver: 'am', group_wait: '0s', group_interval: '5m', repeat_interval: '4h'},
      outbox: {backoff: '10s', max_backoff: '10s'},
    }
    const notify = compileNotify(parseConfigText(stringify({notify: config}), 'mon.yaml', {HOME: '/tmp'}).config.notify)
    const db = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
    const dispatcher = new Dispatcher({notify, db, clock, random: () => 0.5})
    const firing = (fp: string, host: string): Alert => ({fingerprint: fp, group: 'g', labels: {alertname: 'Down', host}, annotations: {}, state: 'firing', value: 1, activeAt: t0, firedAt: t0, lastEvalAt: t0})
    const posted = () => am.requests.map((r) => (am.json(r) as unknown as Array<{labels: {host: string}}>).map((a) => a.labels.host).join(','))
    const evaluateAt = async (offsetS: number, ...alerts: Alert[]) => {
      clock.set(t0 + offsetS * 1000)
      dispatcher.push(alerts, clock.now())
      return dispatcher.tick(clock.now())
    }
    const a = firing('aaaaaaaaaaaaaaaa', 'web-1')
    const b = firing('bbbbbbbbbbbbbbbb', 'web-2')

    await evaluateAt(0, a)
    await evaluateAt(10, a) // within resend_delay of the first notification
    await evaluateAt(30, a)
    await evaluateAt(40, a, b) // b is new: it waits for the group's next flush (5m), not re-sent
    await evaluateAt(60, a, b)
    assert.deepEqual(posted(), ['web-1', 'web-1', 'web-1'])

    am.respond(() => ({status: 503, body: 'down'}))
    for (let s = 90; s <= 240; s += 30) await evaluateAt(s, a, b)
    const c = dispatcher.outbox.counts()
    assert.equal(c.pending + c.sending, 1, `one row waits for Alertmanager, not one per evaluation: ${JSON.stringify(c)}`)

    am.respond(() => undefined)
    am.reset()
    await evaluateAt(300, a, b) // the waiting re-send goes out, then the group's flush tells about b
    assert.deepEqual(posted(), ['web-1', 'web-1,web-2'])
    db.close()
  })
})
