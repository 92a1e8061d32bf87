/**
 * Issue 16, "Outputs that mislead": each output that told less than the truth, run as a user runs
 * it (the real bin/run.js, temp data dirs, a real daemon where one is needed).
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {StatusReport} from '../../src/core/daemon/status.js'
import {BIN, runMon} from '../helpers/cli.js'
import {tempDir, waitFor} from '../helpers/servers.js'

let tmp: ReturnType<typeof tempDir>
before(() => {
  tmp = tempDir('mon-trust-outputs-')
})
after(() => tmp.cleanup())

describe('a broken config file while the daemon runs its last good one', () => {
  let daemon: ChildProcess | undefined
  after(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGKILL')
      await new Promise((r) => daemon!.once('exit', r))
    }
  })

  it('mon status and mon alerts list report the running daemon and warn about the file (exit 0, not 2)', {timeout: 60_000}, async () => {
    const dir = join(tmp.dir, 'broken-config')
    const dataDir = join(dir, 'data')
    const config = join(dir, 'mon.yaml')
    mkdirSync(dir, {recursive: true})
    const good = `data_dir: ${dataDir}\nagent: {interval: 1s, self_metrics: false}\ninputs: {host: {enabled: false}}\napi: {listen: "127.0.0.1:0"}\n`
    writeFileSync(config, good)
    let stderr = ''
    daemon = spawn(process.execPath, [BIN, 'daemon', '--config', config], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'ignore', 'pipe']})
    daemon.stderr!.on('data', (d) => (stderr += d))
    await waitFor(async () => existsSync(join(dataDir, 'daemon.json')), 'the daemon status file', 30_000, daemon, () => stderr)

    // an edit that does not validate: the daemon keeps running the good version
    writeFileSync(config, good + 'agent_typo: 1\nretention:\n  raw: forever\n')

    const status = await runMon(['status', '--config', config, '--json'])
    assert.equal(status.code, 0, status.stderr)
    const report = JSON.parse(status.stdout) as StatusReport
    assert.equal(report.running, true)
    assert.equal(report.dataDir, dataDir)
    assert.match(status.stderr, /^warning: .*mon\.yaml:\d+:\d+: .*still runs its last good config/m)
    assert.match(report.notes[0]!, /config file does not load: .*mon\.yaml:\d+:\d+/)

    const list = await runMon(['alerts', 'list', '--config', config, '--json'])
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(JSON.parse(list.stdout), [])
    assert.match(list.stderr, /^warning: .*mon\.yaml:\d+:\d+: .*still runs its last good config/m)

    // with no daemon the file's problem stands: exit 2 with file:line:col
    daemon.kill('SIGTERM')
    await new Promise((r) => daemon!.once('exit', r))
    const down = await runMon(['status', '--config', config])
    assert.equal(down.code, 2, down.stderr)
    assert.match(down.stderr, /mon\.yaml:\d+:\d+/)
  })
})

describe('${ENV} resolves per section used', () => {
  it('mon query and mon store info run without the API token or a channel secret; mon config validate still names the unset variable at file:line:col', async () => {
    const dir = join(tmp.dir, 'env-sections')
    const config = join(tmp.dir, 'env-sections.yaml')
    writeFileSync(
      config,
      `data_dir: ${dir}\napi:\n  listen: 127.0.0.1:0\n  token: \${MON_TEST_UNSET_TOKEN}\n` +
        `notify:\n  receivers:\n    - name: ops\n      ntfy_configs:\n        - topic: t\n          token: \${MON_TEST_UNSET_NTFY}\n  route: {receiver: ops}\n`,
    )
    const env = {MON_TEST_UNSET_TOKEN: undefined, MON_TEST_UNSET_NTFY: undefined}
    const write = await runMon(['store', 'init', '--config', config], {env})
    assert.equal(write.code, 0, write.stderr)
    const query = await runMon(['query', 'last(cpu.usage_user)', '--config', config, '--json'], {env})
    assert.equal(query.code, 0, query.stderr)
    const info = await runMon(['store', 'info', '--config', config, '--json'], {env})
    assert.equal(info.code, 0, info.stderr)

    const validate = await runMon(['config', 'validate', '--config', config], {env})
    assert.equal(validate.code, 2)
    assert.match(validate.stderr, /env-sections\.yaml:4:10: api\.token: environment variable MON_TEST_UNSET_TOKEN is not set/)
    // a command that uses the section still fails there, at the variable
    const list = await runMon(['alerts', 'list', '--config', config], {env})
    assert.equal(list.code, 2)
    assert.match(list.stderr, /env-sections\.yaml:10:18: notify\.receivers\[0\]\.ntfy_configs\[0\]\.token: environment variable MON_TEST_UNSET_NTFY is not set/)
  })
})
