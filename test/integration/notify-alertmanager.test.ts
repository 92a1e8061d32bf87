/**
 * Forwarding to a real Prometheus Alertmanager (Debian's prometheus-alertmanager, started on
 * loopback): a firing alert shows up in its GET /api/v2/alerts with our labels, annotations and
 * link; the resolution ends it there.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {stringify} from 'yaml'
import {parseConfigText} from '../../src/core/config/load.js'
import {buildNotification} from '../../src/core/notify/notification.js'
import {compileNotify} from '../../src/core/notify/notifier.js'
import type {Channel, NotificationAlert} from '../../src/core/notify/types.js'
import {startAlertmanager, waitFor, type RunningServer} from '../helpers/servers.js'

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
