/**
 * `mon notify routes|test|outbox` as a user runs them (the real bin/run.js, no TTY), against a temp
 * config whose receivers post to a loopback server.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {stringify} from 'yaml'
import {NOTIFY_MIGRATIONS} from '../../src/core/notify/migrations.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {Outbox} from '../../src/core/notify/deliver/outbox.js'
import {openStateDb} from '../../src/core/state/db.js'
import {startCapture, type CaptureServer} from '../helpers/capture.js'
import {runMon} from '../helpers/cli.js'
import {freePort, tempDir} from '../helpers/servers.js'

const SECRET = 'tok-5up3r-s3cr3t-value'

describe('mon notify', () => {
  const tmp = tempDir('mon-notify-cli-')
  let server: CaptureServer
  let config: string
  let env: NodeJS.ProcessEnv
  before(async () => {
    server = await startCapture()
    const closed = await freePort()
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(
      config,
      stringify({
        data_dir: join(tmp.dir, 'data'),
        notify: {
          receivers: [
            {name: 'team-slack', webhook_configs: [{url: `${server.url}/team`, bearer_token: '${HOOK_TOKEN}'}]},
            {name: 'db-pager', webhook_configs: [{url: `${server.url}/db`}]},
            {name: 'broken', webhook_configs: [{url: '${BROKEN_URL}'}]},
          ],
          route: {
            receiver: 'team-slack',
            group_by: ['alertname'],
            routes: [
              {matchers: ['team="db"'], routes: [{matchers: ['severity="critical"'], receiver: 'db-pager', continue: true, mute_time_intervals: ['sundays']}, {matchers: ['severity=~"critical|warning"']}]},
            ],
          },
          time_intervals: [{name: 'sundays', time_intervals: [{weekdays: ['sunday']}]}],
        },
      }),
    )
    env = {MON_CONFIG: config, HOOK_TOKEN: SECRET, BROKEN_URL: `http://127.0.0.1:${closed}/${SECRET}`}
  })
  after(async () => {
    await server.close()
    tmp.cleanup()
  })

  it('routes --labels: the receivers a label set reaches (JSON)', async () => {
    const r = await runMon(['notify', 'routes', '--labels', 'severity=critical,team=db', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {receivers: string[]; routes: Array<{id: string; groupKey: string; channels: string[]}>}
    assert.deepEqual(out.receivers, ['db-pager', 'team-slack'])
    assert.deepEqual(
      out.routes.map((x) => [x.id, x.groupKey, x.channels]),
      [
        ['0.0.0', '{}/{team="db"}/{severity="critical"}:{}', ['webhook[0]']],
        ['0.0.1', '{}/{team="db"}/{severity=~"critical|warning"}:{}', ['webhook[0]']],
      ],
    )
  })

  it('routes --labels: text, mute shown at --at, verification', async () => {
    const r = await runMon(['notify', 'routes', '-l', 'severity=critical,team=db', '--at', '2026-03-01T12:00:00Z'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^db-pager,team-slack$/m)
    assert.match(r.stdout, /muted now: mute_time_intervals: sundays/)
    const ok = await runMon(['notify', 'routes', '-l', 'severity=warning,team=db', '--verify-receivers', 'team-slack'], {env})
    assert.equal(ok.code, 0, ok.stderr)
    const bad = await runMon(['notify', 'routes', '-l', 'severity=warning,team=db', '--verify-receivers', 'db-pager'], {env})
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /verification failed: expected db-pager, got team-slack/)
  })

  it('routes without labels prints the tree', async () => {
    const r = await runMon(['notify', 'routes'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^0\s+receiver=team-slack\s+group_by=\[alertname\]/m)
    assert.match(r.stdout, /0\.0\.0\s+\{severity="critical"\}\s+receiver=db-pager .*continue\s+mute=\[sundays\]/)
  })

  it('test <receiver> delivers a test alert and reports each channel', async () => {
    server.reset()
    const r = await runMon(['notify', 'test', 'team-slack', '--labels', 'severity=critical', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {receiver: string; channels: Array<{channel: string; ok: boolean}>}
    assert.deepEqual(out.channels.map((c) => [c.channel, c.ok]), [['webhook[0]', true]])
    assert.equal(server.requests.length, 1)
    assert.equal(server.requests[0]!.headers.authorization, `Bearer ${SECRET}`)
    const body = server.json<{version: string; alerts: Array<{labels: Record<string, string>}>}>(server.requests[0]!)
    assert.equal(body.version, '4')
    assert.deepEqual(body.alerts[0]!.labels, {alertname: 'MonTestNotification', severity: 'critical'})
  })

  it('test: a failing channel exits 1 and the error hides the secret', async () => {
    const r = await runMon(['notify', 'test', 'broken'], {env})
    assert.equal(r.code, 1)
    assert.match(r.stdout, /FAIL\s+broken\/webhook\[0\]\s+POST http:\/\/127\.0\.0\.1:\d+\/\*\*\*: connection refused/)
    assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET))
  })

  it('test: an unknown receiver is a usage error with a suggestion', async () => {
    const r = await runMon(['notify', 'test', 'db-pagr'], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /error: no receiver named 'db-pagr' in notify.receivers\nhint: did you mean 'db-pager'\?/)
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace')
  })

  it('outbox lists dead notifications; retry --send delivers; drop gives up', async () => {
    const db = openStateDb(join(tmp.dir, 'data'), NOTIFY_MIGRATIONS)
    const outbox = new Outbox(db)
    const n = buildNotification({
      kind: 'firing',
      receiver: 'db-pager',
      groupKey: '{}:{}',
      groupLabels: {},
      alerts: [{status: 'firing', labels: {alertname: 'DiskFull'}, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', fingerprint: 'abcabcabcabcabca', value: null}],
      now: Date.now(),
    })
    const other = buildNotification({...n, kind: 'firing', receiver: 'db-pager', groupKey: '{}:{x}', groupLabels: {}, alerts: n.alerts, now: Date.now()})
    outbox.enqueue([{notification: n, channel: 'webhook[0]', channelType: 'webhook'}, {notification: other, channel: 'webhook[0]', channelType: 'webhook'}], Date.now())
    for (const row of outbox.claimDue(Date.now(), {limit: 10, leaseMs: 60_000})) outbox.markDead(row, Date.now(), {error: 'HTTP 404: gone', durationMs: 1})
    db.close()

    const list = await runMon(['notify', 'outbox', '--json'], {env})
    assert.equal(list.code, 0, list.stderr)
    const listed = JSON.parse(list.stdout) as {counts: {dead: number}; items: Array<{id: string; status: string; lastError: string}>}
    assert.equal(listed.counts.dead, 2)
    assert.deepEqual(listed.items.map((i) => [i.status, i.lastError]), [['dead', 'HTTP 404: gone'], ['dead', 'HTTP 404: gone']])

    const text = await runMon(['notify', 'outbox', '--status', 'dead'], {env})
    assert.match(text.stdout, /ID\s+STATUS\s+KIND\s+RECEIVER\/CHANNEL\s+TRIES/)
    assert.match(text.stdout, new RegExp(`^${n.id.slice(0, 8)}\\s+dead\\s+firing\\s+db-pager/webhook\\[0\\]\\s+1`, 'm'))

    server.reset()
    const retry = await runMon(['notify', 'outbox', 'retry', n.id.slice(0, 8), '--send'], {env})
    assert.equal(retry.code, 0, retry.stderr + retry.stdout)
    assert.match(retry.stdout, /1 notification\(s\) marked for retry\ndelivered 1, will retry 0, dead 0/)
    assert.equal(server.at('/db').length, 1)

    const drop = await runMon(['notify', 'outbox', 'drop', '--dead', '--json'], {env})
    assert.deepEqual(JSON.parse(drop.stdout), {dropped: 1})
    const after = JSON.parse((await runMon(['notify', 'outbox', '--status', 'all', '--json'], {env})).stdout) as {counts: Record<string, number>}
    assert.deepEqual(after.counts, {pending: 0, sending: 0, delivered: 1, dead: 0, dropped: 1})

    const noArgs = await runMon(['notify', 'outbox', 'retry'], {env})
    assert.equal(noArgs.code, 2)
    assert.match(noArgs.stderr, /name the notifications to retry, or give --dead/)
  })

  it('a literal credential in the config is refused at its line, not printed', async () => {
    const bad = join(tmp.dir, 'bad.yaml')
    writeFileSync(bad, `notify:\n  receivers:\n    - name: x\n      pagerduty_configs:\n        - routing_key: R0UT1NG-L1TERAL-KEY\n  route: {receiver: x}\n`)
    const r = await runMon(['notify', 'routes', '--config', bad])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bad\.yaml:5:24: notify\.receivers\[0\]\.pagerduty_configs\[0\]\.routing_key: a credential is written into the config file/)
    assert.ok(!r.stderr.includes('R0UT1NG-L1TERAL-KEY'))
  })

  it('config show redacts channel secrets', async () => {
    const r = await runMon(['config', 'show'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.ok(!r.stdout.includes(SECRET), 'token shown')
    assert.match(r.stdout, /bearer_token: "\*\*\*"/)
    assert.match(r.stdout, /url: "\*\*\*"/)
  })

  it('every notify command has help with examples', async () => {
    for (const cmd of [['notify', 'test'], ['notify', 'routes'], ['notify', 'outbox'], ['notify', 'outbox', 'retry'], ['notify', 'outbox', 'drop']]) {
      const r = await runMon([...cmd, '--help'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /EXAMPLES/, cmd.join(' '))
      assert.match(r.stdout, new RegExp(`\\$ mon ${cmd.join(' ')}`), cmd.join(' '))
    }
  })
})
