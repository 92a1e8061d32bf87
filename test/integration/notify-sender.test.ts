/**
 * The sender's retry policy against a real loopback receiver and a ManualClock: backoff with
 * jitter, Retry-After, dead at once for permanent failures, dead after max_attempts, and a channel
 * that is no longer configured.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {stringify} from 'yaml'
import {ManualClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {NOTIFY_MIGRATIONS} from '../../src/core/notify/migrations.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {compileNotify} from '../../src/core/notify/notifier.js'
import {Outbox} from '../../src/core/notify/deliver/outbox.js'
import {Sender} from '../../src/core/notify/deliver/sender.js'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {startCapture, type CaptureServer, type Reply} from '../helpers/capture.js'
import {tempDir} from '../helpers/servers.js'

const T0 = Date.parse('2026-03-02T10:00:00Z')

describe('sender retry policy', () => {
  const tmp = tempDir('mon-sender-')
  let server: CaptureServer
  let db: StateDb
  let replies: Reply[] = []
  before(async () => {
    server = await startCapture({responder: () => replies.shift()})
    db = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
  })
  after(async () => {
    db.close()
    await server.close()
    tmp.cleanup()
  })

  function setup(name: string) {
    const text = stringify({
      notify: {
        receivers: [{name: 'r', webhook_configs: [{url: `${server.url}/${name}`}]}],
        route: {receiver: 'r'},
        outbox: {max_attempts: 3, backoff: '10s', max_backoff: '1m'},
      },
    })
    const notify = compileNotify(parseConfigText(text, 'mon.yaml', {HOME: '/tmp'}).config.notify)
    const clock = new ManualClock(T0)
    const outbox = new Outbox(db, {owner: name})
    const sender = new Sender({outbox, resolveChannel: (r, k) => notify.channel(r, k)?.channel(), clock, policy: notify.policy, random: () => 0.5})
    const n = buildNotification({
      kind: 'firing',
      receiver: 'r',
      groupKey: `{}:{test="${name}"}`,
      groupLabels: {},
      alerts: [{status: 'firing', labels: {alertname: name}, annotations: {}, startsAt: '', endsAt: '', fingerprint: name, value: null}],
      now: T0,
    })
    const [id] = outbox.enqueue([{notification: n, channel: 'webhook[0]', channelType: 'webhook'}], T0)
    const item = () => outbox.list({status: 'all', limit: 1000}).find((i) => i.id === id)!
    return {clock, outbox, sender, item}
  }

  it('a 500 is retried with backoff (10s, then 20s, with jitter)', async () => {
    const {clock, sender, item} = setup('backoff')
    replies = [{status: 500}, {status: 500}, {status: 200}]
    assert.deepEqual(await sender.flush(T0), {delivered: 0, retried: 1, dead: 0})
    assert.equal(item().nextAttemptAt, T0 + 7_500) // 10s · (½ + ½·0.5)
    assert.deepEqual(await sender.flush(T0 + 7_499), {delivered: 0, retried: 0, dead: 0}, 'not before its time')
    clock.set(T0 + 7_500)
    assert.deepEqual(await sender.flush(T0 + 7_500), {delivered: 0, retried: 1, dead: 0})
    assert.equal(item().nextAttemptAt, T0 + 7_500 + 15_000) // 20s · 0.75
    clock.set(T0 + 22_500)
    assert.deepEqual(await sender.flush(T0 + 22_500), {delivered: 1, retried: 0, dead: 0})
    assert.equal(item().status, 'delivered')
    assert.deepEqual(item().attempts.map((a) => a.result), ['retry', 'retry', 'delivered'])
  })

  it('Retry-After decides when to come back', async () => {
    const {sender, item} = setup('retry-after')
    replies = [{status: 429, headers: {'Retry-After': '42'}}]
    await sender.flush(T0)
    assert.equal(item().nextAttemptAt, T0 + 42_000)
    assert.match(item().lastError!, /HTTP 429/)
  })

  it('a permanent failure is dead at once', async () => {
    const {sender, item} = setup('permanent')
    replies = [{status: 404, body: 'no_service'}]
    assert.deepEqual(await sender.flush(T0), {delivered: 0, retried: 0, dead: 1})
    assert.equal(item().status, 'dead')
    assert.match(item().lastError!, /HTTP 404: no_service/)
  })

  it('max_attempts failures make it dead', async () => {
    const {clock, sender, item} = setup('exhausted')
    replies = [{status: 502}, {status: 502}, {status: 502}]
    for (let i = 0; i < 3; i++) {
      clock.set(item().nextAttemptAt ?? clock.now())
      await sender.flush(clock.now())
    }
    assert.equal(item().status, 'dead')
    assert.equal(item().attempts.length, 3)
  })

  it('a channel removed from the config is dead with a reason', async () => {
    const {outbox, item} = setup('removed')
    const sender = new Sender({outbox, resolveChannel: () => undefined, clock: new ManualClock(T0), policy: {maxAttempts: 3, backoffMs: 1000, maxBackoffMs: 1000, leaseMs: 60_000, concurrency: 4}})
    await sender.flush(T0)
    assert.equal(item().status, 'dead')
    assert.match(item().lastError!, /receiver 'r' has no channel webhook\[0\] in the current config/)
  })
})
