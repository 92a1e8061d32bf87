/**
 * The ink picker of `mon alerts ack` (no ids, on a terminal), driven for real in tmux: a detached
 * 120×30 session runs bin/run.js against the scenario's data dir; send-keys moves, selects and
 * types the comment; capture-pane shows what a person would see. Then `mon alerts list --state
 * acked --json` confirms what was acknowledged.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {after, before, describe, it} from 'node:test'
import type {AlertView} from '../../src/core/incidents/types.js'
import {startAlertScenario, type AlertScenario} from '../helpers/alert-scenario.js'
import {BIN, runMon} from '../helpers/cli.js'
import {requireBinary} from '../helpers/servers.js'

describe('mon alerts ack: the picker in a terminal (tmux)', () => {
  const tmuxBin = requireBinary('tmux', 'tmux')
  const socket = `mon-picker-${process.pid}`
  let s: AlertScenario
  const tmux = (...args: string[]): string => {
    const r = spawnSync(tmuxBin, ['-L', socket, '-f', '/dev/null', ...args], {encoding: 'utf8'})
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const pane = (session: string) => tmux('capture-pane', '-p', '-t', session)
  /** poll the screen until it shows `what` (a deadline, not a timed assertion) */
  const waitFor = async (session: string, what: RegExp): Promise<string> => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const screen = pane(session)
      if (what.test(screen)) return screen
      if (Date.now() > deadline) throw new Error(`the screen never showed ${what}:\n${screen}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  const start = (session: string, args: string) => {
    const env = Object.entries({...s.env, NO_COLOR: '1'})
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ')
    // ink renders only the last frame when it believes it runs in CI: this is a terminal
    const command = `env -u CI -u CONTINUOUS_INTEGRATION ${env} '${process.execPath}' '${BIN}' ${args}; echo "[exit $?]"; sleep 600`
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', command)
  }

  before(async () => {
    s = await startAlertScenario()
    await s.metrics(s.t0, {'web-1': 97}, {'web-1': 9.5})
    await s.step(s.t0)
  })
  after(async () => {
    spawnSync(tmuxBin, ['-L', socket, 'kill-server'])
    await s.close()
  })

  it('arrows, space, enter, a comment: the chosen alert is acknowledged', async () => {
    start('ack', 'alerts ack --by pat@tmux')
    const screen = await waitFor('ack', /0 selected of 2/)
    assert.match(screen, /Select alerts to acknowledge/)
    const rows = screen.split('\n').filter((l) => /\[ \]/.test(l))
    assert.equal(rows.length, 2, screen)
    assert.match(rows[0]!, /^> \[ \] [0-9a-f]{4,}\s+critical\s+HighCpu\s+host=web-1\s+firing\s+\d+m$/)
    assert.match(rows[1]!, /^ {2}\[ \] [0-9a-f]{4,}\s+warning\s+HighLoad\s+host=web-1\s+firing\s+\d+m$/)

    tmux('send-keys', '-t', 'ack', 'Down')
    await waitFor('ack', /^> \[ \] \S+\s+warning/m)
    tmux('send-keys', '-t', 'ack', 'Space')
    await waitFor('ack', /^> \[x\] \S+\s+warning\s+HighLoad.*\n[\s\S]*1 selected of 2/m)
    tmux('send-keys', '-t', 'ack', 'Enter')
    await waitFor('ack', /Acknowledge 1 alert: [0-9a-f]{4,}\n.*Comment \(optional\):/)
    tmux('send-keys', '-t', 'ack', '-l', 'backup job, expected')
    await waitFor('ack', /Comment \(optional\): backup job, expected/)
    tmux('send-keys', '-t', 'ack', 'Enter')
    const done = await waitFor('ack', /\[exit \d+\]/)
    assert.match(done, /\[exit 0\]/)
    assert.match(done, /^acknowledged [0-9a-f]{4,} HighLoad \(incident #\d+\) as pat@tmux: backup job, expected$/m)

    const r = await runMon(['alerts', 'list', '--state', 'acked', '--json'], {env: s.env})
    assert.equal(r.code, 0, r.stderr)
    const acked = JSON.parse(r.stdout) as AlertView[]
    assert.deepEqual(
      acked.map((a) => [a.alertname, a.labels.host, a.ackedBy, a.incident?.ackComment]),
      [['HighLoad', 'web-1', 'pat@tmux', 'backup job, expected']],
    )
  })

  it('only unacknowledged alerts are offered; q cancels without acknowledging anything', async () => {
    start('cancel', 'alerts ack')
    const screen = await waitFor('cancel', /0 selected of 1/)
    assert.match(screen, /HighCpu/)
    assert.doesNotMatch(screen, /HighLoad/)
    tmux('send-keys', '-t', 'cancel', 'q')
    const done = await waitFor('cancel', /\[exit \d+\]/)
    assert.match(done, /error: cancelled: nothing acknowledged/)
    assert.match(done, /\[exit 1\]/)
    const r = await runMon(['alerts', 'list', '--state', 'acked', '--json'], {env: s.env})
    assert.equal((JSON.parse(r.stdout) as AlertView[]).length, 1)
  })
})
