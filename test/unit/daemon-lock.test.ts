/**
 * Pid-file locks (daemon.pid, rules.lock): a live owner refuses others, naming its pid; a dead one
 * is taken over; a waiting acquire gets the lock when the owner lets go. Owners are real child
 * processes.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {waitForSpool} from '../../src/core/daemon/cron.js'
import {acquireLock, acquireLockWaiting, LockHeldError, readLock} from '../../src/core/lock.js'
import {systemClock} from '../../src/core/clock.js'
import {systemTimer} from '../../src/core/scheduler/timer.js'
import {mkdirSync} from 'node:fs'
import {tempDir} from '../helpers/servers.js'

const tmp = tempDir('mon-lock-')
after(() => tmp.cleanup())

const describeHolder = (pid: number) => ({message: `held by pid ${pid}`, hint: 'stop it'})

/** A node process that writes its pid into `path` and lives until killed (or for `ms`). */
async function holder(path: string, ms = 60_000): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(path)} + '.tmp', process.pid + '\\n'); require('fs').renameSync(${JSON.stringify(path)} + '.tmp', ${JSON.stringify(path)}); setTimeout(() => { require('fs').rmSync(${JSON.stringify(path)}, {force: true}) }, ${ms})`], {stdio: 'ignore'})
  // until the pid is in the file (not merely created)
  for (let i = 0; i < 200 && !(existsSync(path) && readFileSync(path, 'utf8').endsWith('\n')); i++) await new Promise((r) => setTimeout(r, 10))
  return child
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((r) => child.once('exit', r))
}

describe('pid-file locks', () => {
  it('takes a free lock and releases it', () => {
    const path = join(tmp.dir, 'a.pid')
    const lock = acquireLock(path, describeHolder)
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`, 'the file holds the pid alone (kill -HUP $(cat …) works)')
    lock.release()
    assert.equal(existsSync(path), false)
  })

  it('refuses while another live process holds it, naming its pid; takes it over once that process is gone', async () => {
    const path = join(tmp.dir, 'b.pid')
    const child = await holder(path)
    try {
      assert.deepEqual(readLock(path), {pid: child.pid, alive: true})
      assert.throws(
        () => acquireLock(path, describeHolder),
        (err: unknown) => err instanceof LockHeldError && err.pid === child.pid && err.message === `held by pid ${child.pid}`,
      )
    } finally {
      child.kill('SIGKILL')
      await exited(child)
    }

    // SIGKILL left the file behind: stale
    assert.equal(readLock(path)?.alive, false)
    const lock = acquireLock(path, describeHolder)
    assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid))
    lock.release()
  })

  it('takes over garbage and its own pid (a container restarted with the same pid)', () => {
    const path = join(tmp.dir, 'c.pid')
    writeFileSync(path, 'not a pid\n')
    acquireLock(path, describeHolder).release()
    writeFileSync(path, `${process.pid}\n`)
    acquireLock(path, describeHolder).release()
  })

  it('waits for the owner to let go', async () => {
    const path = join(tmp.dir, 'd.pid')
    const child = await holder(path, 300)
    try {
      const lock = await acquireLockWaiting(path, describeHolder, {waitMs: 20_000, clock: systemClock, timer: systemTimer, pollMs: 20})
      assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid))
      lock.release()
    } finally {
      child.kill('SIGKILL')
      await exited(child)
    }
  })

  it('gives up after the wait, or at once when told to refuse', async () => {
    const path = join(tmp.dir, 'e.pid')
    const child = await holder(path)
    try {
      await assert.rejects(acquireLockWaiting(path, (pid, waited) => ({message: `pid ${pid} after ${waited >= 100 ? 'the wait' : '?'}`}), {waitMs: 100, clock: systemClock, timer: systemTimer, pollMs: 20}), {
        message: `pid ${child.pid} after the wait`,
      })
      const refuse = (pid: number) => {
        throw new Error(`refused: ${pid}`)
      }
      await assert.rejects(acquireLockWaiting(path, describeHolder, {waitMs: 60_000, clock: systemClock, timer: systemTimer, refuse}), {message: `refused: ${child.pid}`})
    } finally {
      child.kill('SIGKILL')
      await exited(child)
    }
  })
})

describe('collect --once and the spool lock', () => {
  it('waits for another run to let go of the spool', async () => {
    const dataDir = join(tmp.dir, 'data1')
    mkdirSync(join(dataDir, 'spool'), {recursive: true})
    const child = await holder(join(dataDir, 'spool', 'LOCK'), 300)
    try {
      await waitForSpool(dataDir, {waitMs: 20_000, clock: systemClock, timer: systemTimer})
    } finally {
      child.kill('SIGKILL')
      await exited(child)
    }
  })

  it('refuses at once when the daemon of the data dir holds it', async () => {
    const dataDir = join(tmp.dir, 'data2')
    mkdirSync(join(dataDir, 'spool'), {recursive: true})
    const child = await holder(join(dataDir, 'spool', 'LOCK'))
    writeFileSync(join(dataDir, 'daemon.pid'), `${child.pid}\n`)
    try {
      await assert.rejects(waitForSpool(dataDir, {waitMs: 60_000, clock: systemClock, timer: systemTimer}), {
        message: `a mon daemon (pid ${child.pid}) collects for ${dataDir}`,
      })
    } finally {
      child.kill('SIGKILL')
      await exited(child)
    }
  })
})
