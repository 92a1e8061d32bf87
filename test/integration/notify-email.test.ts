/**
 * Email through a real SMTP server (the `smtp-server` package) on loopback: STARTTLS and
 * authentication, an HTML and a text part, TLS verification on by default (its certificate is
 * self-signed, so the default refuses it), permanent vs transient failures.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {SMTPServer} from 'smtp-server'
import {stringify} from 'yaml'
import {parseConfigText} from '../../src/core/config/parse.js'
import {secretValues} from '../../src/core/config/redact.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {compileNotify} from '../../src/core/notify/notifier.js'
import {PermanentDeliveryError, type Channel, type NotificationAlert} from '../../src/core/notify/types.js'

interface Received {
  from: string
  to: string[]
  raw: string
  user?: string
  secure: boolean
}

async function startSmtp(opts: {starttls: boolean}): Promise<{port: number; received: Received[]; close(): Promise<void>}> {
  const received: Received[] = []
  const server = new SMTPServer({
    // without STARTTLS: a plain server that needs no AUTH
    ...(opts.starttls ? {authMethods: ['PLAIN', 'LOGIN']} : {disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true}),
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'mon' && auth.password === 'smtp-secret-pw') return cb(null, {user: 'mon'})
      return cb(new Error('Invalid username or password'))
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
          secure: session.secure,
        })
        cb()
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.server.address() as {port: number}).port
  return {port, received, close: () => new Promise<void>((r) => server.close(() => r()))}
}

function emailChannel(config: Record<string, unknown>): Channel {
  const text = stringify({notify: {receivers: [{name: 'mail', email_configs: [config]}], route: {receiver: 'mail'}}})
  const loaded = parseConfigText(text, 'mon.yaml', {HOME: '/tmp', SMTP_PASSWORD: 'smtp-secret-pw', BAD_PASSWORD: 'wrong-password'})
  return compileNotify(loaded.config.notify, {secrets: secretValues(loaded)}).receivers.get('mail')![0]!.channel()
}

const alert: NotificationAlert = {
  status: 'firing',
  labels: {alertname: 'DiskFull', host: 'db-1', severity: 'critical'},
  annotations: {summary: 'Disk / on db-1 is 97% full <b>now</b>', runbook_url: 'https://runbooks.example.com/disk'},
  startsAt: '2026-03-02T10:00:00.000Z',
  endsAt: '0001-01-01T00:00:00Z',
  fingerprint: 'aaaaaaaaaaaaaaaa',
  value: 97,
}
const n = buildNotification({kind: 'firing', receiver: 'mail', groupKey: '{}:{alertname="DiskFull"}', groupLabels: {alertname: 'DiskFull'}, alerts: [alert], now: Date.now()})
const signal = new AbortController().signal

describe('email over SMTP with STARTTLS', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>
  before(async () => {
    smtp = await startSmtp({starttls: true})
  })
  after(async () => {
    await smtp.close()
  })
  const base = () => ({to: ['oncall@example.com', 'db@example.com'], from: 'mon@example.com', smarthost: `127.0.0.1:${smtp.port}`, auth_username: 'mon', auth_password: '${SMTP_PASSWORD}'})

  it('refuses the self-signed certificate by default', async () => {
    await assert.rejects(emailChannel(base()).send(n, signal), (e) => !(e instanceof PermanentDeliveryError) && /certificate/i.test((e as Error).message))
    assert.equal(smtp.received.length, 0)
  })

  it('delivers HTML and text over TLS when told to trust the server', async () => {
    await emailChannel({...base(), tls_verify: false}).send(n, signal)
    assert.equal(smtp.received.length, 1)
    const m = smtp.received[0]!
    assert.equal(m.secure, true, 'upgraded with STARTTLS')
    assert.equal(m.user, 'mon')
    assert.equal(m.from, 'mon@example.com')
    assert.deepEqual(m.to, ['oncall@example.com', 'db@example.com'])
    assert.match(m.raw, /^Subject: \[FIRING:1\] DiskFull \(db-1 critical\)/m)
    assert.match(m.raw, new RegExp(`^X-Mon-Notification-Id: ${n.id}`, 'mi'))
    assert.match(m.raw, /Content-Type: text\/plain/)
    assert.match(m.raw, /Content-Type: text\/html/)
    assert.match(m.raw, /&lt;b&gt;now&lt;\/b&gt;/, 'annotations are escaped in HTML')
    assert.match(m.raw, /FIRING: Disk \/ on db-1 is 97% full <b>now<\/b>/, 'text part')
  })

  it('a wrong password is permanent and not echoed', async () => {
    await assert.rejects(emailChannel({...base(), tls_verify: false, auth_password: '${BAD_PASSWORD}'}).send(n, signal), (e) => {
      return e instanceof PermanentDeliveryError && /SMTP/.test(e.message) && !e.message.includes('wrong-password')
    })
  })
})

describe('email when the server offers no STARTTLS', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>
  before(async () => {
    smtp = await startSmtp({starttls: false})
  })
  after(async () => {
    await smtp.close()
  })
  it('require_tls (the default) refuses to send in clear text', async () => {
    await assert.rejects(emailChannel({to: 'a@example.com', from: 'mon@example.com', smarthost: `127.0.0.1:${smtp.port}`}).send(n, signal), /STARTTLS/i)
    assert.equal(smtp.received.length, 0)
  })
  it('require_tls: false sends anyway', async () => {
    await emailChannel({to: 'a@example.com', from: 'mon@example.com', smarthost: `127.0.0.1:${smtp.port}`, require_tls: false}).send(n, signal)
    assert.equal(smtp.received.length, 1)
    assert.equal(smtp.received[0]!.secure, false)
  })
})
