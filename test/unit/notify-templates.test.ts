import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {parseConfigText} from '../../src/core/config/parse.js'
import {ConfigError} from '../../src/core/config/problems.js'
import {emailWords} from '../../src/core/notify/channels/email.js'
import {CHANNELS} from '../../src/core/notify/channels/registry.js'
import {slackPayload, slackWords} from '../../src/core/notify/channels/slack.js'
import {webhookBody} from '../../src/core/notify/channels/webhook.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {notificationTitle, plainText} from '../../src/core/notify/deliver/render.js'
import {NotifyTemplateError, parseTemplateSource} from '../../src/core/notify/template/engine.js'
import {compileTemplates, type TemplatedNotifyConfig} from '../../src/core/notify/template/set.js'
import type {NotificationAlert} from '../../src/core/notify/types.js'

const T0 = Date.parse('2026-03-02T10:00:00Z')

function alert(fp: string, labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing', annotations: Record<string, string> = {}, value: number | null = 97.5): NotificationAlert {
  return {status, labels, annotations, startsAt: new Date(T0).toISOString(), endsAt: status === 'resolved' ? new Date(T0 + 60_000).toISOString() : '0001-01-01T00:00:00Z', fingerprint: fp, value}
}

const diskA = alert('aaaaaaaaaaaaaaaa', {alertname: 'DiskFull', host: 'db-1', severity: 'critical'}, 'firing', {summary: 'Disk / on db-1 is 97% full'})
const diskB = alert('bbbbbbbbbbbbbbbb', {alertname: 'DiskFull', host: 'db-2', severity: 'critical'}, 'resolved', {summary: 'Disk / on db-2 <is> & fine'}, 3600 * 26 + 61)
const n = buildNotification({kind: 'firing', receiver: 'db-team', groupKey: 'g', groupLabels: {alertname: 'DiskFull'}, alerts: [diskA, diskB], now: T0, externalURL: 'https://mon.example.com'})

function set(fields: Record<string, string>, define: Record<string, string> = {}, files: string[] = []) {
  const config: TemplatedNotifyConfig = {templates: {files, define}, receivers: [{name: 'r', slack_configs: [fields]}]}
  return compileTemplates(config, {render: {limits: {maxSteps: 5000, maxOutput: 4096}}})
}

/** Renders `src` as a Slack text; throws the first problem. */
function render(src: string, define: Record<string, string> = {}): string | undefined {
  const compiled = set({text: src}, define)
  if (compiled.problems.length > 0) throw new Error(compiled.problems.map((p) => `${p.offset}: ${p.message}`).join('\n'))
  return compiled.channel('r', 'slack', 0).render('text', n)
}

function problems(src: string, define: Record<string, string> = {}) {
  return set({text: src}, define).problems.map((p) => ({offset: p.offset, message: p.message, hint: p.hint, origin: p.origin}))
}

describe('notification templates: the Go-template subset', () => {
  it('reads the notification and ranges over its alerts', () => {
    assert.equal(render('{{ .Status }} {{ .Receiver }} {{ .GroupLabels.alertname }} {{ .ExternalURL }}'), 'firing db-team DiskFull https://mon.example.com')
    assert.equal(render('{{ range .Alerts }}{{ .Status }}:{{ .Labels.host }}:{{ .Annotations.summary }};{{ end }}'), 'firing:db-1:Disk / on db-1 is 97% full;resolved:db-2:Disk / on db-2 <is> & fine;')
    assert.equal(render('{{ len .Alerts }} {{ len .Alerts.Firing }} {{ .Alerts.Resolved | len }}'), '2 1 1')
    assert.equal(render('{{ range $i, $a := .Alerts.Firing }}{{ $i }}={{ $a.Fingerprint }} {{ $.Status }}{{ end }}'), '0=aaaaaaaaaaaaaaaa firing')
    assert.equal(render('{{ range .Alerts }}{{ .StartsAt }} {{ .GeneratorURL }}{{ end }}'), '2026-03-02T10:00:00.000Z https://mon.example.com/alerts/aaaaaaaaaaaaaaaa2026-03-02T10:00:00.000Z https://mon.example.com/alerts/bbbbbbbbbbbbbbbb')
    assert.equal(render('{{ range .Alerts.Firing }}x{{ else }}none{{ end }}|{{ range .Alerts.Resolved }}{{ .EndsAt }}{{ end }}'), 'x|2026-03-02T10:01:00.000Z')
    assert.equal(render('{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}'), 'alertname=DiskFull severity=critical ')
    assert.equal(render('{{ .CommonLabels.missing }}|{{ with .CommonAnnotations.summary }}{{ . }}{{ else }}no summary{{ end }}'), '|no summary')
  })

  it('if / else if / else, comparisons, variables and trimming', () => {
    const src = '{{- $n := len .Alerts.Firing -}}\n{{ if gt $n 1 }}many{{ else if eq $n 1 }}one{{ else }}none{{ end }}  {{- /* comment */ -}}  !'
    assert.equal(render(src), 'one!')
    assert.equal(render('{{ if and .Alerts.Firing (eq .Status "firing") }}yes{{ end }}{{ if not .Alerts.Resolved }}no{{ end }}'), 'yes')
  })

  it('define and template, with the data passed on', () => {
    const define = {'my.alert': '{{ .Labels.host }}({{ .Labels.severity | toUpper }})', 'my.list': '{{ range .Alerts }}{{ template "my.alert" . }} {{ end }}'}
    assert.equal(render('{{ template "my.list" . }}', define), 'db-1(CRITICAL) db-2(CRITICAL) ')
  })

  it('defines from a template file (Alertmanager habits)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mon-tpl-'))
    after(() => rmSync(dir, {recursive: true, force: true}))
    writeFileSync(join(dir, 'a.tmpl'), '{{ define "t.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}\n{{ define "t.x" }}x{{ end }}\n')
    writeFileSync(join(dir, 'b.tmpl'), '{{ define "t.y" }}{{ template "t.x" }}y{{ end }}')
    const compiled = set({title: '{{ template "t.title" . }} {{ template "t.y" }}'}, {}, [join(dir, '*.tmpl')])
    assert.deepEqual(compiled.problems, [])
    assert.equal(compiled.channel('r', 'slack', 0).render('title', n), '[FIRING] DiskFull xy')
  })

  it('functions: toUpper, toLower, title, join, reReplaceAll, humanize, humanizeDuration, printf, index, match', () => {
    assert.equal(render('{{ "Disk Full" | toLower }} {{ "disk full" | title }} {{ toUpper "x" }}'), 'disk full Disk Full X')
    assert.equal(render('{{ join ", " .CommonLabels.Names }}|{{ .CommonLabels.Values | join "+" }}'), 'alertname, severity|DiskFull+critical')
    assert.equal(render('{{ range .Alerts }}{{ reReplaceAll "db-(\\\\d+)" "node$1" .Labels.host }} {{ end }}'), 'node1 node2 ')
    assert.equal(render('{{ range .Alerts }}{{ .Value | humanize }} {{ end }}{{ humanizeDuration 93661 }}'), '97.5 93.66k 1d 2h 1m 1s')
    assert.equal(render('{{ printf "%s has %d" .Receiver (len .Alerts) }} {{ index .CommonLabels "severity" }} {{ match "^db" .Receiver }}'), 'db-team has 2 critical true')
  })

  it('rejects what does not parse, with the offset of the problem', () => {
    assert.deepEqual(problems('ok {{ .Status '), [{offset: 3, message: "template: unclosed action: '{{' without '}}'", hint: 'close it with }}', origin: {kind: 'config', path: ['notify', 'receivers', 0, 'slack_configs', 0, 'text']}}])
    assert.equal(problems('{{ range .Alerts }}x')[0]!.message, 'template: {{ range }} without {{ end }}')
    const fn = problems('{{ .Status | toupper }}')[0]!
    assert.deepEqual([fn.offset, fn.message, fn.hint], [13, "template: unknown function 'toupper'", "did you mean 'toUpper'?"])
    assert.equal(problems('{{ join "," }}')[0]!.message, 'template: join takes 2 arguments, got 1')
    assert.equal(problems('{{ block "x" . }}{{ end }}')[0]!.message, 'template: {{ block }} is not supported in notification templates')
    assert.equal(problems('{{ define "x" }}{{ end }}')[0]!.message, 'template: {{ define }} is not allowed here')
    const re = problems('{{ reReplaceAll "(a" "b" .Status }}')[0]!
    assert.equal(re.offset, 16)
    assert.match(re.message, /^template: reReplaceAll: invalid regular expression \/\(a\/: /)
    assert.throws(() => parseTemplateSource('{{ if .X }}{{ define "a" }}{{ end }}{{ end }}', 0), (e: NotifyTemplateError) => e.reason.includes('top level'))
  })

  it('rejects unknown fields, variables and templates', () => {
    const field = problems('{{ .Alerts }} {{ .CommonLables.team }}')[0]!
    assert.deepEqual([field.offset, field.message, field.hint], [17, 'template: unknown field .CommonLables of the notification', 'did you mean .CommonLabels?'])
    assert.equal(problems('{{ range .Alerts }}{{ .Label.x }}{{ end }}')[0]!.message, 'template: unknown field .Label of an alert')
    assert.equal(problems('{{ .Status.x }}')[0]!.message, 'template: .x: a plain value has no fields')
    assert.equal(problems('{{ range .Status }}{{ end }}')[0]!.message, 'template: cannot range over a plain value')
    const v = problems('{{ $x := 1 }}{{ $y }}')[0]!
    assert.deepEqual([v.offset, v.message], [16, 'template: undefined variable $y'])
    const t = problems('{{ template "my.tilte" . }}', {'my.title': 'x'})[0]!
    assert.deepEqual([t.offset, t.message, t.hint], [12, 'template: no template named "my.tilte"', 'did you mean "my.title"?'])
    // a named template is checked with the type of what its callers pass it
    const inDefine = problems('{{ template "d" . }}', {d: '{{ .Labels.host }}'})[0]!
    assert.deepEqual([inDefine.offset, inDefine.message, inDefine.origin], [3, 'template: unknown field .Labels of the notification', {kind: 'config', path: ['notify', 'templates', 'define', 'd']}])
    assert.deepEqual(problems('{{ range .Alerts }}{{ template "d" . }}{{ end }}', {d: '{{ .Labels.host }}'}), [])
    // one no field calls: checked against every field name there is
    const unreached = problems('x', {d: '{{ range .Alerts }}{{ .Lables.host }}{{ end }}{{ .Labels.host }}{{ .SortedPairs }}{{ .Recevier }}'})
    assert.deepEqual(unreached.map((p) => [p.offset, p.message, p.hint]), [
      [22, 'template: unknown field .Lables of an alert', 'did you mean .Labels?'],
      [85, 'template: unknown field .Recevier', 'did you mean .Receiver?'],
    ])
  })

  it('bounds a hostile template: steps, output size, recursion, padding; the channel falls back to its default', () => {
    const compiled = set({text: '{{ range .Alerts }}{{ range $.Alerts }}{{ range $.Alerts }}{{ template "loop" $ }}{{ end }}{{ end }}{{ end }}'}, {loop: '{{ range .Alerts }}{{ template "loop" $ }}{{ end }}'})
    assert.deepEqual(compiled.problems, [])
    const slack = compiled.channel('r', 'slack', 0)
    assert.equal(slack.render('text', n), undefined)
    assert.match(compiled.renderErrors.at(-1)!, /more than 32 deep/)

    const big = set({text: '{{ range .Alerts }}{{ printf "%4000s" "x" }}{{ end }}'})
    assert.equal(big.channel('r', 'slack', 0).render('text', n), undefined)
    assert.match(big.renderErrors.at(-1)!, /output over the limit of 4096 characters/)

    const pad = set({text: '{{ printf "%999999999s" "x" }}'})
    assert.equal(pad.channel('r', 'slack', 0).render('text', n), undefined)
    assert.match(pad.renderErrors.at(-1)!, /width or precision over 4096/)

    const many = buildNotification({kind: 'firing', receiver: 'db-team', groupKey: 'g', groupLabels: {}, alerts: Array.from({length: 40}, (_, i) => alert(String(i), {host: `h${i}`})), now: T0})
    const steps = set({text: '{{ range .Alerts }}{{ range $.Alerts }}{{ range $.Alerts }}{{ end }}{{ end }}{{ end }}'})
    assert.equal(steps.channel('r', 'slack', 0).render('text', many), undefined)
    assert.match(steps.renderErrors.at(-1)!, /more than 5000 steps/)

    const blowup = set({text: '{{ reReplaceAll "" .Receiver .Receiver }}'})
    const long = buildNotification({kind: 'firing', receiver: 'x'.repeat(1000), groupKey: 'g', groupLabels: {}, alerts: [diskA], now: T0})
    assert.equal(blowup.channel('r', 'slack', 0).render('text', long), undefined)
    assert.match(blowup.renderErrors.at(-1)!, /reReplaceAll: the result could exceed/)

    // the message still goes out, with mon's words
    assert.equal(slackPayload(n, {max_alerts: 20}, steps.channel('r', 'slack', 0)).text, notificationTitle(n))
    assert.equal(slackWords(many, {max_alerts: 20}, steps.channel('r', 'slack', 0)).text, slackWords(many, {max_alerts: 20}).text)
  })

  it('channels: receiver title/text as defaults, channel fields over them, HTML escaped', () => {
    const config: TemplatedNotifyConfig = {
      templates: {files: [], define: {}},
      receivers: [
        {
          name: 'r',
          title: 'T {{ .CommonLabels.alertname }}',
          text: 'X {{ len .Alerts }}',
          slack_configs: [{}, {text: 'S {{ .Status }}'}],
          email_configs: [{html: '<b>{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}</b>{{ "<i>" | safeHtml }}'}],
          webhook_configs: [{}],
        },
        {name: 'plain', webhook_configs: [{}]},
      ],
    }
    const c = compileTemplates(config)
    assert.deepEqual(c.problems, [])
    assert.deepEqual(slackWords(n, {max_alerts: 20}, c.channel('r', 'slack', 0)), {title: 'T DiskFull', text: 'X 2'})
    assert.deepEqual(slackWords(n, {max_alerts: 20}, c.channel('r', 'slack', 1)), {title: 'T DiskFull', text: 'S firing'})
    const mail = emailWords(n, {max_alerts: 50}, c.channel('r', 'email', 0))
    assert.equal(mail.subject, 'T DiskFull')
    assert.equal(mail.text, 'X 2')
    assert.equal(mail.html, '<b>Disk / on db-1 is 97% fullDisk / on db-2 &lt;is&gt; &amp; fine</b><i>')
    assert.equal(webhookBody(n, {max_alerts: 0}, c.channel('r', 'webhook', 0)).text, 'X 2')
    assert.equal('text' in webhookBody(n, {max_alerts: 0}, c.channel('plain', 'webhook', 0)), false)
    // no templates: today's words
    assert.deepEqual(emailWords(n, {max_alerts: 50}, c.channel('plain', 'email', 0)).text, plainText(n, {maxAlerts: 50}))
  })
})

describe('notification templates in the config: file:line:col', () => {
  it('points at the character inside the YAML string', () => {
    const text = ['notify:', '  receivers:', '    - name: team', '      title: "[{{ .Status }}] {{ .Comon }}"', '      webhook_configs: [{url: "http://127.0.0.1:9/x"}]', '  route: {receiver: team}', ''].join('\n')
    assert.throws(
      () => parseConfigText(text, 'mon.yaml', {}),
      (e: ConfigError) => {
        assert.equal(e.problems.length, 1)
        assert.deepEqual(e.problems[0]!.position, {file: 'mon.yaml', line: 4, col: 34})
        assert.equal(e.problems[0]!.message, 'notify.receivers[0].title: template: unknown field .Comon of the notification')
        return true
      },
    )
  })

  it('points into a template file, and at a block scalar line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mon-tpl-'))
    after(() => rmSync(dir, {recursive: true, force: true}))
    writeFileSync(join(dir, 'x.tmpl'), '{{ define "a" }}\n  {{ range .Alerts }}{{ .Lables.host }}{{ end }}\n{{ end }}\n')
    const text = ['notify:', '  templates:', '    files: [x.tmpl]', '    define:', '      b: |', '        line one', '        {{ tempalte "a" . }}', '  receivers:', '    - name: team', '      text: "{{ template \\"a\\" . }}{{ template \\"b\\" . }}"', '  route: {receiver: team}', ''].join('\n')
    assert.throws(
      () => parseConfigText(text, join(dir, 'mon.yaml'), {}, {cwd: dir, label: 'mon.yaml'}),
      (e: ConfigError) => {
        const got = e.problems.map((p) => `${p.position.file}:${p.position.line}:${p.position.col}: ${p.message}`)
        assert.deepEqual(got, ['x.tmpl:2:25: template: unknown field .Lables of an alert', 'mon.yaml:7:12: notify.templates.define.b: template: unknown function \'tempalte\''])
        return true
      },
    )
  })

  it('a valid config loads, and file paths resolve against the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mon-tpl-'))
    after(() => rmSync(dir, {recursive: true, force: true}))
    writeFileSync(join(dir, 'x.tmpl'), '{{ define "a" }}{{ .Status }}{{ end }}')
    const text = ['notify:', '  templates: {files: ["*.tmpl"]}', '  receivers:', '    - name: team', '      text: "{{ template \\"a\\" . }}"', '      webhook_configs: [{url: "http://127.0.0.1:9/x"}]', '  route: {receiver: team}', ''].join('\n')
    const loaded = parseConfigText(text, join(dir, 'mon.yaml'), {}, {cwd: '/'})
    assert.deepEqual(loaded.config.notify.templates?.files, [join(dir, '*.tmpl')])
    // the text checked is the text that runs: kept with the config (a reload compares it)
    assert.deepEqual(loaded.config.notify.templates?.sources, [{file: join(dir, 'x.tmpl'), text: '{{ define "a" }}{{ .Status }}{{ end }}'}])
    writeFileSync(join(dir, 'x.tmpl'), '{{ define "a" }}changed{{ end }}')
    const compiled = compileTemplates(loaded.config.notify)
    assert.equal(compiled.channel('team', 'webhook', 0).render('text', n), 'firing')
    const reloaded = parseConfigText(text, join(dir, 'mon.yaml'), {}, {cwd: '/'})
    assert.notDeepEqual(reloaded.config.notify, loaded.config.notify)
  })
})

describe('the channel samples', () => {
  for (const type of ['slack', 'email', 'webhook'] as const) {
    it(`${type}: the commented template lines are valid templates`, () => {
      const sample = CHANNELS[type].sample.replace(/^(\s*)# ((?:title|text|subject|html): '.*')$/gm, '$1$2')
      assert.match(sample, /^\s*(?:- )?(?:title|text|subject): '/m)
      const indented = sample.split('\n').map((l) => '        ' + l).join('\n')
      const text = `notify:\n  receivers:\n    - name: r\n      ${type}_configs:\n${indented}\n  route: {receiver: r}\n`
      const env = {SLACK_WEBHOOK_URL: 'https://hooks.slack.com/x', SLACK_BOT_TOKEN: 'xoxb-1', SMTP_PASSWORD: 'p'}
      const loaded = parseConfigText(text, 'mon.yaml', env)
      assert.ok(loaded.config.notify.receivers.length === 1)
    })
  }
})

describe('notify templates: JavaScript object names are not functions', () => {
  it('toString and constructor are refused when the template is parsed, not when it renders', async () => {
    const {parseTemplateSource, NotifyTemplateError} = await import('../../src/core/notify/template/engine.js')
    for (const src of ['{{ toString 1 }}', '{{ .Status | constructor }}']) {
      assert.throws(() => parseTemplateSource(src, 0), (err: unknown) => err instanceof NotifyTemplateError && /unknown function/.test(err.message), src)
    }
  })
})
