import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {dirname, join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {parseConfigText} from '../../src/core/config/parse.js'
import {ConfigError} from '../../src/core/config/problems.js'
import {redactConfig} from '../../src/core/config/redact.js'
import {CHANNELS, CHANNEL_TYPES} from '../../src/core/notify/channels/registry.js'

const env = {HOME: '/home/test', SLACK_URL: 'https://hooks.slack.com/services/T0/B0/SECRETSECRET', PD_KEY: 'pd-routing-key-1', SMTP_PASSWORD: 'smtp-pass-1'}

function problems(text: string, e: NodeJS.ProcessEnv = env): string[] {
  try {
    parseConfigText(text, 'mon.yaml', e)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems.map((p) => `${p.position.line}:${p.position.col}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`)
  }
  return []
}

const base = (rest: string) => `notify:
  receivers:
    - name: team-slack
      slack_configs:
        - webhook_url: \${SLACK_URL}
    - name: pager
      pagerduty_configs:
        - routing_key: \${PD_KEY}
${rest}`

describe('notify config: errors point at the line', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['no route with receivers', base(''), /^3:5: notify\.receivers: receivers are defined but there is no 'route'/],
    ['unknown receiver, did you mean', base('  route:\n    receiver: team-slak\n'), /^10:15: notify\.route\.receiver: unknown receiver "team-slak"; did you mean "team-slack"\?/],
    ['root without receiver', base('  route:\n    group_by: [alertname]\n'), /^10:5: notify\.route: the root route needs a 'receiver'/],
    ['root with matchers', base('  route:\n    receiver: pager\n    matchers: [a="b"]\n'), /^11:15: notify\.route\.matchers: the root route matches every alert/],
    ['bad matcher', base('  route:\n    receiver: pager\n    routes:\n      - matchers: [\'severity=="x"\', \'foo bar\']\n'), /^12:37: notify\.route\.routes\[0\]\.matchers\[1\]: invalid matcher 'foo bar'/],
    ['bad regex in matcher', base('  route:\n    receiver: pager\n    routes:\n      - matchers: [\'host=~"web-(\']\n'), /^12:20: .*invalid regular expression/],
    ['unknown option in receiver', 'notify:\n  receivers:\n    - name: x\n      slack_config: []\n  route: {receiver: x}\n', /^4:7: unknown option 'slack_config' in notify\.receivers\[0\] \(did you mean 'slack_configs'\?\)/],
    ['slack without target', 'notify:\n  receivers:\n    - name: x\n      slack_configs:\n        - send_resolved: true\n  route: {receiver: x}\n', /^5:11: notify\.receivers\[0\]\.slack_configs\[0\]: needs 'webhook_url'/],
    ['bad duration', base('  route:\n    receiver: pager\n    group_wait: 30\n'), /^11:17: notify\.route\.group_wait: expected a duration with a unit/],
    ['unknown time interval', base('  route:\n    receiver: pager\n    mute_time_intervals: [nights]\n'), /^11:27: notify\.route\.mute_time_intervals\[0\]: unknown time interval "nights": none is defined/],
    ['unknown escalation policy', base('  route:\n    receiver: pager\n    escalation: db\n'), /^11:17: notify\.route\.escalation: unknown escalation policy "db"/],
    ['escalation step receiver', base('  route: {receiver: pager}\n  escalation_policies:\n    - name: db\n      steps:\n        - {after: 15m, receiver: pagr}\n'), /^13:34: notify\.escalation_policies\[0\]\.steps\[0\]\.receiver: unknown receiver "pagr"; did you mean "pager"\?/],
    ['duplicate receiver', 'notify:\n  receivers:\n    - name: a\n    - name: a\n  route: {receiver: a}\n', /^4:13: notify\.receivers\[1\]\.name: duplicate receiver name "a"/],
    ['weekday typo', base('  route: {receiver: pager}\n  time_intervals:\n    - name: n\n      time_intervals:\n        - weekdays: [mondy]\n'), /^13:22: .*weekdays\[0\]: invalid weekday "mondy"; did you mean "monday"\?/],
    ['time range backwards', base('  route: {receiver: pager}\n  time_intervals:\n    - name: n\n      time_intervals:\n        - times: [{start_time: "22:00", end_time: "06:00"}]\n'), /start_time 22:00 must be before end_time 06:00/],
    ['unknown zone', base('  route: {receiver: pager}\n  time_intervals:\n    - name: n\n      time_intervals:\n        - location: Mars/Olympus\n'), /unknown time zone "Mars\/Olympus"/],
    ['timeout not below lease', 'notify:\n  receivers:\n    - name: x\n      webhook_configs:\n        - url: http://127.0.0.1:1/\n          timeout: 5m\n  route: {receiver: x}\n', /^6:20: .*timeout: must be shorter than notify\.outbox\.lease \(2m\)/],
    ['alertmanager alert_ttl shorter than two re-sends', 'notify:\n  receivers:\n    - name: x\n      alertmanager_configs:\n        - {url: "http://127.0.0.1:9093", alert_ttl: 90s, resend_delay: 1m}\n  route: {receiver: x}\n', /^5:\d+: notify\.receivers\[0\]\.alertmanager_configs\[0\]\.alert_ttl: must be at least twice resend_delay \(1m\)/],
    ['twilio sid', 'notify:\n  receivers:\n    - name: x\n      twilio_configs:\n        - {account_sid: nope, auth_token: "${PD_KEY}", from: "+1", to: "+2"}\n  route: {receiver: x}\n', /twilio_configs\[0\]\.account_sid: expected a Twilio account SID/],
  ]
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const found = problems(text)
      assert.ok(found.some((p) => expected.test(p)), `expected ${expected}, got:\n${found.join('\n')}`)
    })
  }
})

describe('notify config: credentials only through ${…}', () => {
  it('a literal webhook URL is an error at its line, without echoing it', () => {
    const text = 'notify:\n  receivers:\n    - name: x\n      slack_configs:\n        - webhook_url: https://hooks.slack.com/services/T/B/LITERALSECRET\n  route: {receiver: x}\n'
    const found = problems(text)
    assert.equal(found.length, 1)
    assert.match(found[0]!, /^5:24: notify\.receivers\[0\]\.slack_configs\[0\]\.webhook_url: a credential is written into the config file/)
    assert.match(found[0]!, /\$\{SLACK_WEBHOOK_URL\}/)
    assert.doesNotMatch(found[0]!, /LITERALSECRET/)
  })

  const literal: Array<[string, string]> = [
    ['pagerduty routing_key', 'pagerduty_configs:\n        - routing_key: abcdef123'],
    ['email password', 'email_configs:\n        - {to: a@b.c, from: m@b.c, smarthost: "mail:587", auth_username: u, auth_password: hunter22}'],
    ['opsgenie api_key', 'opsgenie_configs:\n        - api_key: key-123456'],
    ['twilio auth_token', 'twilio_configs:\n        - {account_sid: AC0123456789abcdef0123456789abcdef, auth_token: tok12345, from: "+1", to: "+2"}'],
    ['ntfy token', 'ntfy_configs:\n        - {topic: t, token: tk_123456}'],
    ['webhook basic_auth password', 'webhook_configs:\n        - {url: "http://x:1/", basic_auth: {username: u, password: pw123456}}'],
  ]
  for (const [name, block] of literal) {
    it(`rejects a literal ${name}`, () => {
      const found = problems(`notify:\n  receivers:\n    - name: x\n      ${block}\n  route: {receiver: x}\n`)
      assert.ok(found.some((p) => /a credential is written into the config file/.test(p)), found.join('\n'))
    })
  }

  it('accepts interpolated ones (whole, partial, from a file) and redacts them in config show', () => {
    const text = [
      'x-keys:',
      '  pd: &pd ${PD_KEY}',
      'notify:',
      '  receivers:',
      '    - name: x',
      '      slack_configs:',
      '        - webhook_url: ${SLACK_URL}',
      '      pagerduty_configs:',
      '        - routing_key: *pd',
      '      email_configs:',
      '        - {to: a@b.c, from: m@b.c, smarthost: "mail:587", auth_username: u, auth_password: "pre-${SMTP_PASSWORD}"}',
      '  route: {receiver: x}',
      '',
    ].join('\n')
    const loaded = parseConfigText(text, 'mon.yaml', env)
    const shown = JSON.stringify(redactConfig(loaded.config, loaded.secretPaths))
    for (const secret of ['SECRETSECRET', 'pd-routing-key-1', 'smtp-pass-1']) assert.ok(!shown.includes(secret), `${secret} shown: ${shown}`)
  })
})

describe('notify config: defaults and samples', () => {
  it('an empty section gets the outbox defaults and no route', () => {
    const loaded = parseConfigText('notify: {}\n', 'mon.yaml', env)
    assert.deepEqual(loaded.config.notify, {
      receivers: [],
      inhibit_rules: [],
      time_intervals: [],
      escalation_policies: [],
      outbox: {max_attempts: 10, backoff: '10s', max_backoff: '15m', lease: '2m', concurrency: 4, retention: '7d'},
    })
  })

  const sampleEnv: NodeJS.ProcessEnv = {
    HOME: '/home/test',
    SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/C',
    SLACK_BOT_TOKEN: 'xoxb-1',
    TEAMS_WEBHOOK_URL: 'https://example.webhook.office.com/webhookb2/x',
    WEBHOOK_TOKEN: 't',
    SMTP_PASSWORD: 'p',
    PAGERDUTY_ROUTING_KEY: 'k',
    OPSGENIE_API_KEY: 'k',
    TWILIO_AUTH_TOKEN: 't',
    NTFY_TOKEN: 't',
  }
  for (const type of CHANNEL_TYPES) {
    it(`the ${type} sample block is valid config`, () => {
      const sample = CHANNELS[type].sample
      const indented = sample
        .split('\n')
        .map((l) => '        ' + l)
        .join('\n')
      const text = `notify:\n  receivers:\n    - name: r\n      ${type}_configs:\n${indented}\n  route: {receiver: r}\n`
      const loaded = parseConfigText(text, 'mon.yaml', sampleEnv)
      const list = (loaded.config.notify.receivers[0] as unknown as Record<string, unknown[]>)[`${type}_configs`]
      assert.ok(Array.isArray(list) && list.length >= 1)
    })
  }
})

describe('notify config: import order', () => {
  // config/schema.ts and notify/config.ts once imported each other (import-cycles.test.ts now forbids
  // that); whichever a program loads first must still work.
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src')
  const entries = ['core/notify/index.js', 'core/notify/channels/registry.js', 'core/notify/channels/ntfy.js', 'core/notify/config.js', 'core/config/schema.js', 'core/config/load.js', 'core/config/parse.js', 'core/notify/deliver/dispatcher.js']
  for (const entry of entries) {
    it(`loading ${entry} first`, () => {
      const script = `await import(${JSON.stringify(pathToFileURL(join(dist, entry)).href)});
const {parseConfigText} = await import(${JSON.stringify(pathToFileURL(join(dist, 'core/config/parse.js')).href)});
const l = parseConfigText('notify:\\n  receivers: [{name: r, ntfy_configs: [{topic: t}], opsgenie_configs: [{api_key: "\${K}"}]}]\\n  route: {receiver: r}\\n', 'mon.yaml', {K: 'key-1234'});
console.log(l.config.notify.receivers[0].ntfy_configs[0].url)`
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'})
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stdout.trim(), 'https://ntfy.sh')
    })
  }
})
