/**
 * The outbox survives a killed process. A real child process enqueues a notification and starts
 * sending it; it is killed with SIGKILL; a new process on the same state.db delivers it:
 * - receiver down while the first process ran: delivered exactly once after the restart;
 * - killed between sending and marking: sent again after the lease runs out (never lost), with
 *   the same notification id so the receiver can tell.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {stringify} from 'yaml'
import {NOTIFY_MIGRATIONS} from '../../src/core/notify/migrations.js'
import {Outbox} from '../../src/core/notify/deliver/outbox.js'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {startCapture} from '../helpers/capture.js'
import {freePort, tempDir, waitFor} from '../helpers/servers.js'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'notify-child.js')

function writeConfig(dir: string, url: string): string {
  const file = join(dir, 'mon.yaml')
  writeFileSync(
    file,
    stringify({
      data_dir: join(dir, 'data'),
      notify: {
        receivers: [{name: 'hook', webhook_configs: [{url, timeout: '1s'}]}],
        route: {receiver: 'hook', group_wait: '0s'},
        outbox: {backoff: '100ms', max_backoff: '200ms', lease: '2s', max_attempts: 1000},
      },
    }),
  )
  return file
}

function startChild(config: string, dataDir: string, mode: 'enqueue' | 'resume'): {proc: ChildProcess; output: () => string} {
  let out = ''
  const proc = spawn(process.execPath, [CHILD, config, dataDir, mode], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, MON_CONFIG: ''}})
  proc.stdout!.on('data', (d) => (out = (out + d).slice(-5000)))
  proc.stderr!.on('data', (d) => (out = (out + d).slice(-5000)))
  return {proc, output: () => out}
}

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGKILL')
  await exited
}

function row(db: StateDb): {id: string; status: string; attempts: number} | undefined {
  return db.prepare('SELECT id, status, attempts FROM notify_outbox ORDER BY seq DESC LIMIT 1').get() as {id: string; status: string; attempts: number} | undefined
}

describe('outbox across a killed process', () => {
  it('receiver down, process killed: delivered exactly once after restart', async () => {
    const tmp = tempDir('mon-crash-')
    const dataDir = join(tmp.dir, 'data')
    const port = await freePort()
    const config = writeConfig(tmp.dir, `http://127.0.0.1:${port}/hook`)
    const db = openStateDb(dataDir, NOTIFY_MIGRATIONS)
    const first = startChild(config, dataDir, 'enqueue')
    let second: ReturnType<typeof startChild> | undefined
    const receiver = {close: async () => {}}
    try {
      // the row exists before any send, and fails while nobody listens
      await waitFor(async () => (row(db)?.attempts ?? 0) >= 2, 'two failed attempts', 15_000, first.proc, first.output)
      await kill(first.proc)
      const before = row(db)!
      assert.ok(['pending', 'sending'].includes(before.status), before.status)

      const capture = await startCapture({port})
      receiver.close = () => capture.close()
      second = startChild(config, dataDir, 'resume')
      await waitFor(async () => row(db)?.status === 'delivered', 'delivered after restart', 15_000, second.proc, second.output)
      // let it tick a while longer: nothing more may arrive
      await new Promise((r) => setTimeout(r, 400))
      assert.equal(capture.requests.length, 1, 'exactly once')
      assert.equal(capture.requests[0]!.headers['x-mon-notification-id'], before.id)
      const payload = capture.json<{alerts: Array<{fingerprint: string}>}>(capture.requests[0]!)
      assert.deepEqual(payload.alerts.map((a) => a.fingerprint), ['f00dfeedf00dfeed'])
      const attempts = new Outbox(db).deliveriesFor('f00dfeedf00dfeed')[0]!.attempts
      assert.ok(attempts.filter((a) => a.result === 'retry').length >= 2)
      assert.equal(attempts.at(-1)!.result, 'delivered')
      assert.match(attempts[0]!.error ?? '', /connection refused/)
    } finally {
      await kill(first.proc)
      if (second) await kill(second.proc)
      await receiver.close()
      db.close()
      tmp.cleanup()
    }
  })

  it('killed between send and mark: sent again after the lease, never lost', async () => {
    const tmp = tempDir('mon-crash-')
    const dataDir = join(tmp.dir, 'data')
    // the first request never gets an answer: the sender is killed while waiting for it
    const capture = await startCapture({responder: (_req, i) => (i === 0 ? {hang: true} : undefined)})
    const config = writeConfig(tmp.dir, `${capture.url}/hook`)
    const db = openStateDb(dataDir, NOTIFY_MIGRATIONS)
    const first = startChild(config, dataDir, 'enqueue')
    let second: ReturnType<typeof startChild> | undefined
    try {
      await waitFor(async () => capture.requests.length >= 1, 'first send', 15_000, first.proc, first.output)
      await kill(first.proc)
      assert.equal(row(db)!.status, 'sending', 'leased by the dead process')

      second = startChild(config, dataDir, 'resume')
      await waitFor(async () => row(db)?.status === 'delivered', 'delivered by the second process', 15_000, second.proc, second.output)
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(capture.requests.length, 2, 'sent again once')
      const ids = capture.requests.map((r) => r.headers['x-mon-notification-id'])
      assert.equal(ids[0], ids[1], 'the same notification id both times')
    } finally {
      await kill(first.proc)
      if (second) await kill(second.proc)
      await capture.close()
      db.close()
      tmp.cleanup()
    }
  })
})
