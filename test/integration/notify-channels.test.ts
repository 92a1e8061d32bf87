/**
 * Every HTTP channel posts to a real loopback server that checks the request: path, headers,
 * authentication and payload shape of Slack, Teams, the generic webhook, PagerDuty, Opsgenie,
 * Twilio and ntfy; and how HTTP failures are sorted into retry / retry-later / permanent.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import getTLSOptions from 'smtp-server/lib/tls-options.js'
import {stringify} from 'yaml'
import {parseConfigText} from '../../src/core/config/parse.js'
import {secretValues} from '../../src/core/config/redact.js'
import {memoryThreadStore, type ThreadStore} from '../../src/core/notify/channels/common.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {compileNotify} from '../../src/core/notify/notifier.js'
import {PermanentDeliveryError, RetryLaterError, type Channel, type NotificationAlert, type NotificationKind} from '../../src/core/notify/types.js'
import {startCapture, type CaptureServer} from '../helpers/capture.js'
import {freePort} from '../helpers/servers.js'

const T0 = Date.parse('2026-03-02T10:00:00Z')
const signal = new AbortController().signal

const firing: NotificationAlert = {
  status: 'firing',
  labels: {alertname: 'DiskFull', host: 'db-1', severity: 'critical', team: 'db'},
  annotations: {summary: 'Disk / on db-1 is 97% full', runbook_url: 'https://runbooks.example.com/disk'},
  startsAt: new Date(T0).toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  fingerprint: 'aaaaaaaaaaaaaaaa',
  value: 97,
}
const resolved: NotificationAlert = {...firing, status: 'resolved', labels: {...firing.labels, host: 'db-2'}, fingerprint: 'bbbbbbbbbbbbbbbb', endsAt: new Date(T0 + 60_000).toISOString()}

function note(kind: NotificationKind, alerts: NotificationAlert[], message?: string) {
  return buildNotification({kind, receiver: 'r', groupKey: '{}:{alertname="DiskFull"}', groupLabels: {alertname: 'DiskFull'}, alerts, now: T0, message})
}

/** A channel built from config exactly as mon builds it (schema defaults, interpolation, secrets). */
function channel(type: string, config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, threads: ThreadStore = memoryThreadStore()): Channel {
  const text = stringify({notify: {receivers: [{name: 'r', [`${type}_configs`]: [config]}], route: {receiver: 'r'}}})
  const loaded = parseConfigText(text, 'mon.yaml', {HOME: '/tmp', ...env})
  return compileNotify(loaded.config.notify, {threads, secrets: secretValues(loaded)}).receivers.get('r')![0]!.channel()
}

let server: CaptureServer
before(async () => {
  server = await startCapture()
})
after(async () => {
  await server.close()
})

describe('slack', () => {
  it('incoming webhook: attachments with colour, labels and runbook', async () => {
    server.reset()
    const ch = channel('slack', {webhook_url: '${SLACK_URL}'}, {SLACK_URL: `${server.url}/services/T000/B000/XXXX`})
    await ch.send(note('firing', [firing]), signal)
    const [req] = server.requests
    assert.equal(req!.method, 'POST')
    assert.equal(req!.url, '/services/T000/B000/XXXX')
    assert.match(String(req!.headers['content-type']), /^application\/json/)
    const body = server.json<{text: string; attachments: Array<Record<string, unknown>>}>(req!)
    assert.equal(body.text, '[FIRING:1] DiskFull (db-1 critical db)')
    assert.equal(body.attachments[0]!.color, '#D50000')
    assert.match(body.attachments[0]!.text as string, /<https:\/\/runbooks\.example\.com\/disk\|Runbook>/)
  })

  it('bot token: acknowledgement and resolution reply in the thread of the first message', async () => {
    server.reset()
    let ts = 100
    server.respond((req) => (req.url === '/api/chat.postMessage' ? {body: {ok: true, ts: `${ts++}.000100`, channel: 'C0123'}} : undefined))
    const threads = memoryThreadStore()
    const ch = channel('slack', {bot_token: '${SLACK_BOT}', channel: '#db', api_url: `${server.url}/api`}, {SLACK_BOT: 'xoxb-secret-token'}, threads)
    await ch.send(note('firing', [firing]), signal)
    await ch.send(note('acknowledged', [{...firing, ackedBy: 'alice'}], 'looking'), signal)
    await ch.send(note('resolved', [{...firing, status: 'resolved'}]), signal)
    await ch.send(note('firing', [firing]), signal)
    const bodies = server.requests.map((r) => server.json<Record<string, unknown>>(r))
    assert.ok(server.requests.every((r) => r.headers.authorization === 'Bearer xoxb-secret-token'))
    assert.equal(bodies[0]!.channel, '#db')
    assert.equal(bodies[0]!.thread_ts, undefined)
    assert.equal(bodies[1]!.thread_ts, '100.000100', 'ack replies in the thread')
    assert.equal(bodies[1]!.channel, 'C0123')
    assert.match(JSON.stringify(bodies[1]), /Acknowledged by alice: looking/)
    assert.equal(bodies[2]!.thread_ts, '100.000100', 'resolution replies in the thread')
    assert.equal(bodies[2]!.reply_broadcast, true)
    assert.equal(bodies[3]!.thread_ts, undefined, 'after the group resolved, a new firing starts a new thread')
    server.respond(() => undefined)
  })

  it('bot token: API errors', async () => {
    const ch = channel('slack', {bot_token: '${SLACK_BOT}', channel: '#db', api_url: `${server.url}/api`}, {SLACK_BOT: 'xoxb-secret-token'})
    server.respond(() => ({body: {ok: false, error: 'channel_not_found'}}))
    await assert.rejects(ch.send(note('firing', [firing]), signal), (e) => e instanceof PermanentDeliveryError && /channel_not_found/.test(e.message))
    server.respond(() => ({status: 429, headers: {'Retry-After': '30'}, body: {ok: false, error: 'ratelimited'}}))
    await assert.rejects(ch.send(note('firing', [firing]), signal), (e) => e instanceof RetryLaterError && e.retryAfterMs === 30_000)
    server.respond(() => undefined)
  })
})

describe('teams', () => {
  it('adaptive card to a Workflows webhook', async () => {
    server.reset()
    await channel('teams', {webhook_url: '${TEAMS}'}, {TEAMS: `${server.url}/workflows/abc`}).send(note('firing', [firing]), signal)
    const body = server.json<{type: string; attachments: Array<{contentType: string; content: {type: string; body: unknown[]}}>}>(server.requests[0]!)
    assert.equal(body.type, 'message')
    assert.equal(body.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive')
    assert.equal(body.attachments[0]!.content.type, 'AdaptiveCard')
  })
  it('MessageCard to a legacy connector', async () => {
    server.reset()
    await channel('teams', {webhook_url: '${TEAMS}', format: 'messagecard'}, {TEAMS: `${server.url}/webhookb2/x`}).send(note('resolved', [resolved]), signal)
    const body = server.json(server.requests[0]!)
    assert.equal(body['@type'], 'MessageCard')
    assert.equal(body.themeColor, '2EB886')
  })
})

describe('generic webhook', () => {
  it('posts the Alertmanager v4 payload with auth and the notification id', async () => {
    server.reset()
    const n = note('firing', [firing, resolved])
    await channel('webhook', {url: `${server.url}/hook`, bearer_token: '${TOKEN}', headers: {'X-Team': 'db'}}, {TOKEN: 'hook-token-1'}).send(n, signal)
    const [req] = server.requests
    assert.equal(req!.headers.authorization, 'Bearer hook-token-1')
    assert.equal(req!.headers['x-team'], 'db')
    assert.equal(req!.headers['x-mon-notification-id'], n.id)
    const body = server.json(req!)
    assert.deepEqual(
      {version: body.version, status: body.status, receiver: body.receiver, groupKey: body.groupKey, truncatedAlerts: body.truncatedAlerts},
      {version: '4', status: 'firing', receiver: 'r', groupKey: '{}:{alertname="DiskFull"}', truncatedAlerts: 0},
    )
    assert.deepEqual(
      (body.alerts as Array<{status: string; fingerprint: string}>).map((a) => [a.status, a.fingerprint]),
      [
        ['firing', 'aaaaaaaaaaaaaaaa'],
        ['resolved', 'bbbbbbbbbbbbbbbb'],
      ],
    )
  })
})

describe('pagerduty', () => {
  it('trigger, acknowledge and resolve with dedup_key = fingerprint', async () => {
    server.reset()
    server.respond(() => ({status: 202, body: {status: 'success', message: 'Event processed', dedup_key: 'x'}}))
    const ch = channel('pagerduty', {routing_key: '${PD}', url: `${server.url}/v2/enqueue`}, {PD: 'R0UTINGKEY0000000000000000000000'})
    await ch.send(note('firing', [firing]), signal)
    await ch.send(note('acknowledged', [{...firing, ackedBy: 'alice'}]), signal)
    await ch.send(note('resolved', [{...firing, status: 'resolved'}]), signal)
    const events = server.at('/v2/enqueue').map((r) => server.json<{routing_key: string; event_action: string; dedup_key: string; payload?: {summary: string; severity: string; source: string}}>(r))
    assert.deepEqual(
      events.map((e) => [e.event_action, e.dedup_key, e.routing_key]),
      [
        ['trigger', 'aaaaaaaaaaaaaaaa', 'R0UTINGKEY0000000000000000000000'],
        ['acknowledge', 'aaaaaaaaaaaaaaaa', 'R0UTINGKEY0000000000000000000000'],
        ['resolve', 'aaaaaaaaaaaaaaaa', 'R0UTINGKEY0000000000000000000000'],
      ],
    )
    assert.deepEqual({severity: events[0]!.payload!.severity, source: events[0]!.payload!.source}, {severity: 'critical', source: 'db-1'})
    server.respond(() => ({status: 400, body: {status: 'invalid event', message: 'Event object is invalid', errors: ['Length of routing_key is incorrect']}}))
    await assert.rejects(ch.send(note('firing', [firing]), signal), (e) => e instanceof PermanentDeliveryError && /Event object is invalid/.test(e.message) && !e.message.includes('R0UTINGKEY'))
    server.respond(() => undefined)
  })
})

describe('opsgenie', () => {
  it('create, acknowledge and close by alias with a GenieKey', async () => {
    server.reset()
    server.respond(() => ({status: 202, body: {result: 'Request will be processed', took: 0.1, requestId: 'r1'}}))
    const ch = channel('opsgenie', {api_key: '${OG}', api_url: server.url, responders: [{type: 'team', name: 'db'}]}, {OG: 'genie-key-123'})
    await ch.send(note('firing', [firing]), signal)
    await ch.send(note('acknowledged', [{...firing, ackedBy: 'alice'}], 'mine'), signal)
    await ch.send(note('resolved', [{...firing, status: 'resolved'}]), signal)
    assert.deepEqual(
      server.requests.map((r) => r.url),
      ['/v2/alerts', '/v2/alerts/aaaaaaaaaaaaaaaa/acknowledge?identifierType=alias', '/v2/alerts/aaaaaaaaaaaaaaaa/close?identifierType=alias'],
    )
    assert.ok(server.requests.every((r) => r.headers.authorization === 'GenieKey genie-key-123'))
    const create = server.json(server.requests[0]!)
    assert.equal(create.alias, 'aaaaaaaaaaaaaaaa')
    assert.equal(create.priority, 'P1')
    assert.deepEqual(create.responders, [{type: 'team', name: 'db'}])
    assert.deepEqual(server.json(server.requests[1]!), {user: 'alice', source: 'mon', note: 'mine'})
    server.respond(() => undefined)
  })
})

describe('twilio', () => {
  it('one form-encoded message per recipient, basic auth', async () => {
    server.reset()
    server.respond(() => ({status: 201, body: {sid: 'SM1', status: 'queued'}}))
    const sid = 'AC0123456789abcdef0123456789abcdef'
    await channel('twilio', {account_sid: sid, auth_token: '${TW}', from: '+15550001111', to: ['+15552223333', '+15554445555'], api_url: server.url}, {TW: 'twilio-token'}).send(note('firing', [firing]), signal)
    assert.equal(server.requests.length, 2)
    for (const [i, to] of ['+15552223333', '+15554445555'].entries()) {
      const req = server.requests[i]!
      assert.equal(req.url, `/2010-04-01/Accounts/${sid}/Messages.json`)
      assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded')
      assert.equal(Buffer.from(String(req.headers.authorization).replace('Basic ', ''), 'base64').toString(), `${sid}:twilio-token`)
      const form = new URLSearchParams(req.body)
      assert.equal(form.get('To'), to)
      assert.equal(form.get('From'), '+15550001111')
      assert.equal(form.get('Body'), '[FIRING:1] DiskFull: Disk / on db-1 is 97% full')
    }
    server.respond(() => ({status: 400, body: {code: 21211, message: "The 'To' number is not a valid phone number.", status: 400}}))
    await assert.rejects(channel('twilio', {account_sid: sid, auth_token: '${TW}', from: '+1', to: 'x', api_url: server.url}, {TW: 'twilio-token'}).send(note('firing', [firing]), signal), (e) => e instanceof PermanentDeliveryError && /not a valid phone number/.test(e.message))
    server.respond(() => undefined)
  })
})

describe('ntfy', () => {
  it('posts the text to the topic with Title, Priority, Tags and Click', async () => {
    server.reset()
    await channel('ntfy', {url: server.url, topic: 'mon-alerts', token: '${NTFY}'}, {NTFY: 'tk_ntfy'}).send(note('firing', [{...firing, annotations: {...firing.annotations, summary: 'Plattenplatz fast voll – db-1'}}]), signal)
    const [req] = server.requests
    assert.equal(req!.url, '/mon-alerts')
    assert.equal(req!.headers.authorization, 'Bearer tk_ntfy')
    assert.equal(req!.headers.priority, '5')
    assert.equal(req!.headers.tags, 'rotating_light')
    assert.equal(req!.headers.click, 'https://runbooks.example.com/disk')
    assert.equal(req!.headers.title, '[FIRING:1] DiskFull (db-1 critical db)')
    assert.match(req!.body, /Plattenplatz fast voll – db-1/)
  })
})

describe('failures are sorted for the outbox', () => {
  const hook = () => channel('webhook', {url: '${HOOK}'}, {HOOK: `${server.url}/secret-path-token`})
  const cases: Array<[string, Parameters<CaptureServer['respond']>[0], (e: unknown) => boolean]> = [
    ['500: retry', () => ({status: 500, body: 'boom'}), (e) => e instanceof Error && !(e instanceof PermanentDeliveryError) && !(e instanceof RetryLaterError) && /HTTP 500: boom/.test(e.message)],
    ['503 with Retry-After: retry later', () => ({status: 503, headers: {'Retry-After': '7'}}), (e) => e instanceof RetryLaterError && e.retryAfterMs === 7000],
    ['429 without Retry-After: retry', () => ({status: 429}), (e) => e instanceof Error && !(e instanceof PermanentDeliveryError) && !(e instanceof RetryLaterError)],
    ['404: permanent', () => ({status: 404, body: 'no_service'}), (e) => e instanceof PermanentDeliveryError && /HTTP 404: no_service/.test(e.message)],
    ['redirect: permanent', () => ({status: 301, headers: {Location: 'http://elsewhere/'}}), (e) => e instanceof PermanentDeliveryError],
  ]
  for (const [name, responder, check] of cases) {
    it(name, async () => {
      server.respond(responder)
      await assert.rejects(hook().send(note('firing', [firing]), signal), (e) => {
        assert.ok(!(e as Error).message.includes('secret-path-token'), `secret in message: ${(e as Error).message}`)
        return check(e)
      })
      server.respond(() => undefined)
    })
  }

  it('connection refused: retry, without the secret URL', async () => {
    const port = await freePort()
    await assert.rejects(channel('webhook', {url: '${HOOK}'}, {HOOK: `http://127.0.0.1:${port}/secret-path-token`}).send(note('firing', [firing]), signal), (e) => {
      return !(e instanceof PermanentDeliveryError) && /connection refused/.test((e as Error).message) && !(e as Error).message.includes('secret-path-token')
    })
  })

  it('a hung server times out', async () => {
    server.respond(() => ({hang: true}))
    const started = Date.now()
    await assert.rejects(channel('webhook', {url: `${server.url}/x`, timeout: '300ms'}).send(note('firing', [firing]), signal), /no response after 300 ms/)
    assert.ok(Date.now() - started < 5000)
    server.respond(() => undefined)
  })
})

describe('TLS verification is on by default', () => {
  let tls: CaptureServer
  before(async () => {
    const {key, cert} = getTLSOptions() as {key: string; cert: string}
    tls = await startCapture({tls: {key, cert}})
  })
  after(async () => {
    await tls.close()
  })
  it('a self-signed certificate is refused', async () => {
    await assert.rejects(channel('webhook', {url: `${tls.url}/hook`}).send(note('firing', [firing]), signal), /TLS|certificate/)
    assert.equal(tls.requests.length, 0)
  })
  it('tls_verify: false accepts it', async () => {
    await channel('webhook', {url: `${tls.url}/hook`, tls_verify: false}).send(note('firing', [firing]), signal)
    assert.equal(tls.requests.length, 1)
  })
})
