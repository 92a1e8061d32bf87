/**
 * Issue 16, "Outputs that mislead" (smaller list): one regression test per bullet, through the real
 * `mon` binary on a temp data dir. The pure wording helpers are also unit-tested in
 * test/unit/trust-smaller.test.ts.
 */
import assert from 'node:assert/strict'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {startAlertScenario, type AlertScenario} from '../helpers/alert-scenario.js'
import {startCapture} from '../helpers/capture.js'
import {ROOT, runMon} from '../helpers/cli.js'
import {startIncidentApi, type RunningApi} from '../helpers/incident-api.js'
import {tempDir} from '../helpers/servers.js'

let tmp: {dir: string; cleanup: () => void}
let n = 0
/** A fresh data dir (and XDG dirs) per test, so tests do not see each other's points. */
function freshEnv(): NodeJS.ProcessEnv {
  const base = join(tmp.dir, `t${++n}`)
  return {MON_DATA_DIR: join(base, 'data'), XDG_CONFIG_HOME: join(base, 'xdg-config'), XDG_DATA_HOME: join(base, 'xdg-data')}
}

before(() => (tmp = tempDir('mon-trust-smaller-')))
after(() => tmp.cleanup())

/** Fixed times (not the wall clock): --at and the points' timestamps say when. */
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0)
const lp = (lines: Array<[string, number]>) => lines.map(([text, t]) => `${text} ${t}`).join('\n') + '\n'

async function write(env: NodeJS.ProcessEnv, input: string): Promise<void> {
  const r = await runMon(['write', '--precision', 'ms'], {env, input})
  assert.equal(r.code, 0, r.stderr)
}

describe('issue 16: outputs that tell the truth (smaller list)', () => {
  it('"wrote 1 point", not "wrote 1 points"', async () => {
    const env = freshEnv()
    const one = await runMon(['write', '--precision', 'ms'], {env, input: lp([['cpu,host=a usage_user=1', T0]])})
    assert.equal(one.code, 0, one.stderr)
    assert.match(one.stdout, /^wrote 1 point to /m)
    const two = await runMon(['write', '--precision', 'ms'], {env, input: lp([['cpu,host=a usage_user=1', T0 + 1000], ['cpu,host=b usage_user=2', T0 + 1000]])})
    assert.match(two.stdout, /^wrote 2 points to /m)
  })

  it('store info: human units and labels, no internal keys (--json unchanged)', async () => {
    const env = freshEnv()
    await write(env, lp([['cpu,host=a usage_user=1', T0]]))
    const r = await runMon(['store', 'info'], {env})
    assert.equal(r.code, 0, r.stderr)
    for (const internal of ['liveBytes', 'headRows']) assert.doesNotMatch(r.stdout, new RegExp(internal))
    assert.match(r.stdout, /^size on disk +[\d.]+ [KMG]?B$/m)
    assert.match(r.stdout, /^data size \(live pages\) +[\d.]+ [KMG]?B$/m)
    assert.match(r.stdout, /^bytes per point +[\d.]+ B$/m)
    const json = JSON.parse((await runMon(['store', 'info', '--json'], {env})).stdout) as {details: Record<string, unknown>}
    assert.equal(typeof json.details.liveBytes, 'number', 'the JSON keeps its keys')
  })

  it('rules eval --json: every time is RFC 3339 (no epoch ms), durations rounded to the microsecond', async () => {
    const env = freshEnv()
    await write(env, lp([['cpu,host=a usage_user=95', T0 - 30_000]]))
    const rules = join(tmp.dir, 'busy.yaml')
    writeFileSync(rules, 'groups:\n  - name: busy\n    rules:\n      - alert: Busy\n        expr: cpu.usage_user > 90\n')
    const r = await runMon(['rules', 'eval', rules, '--at', new Date(T0).toISOString(), '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {at: string; alerts: Array<{activeAt: string}>; rules: Array<{lastEvalAt: unknown; durationMs: number}>}
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
    assert.match(out.at, iso)
    assert.equal(out.alerts.length, 1)
    assert.match(out.alerts[0]!.activeAt, iso)
    assert.equal(out.rules.length, 1)
    assert.equal(typeof out.rules[0]!.lastEvalAt, 'string', 'lastEvalAt was epoch ms beside ISO at/activeAt')
    assert.match(out.rules[0]!.lastEvalAt as string, iso)
    const ms = out.rules[0]!.durationMs
    assert.equal(ms, Math.round(ms * 1000) / 1000, `durationMs ${ms} has more than three decimals`)
  })

  it('query with no data: the note goes to stderr, stdout stays empty (csv: the header only; json: the shape)', async () => {
    const env = freshEnv()
    // a store that exists but has no cpu points (a data dir that does not exist is another error: trust-outputs)
    const seeded = await runMon(['write', '-'], {env, input: 'mem used_percent=1\n'})
    assert.equal(seeded.code, 0, seeded.stderr)
    const table = await runMon(['query', 'cpu.usage_user', '--since', '1h'], {env})
    assert.equal(table.code, 0, table.stderr)
    assert.equal(table.stdout, '')
    assert.match(table.stderr, /^no data in this range$/m)
    const csv = await runMon(['query', 'cpu.usage_user', '--format', 'csv'], {env})
    assert.equal(csv.stdout, 'time,value\n')
    assert.doesNotMatch(csv.stderr, /no data/)
    const json = await runMon(['query', 'cpu.usage_user', '--json'], {env})
    assert.deepEqual(JSON.parse(json.stdout).series, [])
  })

  it('store archive without a TTY: one summary line, not one progress line per series', async () => {
    const env = freshEnv()
    const lines: Array<[string, number]> = []
    for (let h = 0; h < 30; h++) lines.push([`cpu,host=h${h} usage_user=${h}`, T0 - 86_400_000])
    await write(env, lp(lines))
    const file = join(tmp.dir, 'archive.lp.gz')
    const r = await runMon(['store', 'archive', '--before', new Date(T0).toISOString(), '--to', file], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '', 'no progress lines on a pipe')
    assert.match(r.stdout, /^archived 30 points of 30 series to .*archive\.lp\.gz \([\d.]+ [KM]?B\)$/m)
    assert.equal(r.stdout.trim().split('\n').length, 1)
  })

  it('--remote http://127.0.0.1:1: "cannot reach the mon daemon … connection refused", exit 1 (was fetch\'s "bad port"); a bad port: exit 2 naming --remote', async () => {
    const env = freshEnv()
    const refused = await runMon(['alerts', 'list', '--remote', 'http://127.0.0.1:1'], {env})
    assert.equal(refused.code, 1, refused.stderr)
    assert.match(refused.stderr, /^error: cannot reach the mon daemon at http:\/\/127\.0\.0\.1:1: connection refused$/m)
    assert.doesNotMatch(refused.stderr, /bad port/)
    for (const bad of ['http://127.0.0.1:99999', 'http://127.0.0.1:0']) {
      const r = await runMon(['alerts', 'list', '--remote', bad], {env})
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`)
      assert.match(r.stderr, /^error: invalid --remote URL /m)
    }
  })

  // matchers run on RE2 (issue 15): its wording for an unclosed group is "missing closing )"
  it('regex errors show the regex as written and where, not the compiled anchored form', async () => {
    const env = freshEnv()
    const q = await runMon(['query', 'cpu.usage_user{host=~"a(b"}'], {env})
    assert.equal(q.code, 2)
    assert.match(q.stderr, /^error: query:1:22: invalid regular expression \/a\(b\/: missing closing \)$/m)
    assert.doesNotMatch(q.stderr, /\^\(\?:/, 'not the internal ^(?:…)$ form')
    const l = await runMon(['alerts', 'list', '--label', 'host=~a(b'], {env})
    assert.equal(l.code, 2)
    assert.match(l.stderr, /^error: invalid --label 'host=~a\(b': invalid regular expression \/a\(b\/: missing closing \)$/m)
    assert.doesNotMatch(l.stderr, /\^\(\?:/)
  })

  it('config validate: each did-you-mean stays under its own error', async () => {
    const file = join(tmp.dir, 'typos.yaml')
    writeFileSync(file, 'log:\n  levl: info\nagent:\n  batch_size: x\n')
    const r = await runMon(['config', 'validate', file], {env: freshEnv()})
    assert.equal(r.code, 2)
    const lines = r.stderr.trimEnd().split('\n')
    assert.match(lines[0]!, /typos\.yaml:2:3: unknown option 'levl' in log$/)
    assert.equal(lines[1], "hint: did you mean 'level'?", 'the hint follows the error it belongs to')
    assert.match(lines[2]!, /typos\.yaml:4:15: agent\.batch_size: expected an integer/)
    assert.equal(lines.length, 3, 'no hint after the last problem')
  })

  it('config validate: "10 seconds" is a bad duration, not a bad cron expression', async () => {
    const file = join(tmp.dir, 'spelled.yaml')
    writeFileSync(file, 'agent:\n  interval: 10 seconds\n')
    const r = await runMon(['config', 'validate', file], {env: freshEnv()})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /spelled\.yaml:2:13: agent\.interval: invalid duration "10 seconds": expected a number and a unit/)
    assert.doesNotMatch(r.stderr, /cron/)
  })

  it('rules check: a bad group does not stop the check; every problem of every group and file, then exit 2', async () => {
    const first = join(tmp.dir, 'groups.yaml')
    writeFileSync(
      first,
      [
        'groups:',
        '  - name: one',
        '    interval: 10 seconds',
        '    rules:',
        '      - alert: A',
        '        expr: cpu.usage_user >',
        '  - name: two',
        '    rules:',
        '      - alert: B',
        '        expr: mem.used_percent > 90',
        '        for: soon',
        '  - interval: 1m',
        '    rules:',
        '      - alert: C',
        '        expr: disk.used_percent >> 1',
        '',
      ].join('\n'),
    )
    const second = join(tmp.dir, 'second.yaml')
    writeFileSync(second, 'groups:\n  - name: three\n    rules:\n      - alert: D\n        expr: nosuchfn(cpu.usage_user)\n')
    const r = await runMon(['rules', 'check', first, second, '--json'], {env: freshEnv()})
    assert.equal(r.code, 2, r.stderr)
    const out = JSON.parse(r.stdout) as {valid: boolean; files: Array<{problems: Array<{line: number; col: number; message: string}>}>}
    assert.equal(out.valid, false)
    const at = (f: number) => out.files[f]!.problems.map((p) => `${p.line}:${p.col}`)
    // the group's bad interval (3), rule A's expression (6), rule B's for (11), the unnamed group (12), rule C (15)
    assert.deepEqual(at(0), ['3:15', '6:30', '11:14', '12:5', '15:34'])
    assert.deepEqual(at(1), ['5:15'])
    const text = await runMon(['rules', 'check', first, second], {env: freshEnv()})
    assert.equal(text.code, 2)
    assert.equal(text.stderr.match(/^error: /gm)?.length, 6, text.stderr)
  })

  it('rules check: a file it cannot read, or a glob matching nothing, is one problem among the others; the readable files are still checked', async () => {
    const good = join(tmp.dir, 'readable.yaml')
    writeFileSync(good, 'groups:\n  - name: readable\n    rules:\n      - alert: E\n        expr: cpu.usage_user > 90\n')
    const bad = join(tmp.dir, 'bad-after.yaml')
    writeFileSync(bad, 'groups:\n  - name: after\n    rules:\n      - alert: F\n        expr: cpu.usage_user >\n')
    const missing = join(tmp.dir, 'no-such-rules.yaml')
    const nothing = join(tmp.dir, 'none-*.yaml')
    const r = await runMon(['rules', 'check', good, missing, nothing, bad, '--json'], {env: freshEnv()})
    assert.equal(r.code, 2, r.stderr)
    const out = JSON.parse(r.stdout) as {valid: boolean; files: Array<{file: string; groups: number; problems: Array<{line: number; col: number; message: string}>}>}
    assert.equal(out.valid, false)
    const byFile = new Map(out.files.map((f) => [f.file, f]))
    assert.equal(byFile.get(good)?.groups, 1)
    assert.deepEqual(byFile.get(good)?.problems, [])
    assert.match(byFile.get(missing)!.problems[0]!.message, /cannot read rule file .*no-such-rules\.yaml: no such file/)
    assert.match(byFile.get(nothing)!.problems[0]!.message, /no rule files match/)
    assert.deepEqual(byFile.get(bad)!.problems.map((p) => `${p.line}:${p.col}`), ['5:30'])
    const text = await runMon(['rules', 'check', good, missing, nothing, bad], {env: freshEnv()})
    assert.equal(text.code, 2)
    assert.match(text.stdout, /readable\.yaml: 1 group\(s\), 1 rule\(s\): OK/)
    assert.equal(text.stderr.match(/^error: /gm)?.length, 3, text.stderr)
  })

  it('-l/--label is one spelling: notify routes and notify test as alerts list; --labels still accepted, not advertised', async () => {
    const env = freshEnv()
    for (const cmd of [['alerts', 'list'], ['notify', 'routes'], ['notify', 'test']]) {
      const help = await runMon([...cmd, '--help'], {env})
      assert.equal(help.code, 0, help.stderr)
      assert.match(help.stdout, /-l, --label=/, `${cmd.join(' ')} --help`)
      assert.doesNotMatch(help.stdout, /--labels/, `${cmd.join(' ')} --help`)
    }
    const routed = async (...flags: string[]) => {
      const r = await runMon(['notify', 'routes', ...flags, '--json'], {env})
      assert.equal(r.code, 0, r.stderr)
      return (JSON.parse(r.stdout) as {labels: Record<string, string>}).labels
    }
    assert.deepEqual(await routed('--label', 'severity=critical', '--label', 'team=db'), {severity: 'critical', team: 'db'})
    assert.deepEqual(await routed('-l', 'severity=critical,team=db'), {severity: 'critical', team: 'db'})
    assert.deepEqual(await routed('--labels', 'severity=critical,team=db'), {severity: 'critical', team: 'db'}, 'the old spelling keeps scripts working')
  })

  it('alerts ack --help has an ARGUMENTS section, like every alerts command that takes ids', async () => {
    const env = freshEnv()
    for (const cmd of [['alerts', 'ack'], ['alerts', 'unack'], ['alerts', 'resolve'], ['alerts', 'comment'], ['alerts', 'show'], ['alerts', 'silence', 'add'], ['alerts', 'silence', 'expire']]) {
      const help = await runMon([...cmd, '--help'], {env})
      assert.equal(help.code, 0, help.stderr)
      assert.match(help.stdout, /^ARGUMENTS\n {2}\S/m, `${cmd.join(' ')} --help`)
    }
    const ack = await runMon(['alerts', 'ack', '--help'], {env})
    assert.match(ack.stdout, /^USAGE\n {2}\$ mon alerts ack \[ID\.\.\.\]/m)
    assert.match(ack.stdout, /\[ID\.\.\.\] +alert ids/)
  })

  it('README says how to put mon on PATH, and what it names works: package.json bin → an executable bin/run.js', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    assert.match(readme, /^npm link\b.*npm i -g \./m)
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {bin: Record<string, string>}
    assert.equal(pkg.bin.mon, './bin/run.js')
    assert.ok((statSync(join(ROOT, 'bin', 'run.js')).mode & 0o111) !== 0, 'bin/run.js is executable')
    assert.match(readFileSync(join(ROOT, 'bin', 'run.js'), 'utf8'), /^#!\/usr\/bin\/env node/)
  })

  it('notify outbox: a retry whose time has passed reads "due … ago", never "next … ago"', async () => {
    const hook = await startCapture()
    try {
      hook.respond(() => ({status: 503, body: 'down for maintenance'}))
      const dir = join(tmp.dir, 'outbox')
      const config = join(tmp.dir, 'outbox.yaml')
      writeFileSync(join(tmp.dir, 'heartbeat.yaml'), 'groups:\n  - name: watch\n    rules:\n      - alert: HeartbeatMissing\n        expr: absent(heartbeat.seen)\n')
      writeFileSync(config, `data_dir: ${dir}\nrules: {files: [heartbeat.yaml]}\nnotify:\n  receivers:\n    - name: hook\n      webhook_configs: [{url: "${hook.url}/alerts"}]\n  route: {receiver: hook}\n`)
      // evaluated and sent (refused) at a fixed time long past: the retry it schedules is overdue now
      const ran = await runMon(['alerts', 'eval', '--once', '--config', config, '--at', new Date(T0).toISOString(), '--all'], {env: freshEnv()})
      assert.equal(ran.code, 1, ran.stderr)
      const out = await runMon(['notify', 'outbox', '--config', config], {env: freshEnv()})
      assert.equal(out.code, 0, out.stderr)
      assert.match(out.stdout, /^\S+ +pending .* due \S+ ago /m)
      assert.doesNotMatch(out.stdout, /next \S+ ago/)
    } finally {
      await hook.close()
    }
  })
})

describe('issue 16: one name for the API token, MON_API_TOKEN', () => {
  const TOKEN = 'trust-smaller-api-token-9c1e'
  let s: AlertScenario
  let api: RunningApi
  before(async () => {
    s = await startAlertScenario({extraConfig: {api: {listen: '127.0.0.1:0'}}})
    api = await startIncidentApi(s.configPath, {...s.env, MON_API_TOKEN: TOKEN})
  })
  after(async () => {
    await api?.stop()
    await s?.close()
  })

  it('mon alerts --remote reads MON_API_TOKEN, the name the daemon reads', async () => {
    const r = await runMon(['alerts', 'list', '--remote', api.url, '--json'], {env: {...s.env, MON_API_TOKEN: TOKEN, MON_TOKEN: ''}})
    assert.equal(r.code, 0, r.stderr)
    assert.ok(Array.isArray(JSON.parse(r.stdout)))
    assert.equal(r.stderr, '')
  })

  it('MON_TOKEN still works, with a deprecation warning on stderr', async () => {
    const r = await runMon(['alerts', 'list', '--remote', api.url, '--json'], {env: {...s.env, MON_API_TOKEN: '', MON_TOKEN: TOKEN}})
    assert.equal(r.code, 0, r.stderr)
    assert.ok(Array.isArray(JSON.parse(r.stdout)))
    assert.match(r.stderr, /^warning: MON_TOKEN is deprecated: set MON_API_TOKEN instead/m)
  })

  it('the hint for a missing token names MON_API_TOKEN', async () => {
    const r = await runMon(['alerts', 'list', '--remote', api.url], {env: {...s.env, MON_API_TOKEN: '', MON_TOKEN: ''}})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^hint: set MON_API_TOKEN to the api\.token of that daemon$/m)
  })
})
