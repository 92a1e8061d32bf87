/**
 * Notification templates end to end: a config with named templates (inline and in a file) and
 * per-receiver / per-channel fields, loaded and compiled as mon does, its notifications going
 * through the outbox and the sender to a real loopback Slack webhook, generic webhook and SMTP
 * server; a template that fails at send time still delivers (with mon's words); and the CLI:
 * `mon config validate` / `mon rules check` refuse a bad template at file:line:col with exit 2,
 * `mon notify test --preview` prints the rendered words and sends nothing.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {SMTPServer} from 'smtp-server'
import {ManualClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {Outbox} from '../../src/core/notify/deliver/outbox.js'
import {Sender} from '../../src/core/notify/deliver/sender.js'
import {notificationTitle} from '../../src/core/notify/deliver/render.js'
import {NOTIFY_MIGRATIONS} from '../../src/core/notify/migrations.js'
import {compileNotify} from '../../src/core/notify/notifier.js'
import type {NotificationAlert} from '../../src/core/notify/types.js'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {startCapture, type CaptureServer} from '../helpers/capture.js'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

const T0 = Date.parse('2026-03-02T10:00:00Z')

async function startSmtp(): Promise<{port: number; received: string[]; close(): Promise<void>}> {
  const received: string[] = []
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, _session, cb) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'))
        cb()
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {port: (server.server.address() as {port: number}).port, received, close: () => new Promise<void>((r) => server.close(() => r()))}
}

const alerts: NotificationAlert[] = [
  {status: 'firing', labels: {alertname: 'DiskFull', host: 'db-1', severity: 'critical'}, annotations: {summary: 'Disk / on db-1 is 97% full'}, startsAt: new Date(T0).toISOString(), endsAt: '0001-01-01T00:00:00Z', fingerprint: 'aaaaaaaaaaaaaaaa', value: 97},
  {status: 'resolved', labels: {alertname: 'DiskFull', host: 'db-2', severity: 'critical'}, annotations: {summary: 'Disk / on db-2 <is> fine'}, startsAt: new Date(T0).toISOString(), endsAt: new Date(T0 + 60_000).toISOString(), fingerprint: 'bbbbbbbbbbbbbbbb', value: 40},
]

describe('notification templates through the outbox to real receivers', () => {
  const tmp = tempDir('mon-templates-')
  let http: CaptureServer
  let smtp: Awaited<ReturnType<typeof startSmtp>>
  let db: StateDb
  let configText: string
  before(async () => {
    http = await startCapture()
    smtp = await startSmtp()
    db = openStateDb(tmp.dir, NOTIFY_MIGRATIONS)
    writeFileSync(
      join(tmp.dir, 'team.tmpl'),
      [
        '{{ define "team.title" }}[{{ .Status | toUpper }}{{ if .Alerts.Firing }}:{{ len .Alerts.Firing }}{{ end }}] {{ .GroupLabels.alertname }}{{ end }}',
        '{{ define "team.alert" -}}',
        '{{ if eq .Status "firing" }}🔥{{ else }}✅{{ end }} {{ .Labels.host }}: {{ .Annotations.summary }} ({{ .Value | humanize }}%)',
        '{{- end }}',
        '',
      ].join('\n'),
    )
    configText = [
      'notify:',
      '  templates:',
      '    files: [team.tmpl]',
      '    define:',
      '      loop: \'{{ range .Alerts }}{{ template "loop" $ }}{{ end }}\'',
      '      team.text: |-',
      '        {{ range .Alerts }}{{ template "team.alert" . }}',
      '        {{ end }}Labels: {{ join ", " .CommonLabels.Names }}',
      '  receivers:',
      '    - name: team',
      '      title: \'{{ template "team.title" . }}\'',
      '      text: \'{{ template "team.text" . }}\'',
      '      slack_configs:',
      '        - webhook_url: ${SLACK_URL}',
      '          text: \'{{ .Alerts.Firing | len }} firing on {{ range $i, $a := .Alerts.Firing }}{{ if $i }}, {{ end }}{{ $a.Labels.host }}{{ end }}\'',
      '      webhook_configs:',
      `        - url: ${http.url}/hook`,
      '      email_configs:',
      `        - {to: oncall@example.com, from: mon@example.com, smarthost: "127.0.0.1:${smtp.port}", require_tls: false, html: '<h1>{{ template "team.title" . }}</h1>{{ range .Alerts }}<p>{{ .Annotations.summary }}</p>{{ end }}'}`,
      '    - name: broken',
      '      text: \'{{ range .Alerts }}{{ template "loop" $ }}{{ end }}\'',
      '      webhook_configs:',
      `        - url: ${http.url}/broken`,
      '  route: {receiver: team}',
      '',
    ].join('\n')
  })
  after(async () => {
    db.close()
    await http.close()
    await smtp.close()
    tmp.cleanup()
  })

  it('delivers each channel its rendered words', async () => {
    const loaded = parseConfigText(configText, join(tmp.dir, 'mon.yaml'), {HOME: '/tmp', SLACK_URL: `${http.url}/slack`})
    const notify = compileNotify(loaded.config.notify)
    assert.deepEqual(notify.templates.problems, [])
    const clock = new ManualClock(T0)
    const outbox = new Outbox(db, {owner: 'templates'})
    const sender = new Sender({outbox, resolveChannel: (r, k) => notify.channel(r, k)?.channel(), clock, policy: notify.policy, random: () => 0.5})
    // one notification per channel, as the dispatcher makes them
    const n = () => buildNotification({kind: 'firing', receiver: 'team', groupKey: '{}:{alertname="DiskFull"}', groupLabels: {alertname: 'DiskFull'}, alerts, now: T0, externalURL: 'https://mon.example.com'})
    outbox.enqueue(
      notify.receivers.get('team')!.map((c) => ({notification: n(), channel: c.key, channelType: c.type})),
      T0,
    )
    assert.deepEqual(await sender.flush(T0), {delivered: 3, retried: 0, dead: 0})

    const slack = http.json<{text: string; attachments: Array<{title: string; text: string}>}>(http.at('/slack')[0]!)
    assert.equal(slack.text, '[FIRING:1] DiskFull')
    assert.equal(slack.attachments[0]!.title, '[FIRING:1] DiskFull')
    assert.equal(slack.attachments[0]!.text, '1 firing on db-1')

    const hook = http.json<{version: string; text: string; alerts: unknown[]}>(http.at('/hook')[0]!)
    assert.equal(hook.version, '4')
    assert.equal(hook.alerts.length, 2)
    assert.equal(hook.text, '🔥 db-1: Disk / on db-1 is 97% full (97%)\n✅ db-2: Disk / on db-2 <is> fine (40%)\nLabels: alertname, severity')

    assert.equal(smtp.received.length, 1)
    const mail = smtp.received[0]!
    assert.match(mail, /^Subject: \[FIRING:1\] DiskFull\r$/m)
    const unfolded = mail.replace(/=\r\n/g, '').replace(/=3D/g, '=')
    assert.ok(unfolded.includes('<h1>[FIRING:1] DiskFull</h1><p>Disk / on db-1 is 97% full</p><p>Disk / on db-2 &lt;is&gt; fine</p>'), unfolded)
    assert.match(unfolded, /^=F0=9F=94=A5 db-1: Disk \/ on db-1 is 97% full \(97%\)\r\n=E2=9C=85 db-2: Disk \/ on db-2 <is> fine \(40%\)\r\nLabels: alertname, severity\r$/m)
  })

  it('a template that fails at send time delivers mon\'s words and records the error', async () => {
    const loaded = parseConfigText(configText, join(tmp.dir, 'mon.yaml'), {HOME: '/tmp', SLACK_URL: `${http.url}/slack`})
    const notify = compileNotify(loaded.config.notify)
    const outbox = new Outbox(db, {owner: 'broken'})
    const sender = new Sender({outbox, resolveChannel: (r, k) => notify.channel(r, k)?.channel(), clock: new ManualClock(T0), policy: notify.policy, random: () => 0.5})
    const n = buildNotification({kind: 'firing', receiver: 'broken', groupKey: '{}:{x="broken"}', groupLabels: {alertname: 'DiskFull'}, alerts, now: T0})
    outbox.enqueue([{notification: n, channel: 'webhook[0]', channelType: 'webhook'}], T0)
    assert.deepEqual(await sender.flush(T0), {delivered: 1, retried: 0, dead: 0})
    const body = http.json<{text: string}>(http.at('/broken')[0]!)
    assert.match(body.text, /^FIRING: Disk \/ on db-1 is 97% full\n/)
    assert.match(notify.templates.renderErrors.at(-1)!, /^broken\/webhook\[0\] text: templates call each other more than 32 deep$/)
    assert.equal(notificationTitle(n), '[FIRING:1] DiskFull (critical)')
  })
})

describe('the CLI: validation and --preview', () => {
  const tmp = tempDir('mon-templates-cli-')
  let http: CaptureServer
  before(async () => {
    http = await startCapture()
  })
  after(async () => {
    await http.close()
    tmp.cleanup()
  })

  const write = (name: string, lines: string[]) => {
    const file = join(tmp.dir, name)
    writeFileSync(file, lines.join('\n') + '\n')
    return file
  }

  it('mon config validate and mon rules check: a bad template is one error at file:line:col, exit 2', async () => {
    const file = write('bad.yaml', [
      'rules: {files: [rules.yaml]}',
      'notify:',
      '  receivers:',
      '    - name: team',
      `      webhook_configs: [{url: "http://127.0.0.1:9/x", text: "{{ range .Alerts }}{{ .Labels.host }}{{ end }} {{ .CommonLabel.team }}"}]`,
      '  route: {receiver: team}',
    ])
    const v = await runMon(['config', 'validate', file], {cwd: tmp.dir})
    assert.equal(v.code, 2, v.stderr)
    assert.equal(v.stderr.trim(), 'error: bad.yaml:5:112: notify.receivers[0].webhook_configs[0].text: template: unknown field .CommonLabel of the notification\nhint: did you mean .CommonLabels?')
    const json = await runMon(['config', 'validate', file, '--json'], {cwd: tmp.dir})
    assert.equal(json.code, 2)
    assert.deepEqual(JSON.parse(json.stdout).problems, [{file: 'bad.yaml', line: 5, col: 112, message: 'notify.receivers[0].webhook_configs[0].text: template: unknown field .CommonLabel of the notification', hint: 'did you mean .CommonLabels?'}])
    const r = await runMon(['rules', 'check', '--config', file], {cwd: tmp.dir})
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /bad\.yaml:5:112: notify\.receivers\[0\]\.webhook_configs\[0\]\.text: template: unknown field \.CommonLabel/)

    const undef = write('undef.yaml', ['notify:', '  receivers:', '    - name: team', '      title: \'{{ template "nope" . }}\'', '      slack_configs:', '        - webhook_url: ${SLACK_URL}', '  route: {receiver: team}'])
    const u = await runMon(['config', 'validate', undef], {cwd: tmp.dir, env: {SLACK_URL: 'http://127.0.0.1:9/s'}})
    assert.equal(u.code, 2)
    assert.match(u.stderr, /^error: undef\.yaml:4:27: notify\.receivers\[0\]\.title: template: no template named "nope"/)
  })

  it('mon notify test --preview prints the rendered words and sends nothing', async () => {
    const file = write('ok.yaml', [
      `data_dir: ${join(tmp.dir, 'data')}`,
      'notify:',
      '  templates:',
      '    define:',
      '      t: "{{ .Status | toUpper }} {{ .CommonLabels.alertname }} for {{ .Receiver }}"',
      '  receivers:',
      '    - name: team',
      '      title: \'{{ template "t" . }}\'',
      '      slack_configs:',
      '        - webhook_url: ${SLACK_URL}',
      '          text: "{{ range .Alerts }}{{ .Labels.severity | toUpper }}: {{ .Annotations.summary }}{{ end }}"',
      '  route: {receiver: team}',
    ])
    http.reset()
    const r = await runMon(['notify', 'test', 'team', '--preview', '--label', 'severity=warning'], {env: {MON_CONFIG: file, SLACK_URL: `${http.url}/s`}})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'team/slack[0]\n  title:\n    FIRING MonTestNotification for team\n  text:\n    WARNING: Test notification from mon: if you can read this, the channel works.\n')
    const j = await runMon(['notify', 'test', 'team', '--dry-run', '--json'], {env: {MON_CONFIG: file, SLACK_URL: `${http.url}/s`}})
    assert.equal(j.code, 0, j.stderr)
    assert.deepEqual(JSON.parse(j.stdout).channels[0].words, {title: 'FIRING MonTestNotification for team', text: 'INFO: Test notification from mon: if you can read this, the channel works.'})
    assert.equal(http.requests.length, 0, 'nothing sent')
  })
})
