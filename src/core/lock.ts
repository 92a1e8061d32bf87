import {linkSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Clock} from './clock.js'
import {asDiskFull, type DiskFullError} from './disk.js'
import {UserError, errorMessage} from './errors.js'
import {sleep, type Timer} from './scheduler/timer.js'

/**
 * Pid-file locks in the data directory: one `mon daemon` per data dir (`daemon.pid`), and one
 * rule evaluator at a time (`rules.lock`, held by the daemon for its lifetime and by each
 * `mon alerts eval --once`). A lock file holds the owner's pid and nothing else, so
 * `kill -HUP $(cat daemon.pid)` works.
 *
 * A lock whose owner is gone (SIGKILL, crash, reboot) is stale and taken over. "Gone" means: no
 * such process, or (on Linux) the pid now belongs to a process that is not mon — pids are reused,
 * and after a reboot a container's daemon often gets the very pid its predecessor had.
 */

export const DAEMON_PID_FILE = 'daemon.pid'
export const RULES_LOCK_FILE = 'rules.lock'
/** the spool's own lock (src/core/pipeline/spool.ts), held by `mon collect` and the daemon */
export const SPOOL_LOCK_FILE = join('spool', 'LOCK')

export function daemonPidPath(dataDir: string): string {
  return join(dataDir, DAEMON_PID_FILE)
}

export function rulesLockPath(dataDir: string): string {
  return join(dataDir, RULES_LOCK_FILE)
}

export function spoolLockPath(dataDir: string): string {
  return join(dataDir, SPOOL_LOCK_FILE)
}

/** A lock held by another live process. */
export class LockHeldError extends UserError {
  constructor(
    readonly path: string,
    readonly pid: number,
    message: string,
    hint?: string,
  ) {
    super(message, {hint})
    this.name = 'LockHeldError'
  }
}

export interface Lock {
  readonly path: string
  /** Removes the file if it is still ours. */
  release(): void
}

export interface LockHolder {
  /** 0 when the file does not hold a pid */
  pid: number
  /** the process exists and looks like mon */
  alive: boolean
}

/** Who holds the lock at `path`: undefined when there is no (readable) lock file. */
export function readLock(path: string): LockHolder | undefined {
  const text = readText(path)
  return text === undefined ? undefined : holderOf(text)
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function holderOf(text: string): LockHolder {
  const pid = Number(text.trim().split(/\s+/)[0])
  if (!Number.isInteger(pid) || pid <= 0) return {pid: 0, alive: false}
  return {pid, alive: pid !== process.pid && isMonProcess(pid)}
}

export interface AcquireOptions {
  /**
   * The disk is too full to create the lock file: free some space (a reserve file) and return
   * true to try again, or false to fail with the disk-full error.
   */
  onDiskFull?: () => boolean
}

/**
 * Takes the lock at `path` or throws {@link LockHeldError} naming the live owner; `describe` words
 * the message from the owner's pid. A stale file is taken over. On a full disk it throws a
 * {@link DiskFullError} (after `onDiskFull` could not make room).
 */
export function acquireLock(path: string, describe: (pid: number) => {message: string; hint?: string}, opts: AcquireOptions = {}): Lock {
  let madeRoom = false
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      createWithContent(path, `${process.pid}\n`)
      return ownedLock(path)
    } catch (err) {
      const full = asDiskFull(err, 'create the lock file', path)
      if (full && !madeRoom && opts.onDiskFull?.()) {
        madeRoom = true
        continue
      }
      if (full) throw full
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`cannot create lock file ${path}: ${errorMessage(err)}`, {hint: 'check that the data directory exists and is writable'})
    }

    const stale = readText(path)
    if (stale === undefined) continue // gone meanwhile
    const holder = holderOf(stale)
    if (holder.alive) {
      const {message, hint} = describe(holder.pid)
      throw new LockHeldError(path, holder.pid, message, hint)
    }

    takeOverStale(path, stale)
  }

  throw new UserError(`cannot take the lock ${path}: it keeps changing hands`, {hint: 'is another mon starting at the same moment? try again'})
}

export interface WaitOptions {
  /** how long to wait for a live owner to let go */
  waitMs: number
  clock: Clock
  timer: Timer
  /** poll period; default 200 ms */
  pollMs?: number
  /** called with the owner's pid: throw to refuse at once instead of waiting (e.g. the owner is a daemon) */
  refuse?: (pid: number) => void
  signal?: AbortSignal
}

/** Like {@link acquireLock}, but waits up to `waitMs` for a live owner to finish. */
export async function acquireLockWaiting(path: string, describe: (pid: number, waitedMs: number) => {message: string; hint?: string}, opts: WaitOptions): Promise<Lock> {
  const started = opts.clock.now()
  for (;;) {
    try {
      return acquireLock(path, (pid) => describe(pid, opts.clock.now() - started))
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err
      opts.refuse?.(err.pid)
      if (opts.clock.now() - started >= opts.waitMs) throw err
    }

    await sleep(opts.timer, Math.min(opts.pollMs ?? 200, Math.max(1, opts.waitMs - (opts.clock.now() - started))), opts.signal)
  }
}

/**
 * Waits (up to `waitMs`) until nobody holds the lock at `path`, without taking it — for locks that
 * another module takes itself (the spool's). Returns how long it waited.
 */
export async function waitUntilFree(path: string, describe: (pid: number, waitedMs: number) => {message: string; hint?: string}, opts: WaitOptions): Promise<number> {
  const started = opts.clock.now()
  for (;;) {
    const holder = readLock(path)
    const waited = opts.clock.now() - started
    if (!holder?.alive) return waited
    opts.refuse?.(holder.pid)
    if (waited >= opts.waitMs) {
      const {message, hint} = describe(holder.pid, waited)
      throw new LockHeldError(path, holder.pid, message, hint)
    }

    await sleep(opts.timer, Math.min(opts.pollMs ?? 200, Math.max(1, opts.waitMs - waited)), opts.signal)
  }
}

function ownedLock(path: string): Lock {
  let released = false
  return {
    path,
    release() {
      if (released) return
      released = true
      try {
        if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path)
      } catch {
        // already gone
      }
    },
  }
}

/**
 * Removes a stale lock without removing a fresh one somebody else just wrote: the file is moved
 * aside (rename is atomic, so of two processes taking over only one moves it) and checked; if what
 * was moved is not the stale owner's, it is put back.
 */
/**
 * Creates `path` holding `text`, or fails with EEXIST — atomically: the pid is written to a private
 * file first and hard-linked into place, so no other process ever reads the lock file empty (which
 * would look stale and be taken over while its owner is still writing).
 */
function createWithContent(path: string, text: string): void {
  const tmp = `${path}.new-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  try {
    // on a full disk the file is created and the write fails: it goes too
    writeFileSync(tmp, text, {mode: 0o644})
    linkSync(tmp, path)
  } finally {
    rmSync(tmp, {force: true})
  }
}

function takeOverStale(path: string, staleText: string): void {
  const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  try {
    renameSync(path, aside)
  } catch {
    return // someone else moved it; try again from the top
  }

  if (readText(aside) !== staleText) {
    try {
      linkSync(aside, path) // fails if yet another one is there by now: then that one stays
    } catch {}
  }

  rmSync(aside, {force: true})
}

/**
 * Whether `pid` is a live process that could be mon. Without /proc (macOS) any live process
 * counts; with it, the command line must look like a node/mon one.
 */
export function isMonProcess(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }

  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return true // no /proc, or not ours to read: trust the pid
  }

  if (cmdline === '') return false // a zombie
  return /(^|[/\0])(node|nodejs|mon|run\.js|dev\.js)(\0|$)|\bmon\b|bin\/(run|dev)\.js/.test(cmdline)
}
