import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {postableAlerts} from '../../src/core/notify/channels/alertmanager.js'
import {encodeHeaderValue, ntfyMessage} from '../../src/core/notify/channels/ntfy.js'
import {opsgenieRequests, type OpsgenieConfig} from '../../src/core/notify/channels/opsgenie.js'
import {pagerDutyEvents, type PagerDutyConfig} from '../../src/core/notify/channels/pagerduty.js'
import {slackPayload} from '../../src/core/notify/channels/slack.js'
import {adaptiveCardPayload, messageCardPayload} from '../../src/core/notify/channels/teams.js'
import {smsText} from '../../src/core/notify/channels/twilio.js'
import {webhookPayload} from '../../src/core/notify/channels/webhook.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {notificationTitle} from '../../src/core/notify/deliver/render.js'
import {senderRetryPolicy} from '../../src/core/notify/deliver/sender.js'
import type {NotificationAlert, NotificationKind} from '../../src/core/notify/types.js'
import {nextDelay, parseRetryAfter} from '../../src/core/retry.js'

const T0 = Date.parse('2026-03-02T10:00:00Z')

function alert(fp: string, labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing', annotations: Record<string, string> = {}): NotificationAlert {
  return {
    status,
    labels,
    annotations,
    startsAt: new Date(T0).toISOString(),
    endsAt: status === 'resolved' ? new Date(T0 + 60_000).toISOString() : '0001-01-01T00:00:00Z',
    fingerprint: fp,
    value: 97.5,
  }
}

const diskA = alert('aaaaaaaaaaaaaaaa', {alertname: 'DiskFull', host: 'db-1', severity: 'critical', team: 'db'}, 'firing', {
  summary: 'Disk / on db-1 is 97% full',
  runbook_url: 'https://runbooks.example.com/disk',
})
const diskB = alert('bbbbbbbbbbbbbbbb', {alertname: 'DiskFull', host: 'db-2', severity: 'critical', team: 'db'}, 'resolved', {summary: 'Disk / on db-2 <is> & fine'})

function note(kind: NotificationKind, alerts: NotificationAlert[], message?: string) {
  return buildNotification({kind, receiver: 'db-team', groupKey: '{}/{team="db"}:{alertname="DiskFull"}', groupLabels: {alertname: 'DiskFull'}, alerts, now: T0, externalURL: 'https://mon.example.com', message})
}

describe('titles (Alertmanager style)', () => {
  const cases: Array<[string, ReturnType<typeof note>, string]> = [
    ['firing count, group values, common rest', note('firing', [diskA, {...diskB, status: 'firing'}]), '[FIRING:2] DiskFull (critical db)'],
    ['mixed firing and resolved', note('firing', [diskA, diskB]), '[FIRING:1] DiskFull (critical db)'],
    ['all resolved', note('resolved', [diskB]), '[RESOLVED] DiskFull (db-2 critical db)'],
    ['acknowledged', note('acknowledged', [{...diskA, ackedBy: 'alice'}]), '[ACKNOWLEDGED] DiskFull (db-1 critical db)'],
    ['escalation', note('escalation', [diskA]), '[ESCALATED:1] DiskFull (db-1 critical db)'],
  ]
  for (const [name, n, title] of cases) it(name, () => assert.equal(notificationTitle(n), title))
})

describe('generic webhook: Alertmanager payload version 4', () => {
  it('has exactly the v4 fields', () => {
    const p = webhookPayload(note('firing', [diskA, diskB]))
    assert.deepEqual(Object.keys(p).sort(), ['alerts', 'commonAnnotations', 'commonLabels', 'externalURL', 'groupKey', 'groupLabels', 'receiver', 'status', 'truncatedAlerts', 'version'])
    assert.equal(p.version, '4')
    assert.equal(p.status, 'firing')
    assert.equal(p.receiver, 'db-team')
    assert.equal(p.groupKey, '{}/{team="db"}:{alertname="DiskFull"}')
    assert.deepEqual(p.commonLabels, {alertname: 'DiskFull', severity: 'critical', team: 'db'})
    assert.deepEqual(p.commonAnnotations, {})
    assert.equal(p.truncatedAlerts, 0)
    assert.deepEqual(Object.keys(p.alerts[0]!).sort(), ['annotations', 'endsAt', 'fingerprint', 'generatorURL', 'labels', 'startsAt', 'status'])
    assert.equal(p.alerts[0]!.generatorURL, 'https://mon.example.com/alerts/aaaaaaaaaaaaaaaa')
    assert.equal(p.alerts[0]!.endsAt, '0001-01-01T00:00:00Z')
    assert.equal(p.alerts[1]!.status, 'resolved')
  })

  it('max_alerts truncates and counts the rest', () => {
    const p = webhookPayload(note('firing', [diskA, diskB]), 1)
    assert.equal(p.alerts.length, 1)
    assert.equal(p.truncatedAlerts, 1)
  })
})

describe('slack', () => {
  it('one attachment, coloured by severity, with labels and a runbook link; text escaped', () => {
    const p = slackPayload(note('firing', [diskA, diskB]), {max_alerts: 20}) as {text: string; attachments: Array<Record<string, unknown>>}
    const a = p.attachments[0]!
    assert.equal(a.color, '#D50000')
    assert.equal(a.title, '[FIRING:1] DiskFull (critical db)')
    assert.equal(a.title_link, 'https://mon.example.com')
    assert.match(a.text as string, /Disk \/ on db-1 is 97% full/)
    assert.match(a.text as string, /<https:\/\/runbooks\.example\.com\/disk\|Runbook>/)
    assert.match(a.text as string, /`alertname=DiskFull host=db-1 severity=critical team=db`/)
    assert.match(a.text as string, /&lt;is&gt; &amp; fine/)
    assert.deepEqual(a.fields, [
      {title: 'Severity', value: 'critical', short: true},
      {title: 'Receiver', value: 'db-team', short: true},
    ])
  })
  const colors: Array<[string, ReturnType<typeof note>, string]> = [
    ['resolved is green', note('resolved', [diskB]), '#2EB886'],
    ['warning is amber', note('firing', [alert('c', {alertname: 'X', severity: 'warning'})]), '#FFAB00'],
    ['acknowledged is grey', note('acknowledged', [diskA]), '#9E9E9E'],
  ]
  for (const [name, n, color] of colors) it(name, () => assert.equal((slackPayload(n, {max_alerts: 20}) as {attachments: Array<{color: string}>}).attachments[0]!.color, color))
})

describe('teams', () => {
  it('adaptive card for Workflows', () => {
    const p = adaptiveCardPayload(note('firing', [diskA]), {max_alerts: 20}) as {type: string; attachments: Array<{contentType: string; content: Record<string, unknown>}>}
    assert.equal(p.type, 'message')
    assert.equal(p.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive')
    const card = p.attachments[0]!.content
    assert.equal(card.type, 'AdaptiveCard')
    assert.equal(card.version, '1.4')
    assert.deepEqual(card.actions, [
      {type: 'Action.OpenUrl', title: 'Runbook', url: 'https://runbooks.example.com/disk'},
      {type: 'Action.OpenUrl', title: 'Open in mon', url: 'https://mon.example.com'},
    ])
  })
  it('legacy MessageCard', () => {
    const p = messageCardPayload(note('firing', [diskA]), {max_alerts: 20})
    assert.equal(p['@type'], 'MessageCard')
    assert.equal(p.themeColor, 'D50000')
    assert.equal((p.sections as Array<{facts: unknown[]}>)[0]!.facts.length, 4)
  })
})

describe('pagerduty events v2', () => {
  const config = {routing_key: 'R1', url: 'x', send_resolved: true, timeout: '10s', tls_verify: true} as PagerDutyConfig
  it('trigger for firing and resolve for resolved, dedup_key = fingerprint', () => {
    const events = pagerDutyEvents(note('firing', [diskA, diskB]), config)
    assert.deepEqual(
      events.map((e) => [e.event_action, e.dedup_key]),
      [
        ['trigger', 'aaaaaaaaaaaaaaaa'],
        ['resolve', 'bbbbbbbbbbbbbbbb'],
      ],
    )
    const t = events[0]!
    assert.equal(t.routing_key, 'R1')
    assert.equal(t.payload!.severity, 'critical')
    assert.equal(t.payload!.source, 'db-1')
    assert.equal(t.payload!.summary, 'DiskFull: Disk / on db-1 is 97% full')
    assert.deepEqual(t.links, [{href: 'https://runbooks.example.com/disk', text: 'Runbook'}])
    assert.equal(t.client_url, 'https://mon.example.com')
    assert.deepEqual(events[1], {routing_key: 'R1', event_action: 'resolve', dedup_key: 'bbbbbbbbbbbbbbbb'})
  })
  it('acknowledge', () => assert.deepEqual(pagerDutyEvents(note('acknowledged', [diskA]), config), [{routing_key: 'R1', event_action: 'acknowledge', dedup_key: 'aaaaaaaaaaaaaaaa'}]))
  it('severity: label mapped, config wins, default error', () => {
    assert.equal(pagerDutyEvents(note('firing', [alert('x', {severity: 'warn'})]), config)[0]!.payload!.severity, 'warning')
    assert.equal(pagerDutyEvents(note('firing', [alert('x', {})]), config)[0]!.payload!.severity, 'error')
    assert.equal(pagerDutyEvents(note('firing', [diskA]), {...config, severity: 'info'})[0]!.payload!.severity, 'info')
  })
  it('a test triggers and resolves', () => assert.deepEqual(pagerDutyEvents(note('test', [diskA]), config).map((e) => e.event_action), ['trigger', 'resolve']))
})

describe('opsgenie', () => {
  const config = {api_key: 'k', api_url: 'x', send_resolved: true, send_acknowledged: true, timeout: '10s', tls_verify: true, tags: ['prod']} as OpsgenieConfig
  it('create with alias = fingerprint, close by alias', () => {
    const reqs = opsgenieRequests(note('firing', [diskA, diskB]), config)
    assert.equal(reqs[0]!.path, 'v2/alerts')
    assert.equal(reqs[0]!.body.alias, 'aaaaaaaaaaaaaaaa')
    assert.equal(reqs[0]!.body.priority, 'P1')
    assert.deepEqual(reqs[0]!.body.tags, ['prod', 'critical'])
    assert.ok((reqs[0]!.body.message as string).length <= 130)
    assert.equal(reqs[1]!.path, 'v2/alerts/bbbbbbbbbbbbbbbb/close?identifierType=alias')
  })
  it('acknowledge by alias, with who and the comment', () => {
    const [r] = opsgenieRequests(note('acknowledged', [{...diskA, ackedBy: 'alice'}], 'on it'), config)
    assert.equal(r!.path, 'v2/alerts/aaaaaaaaaaaaaaaa/acknowledge?identifierType=alias')
    assert.deepEqual(r!.body, {user: 'alice', source: 'mon', note: 'on it'})
  })
})

describe('ntfy and sms', () => {
  it('ntfy headers by severity and status', () => {
    const m = ntfyMessage(note('firing', [diskA]), {})
    assert.deepEqual(m.headers, {Title: '[FIRING:1] DiskFull (db-1 critical db)', Priority: '5', Tags: 'rotating_light', Click: 'https://runbooks.example.com/disk'})
    assert.equal(ntfyMessage(note('resolved', [diskB]), {tags: ['prod']}).headers.Tags, 'prod,white_check_mark')
    assert.equal(ntfyMessage(note('resolved', [diskB]), {}).headers.Priority, '2')
  })
  const encodings: Array<[string, string]> = [
    ['plain ascii', 'plain ascii'],
    ['Festplatte voll – db-1', `=?UTF-8?B?${Buffer.from('Festplatte voll – db-1').toString('base64')}?=`],
    ['two\nlines', 'two lines'],
  ]
  for (const [input, output] of encodings) it(`header value ${JSON.stringify(input)}`, () => assert.equal(encodeHeaderValue(input), output))
  it('sms text is short', () => {
    assert.equal(smsText(note('firing', [diskA, {...diskB, status: 'firing'}]), 320), '[FIRING:2] DiskFull: Disk / on db-1 is 97% full; +1 more')
    assert.ok(smsText(note('firing', [diskA]), 20).length <= 20)
  })
})

describe('alertmanager forwarding', () => {
  it('firing alerts end after the ttl, resolved ones at their end', () => {
    const now = T0 + 5000
    const [firing, resolved] = postableAlerts(note('firing', [diskA, diskB]), 3_600_000, now)
    assert.equal(firing!.endsAt, new Date(now + 3_600_000).toISOString())
    assert.equal(resolved!.endsAt, diskB.endsAt)
    assert.equal(firing!.generatorURL, 'https://mon.example.com/alerts/aaaaaaaaaaaaaaaa')
    assert.deepEqual(Object.keys(firing!).sort(), ['annotations', 'endsAt', 'generatorURL', 'labels', 'startsAt'])
  })
})

describe('backoff and Retry-After', () => {
  const cases: Array<[number, number, number]> = [
    // failures, random, expected delay (base 10s, cap 15m)
    [1, 0, 5_000],
    [1, 1, 10_000],
    [2, 0.5, 15_000],
    [4, 1, 80_000],
    [20, 0, 450_000],
    [20, 1, 900_000],
  ]
  for (const [failures, random, expected] of cases) it(`failure ${failures}, jitter ${random}`, () => assert.equal(nextDelay(senderRetryPolicy({backoffMs: 10_000, maxBackoffMs: 900_000, maxAttempts: 10}), failures, () => random), expected))

  const retryAfter: Array<[string | undefined, number | undefined]> = [
    ['120', 120_000],
    ['1.5', 1500],
    [new Date(T0 + 30_000).toUTCString(), 30_000],
    ['soon', undefined],
    [undefined, undefined],
  ]
  for (const [value, ms] of retryAfter) it(`Retry-After ${value}`, () => assert.equal(parseRetryAfter(value, T0), ms))
})
