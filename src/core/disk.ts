import {closeSync, openSync, renameSync, rmSync, statSync, statfsSync, writeSync} from 'node:fs'
import {dirname} from 'node:path'
import {UserError} from './errors.js'

/**
 * A full disk is the user's to fix (free space, grow the volume), not a bug: it is reported as a
 * {@link DiskFullError} naming the file and the free space, and the parts that write (spool,
 * lock, store) recover by themselves once space returns.
 */
export class DiskFullError extends UserError {
  constructor(
    readonly path: string,
    readonly freeBytes: number | undefined,
    what: string,
    cause?: unknown,
  ) {
    const free = freeBytes === undefined ? '' : ` (${freeBytes} bytes free)`
    super(`disk full: cannot ${what} ${path}${free}`, {hint: `free some space on the filesystem of ${dirname(path)} (a running mon carries on by itself once there is room)`, cause})
    this.name = 'DiskFullError'
  }
}

/** ENOSPC or EDQUOT (or SQLite's "database or disk is full"), also when wrapped in `cause`. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as {cause?: unknown}).cause, depth++) {
    if (e instanceof DiskFullError) return true
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true
  }
  return false
}

/** Bytes an unprivileged process may still write on the filesystem holding `path`; undefined when unknown. */
export function freeBytes(path: string): number | undefined {
  for (const p of [path, dirname(path)]) {
    try {
      const s = statfsSync(p)
      return s.bavail * s.bsize
    } catch {}
  }
  return undefined
}

/** `err` as a {@link DiskFullError} when it says the disk is full, else undefined. */
export function asDiskFull(err: unknown, what: string, path: string): DiskFullError | undefined {
  if (err instanceof DiskFullError) return err
  return isDiskFull(err) ? new DiskFullError(path, freeBytes(path), what, err) : undefined
}

/**
 * A reserve file: `bytes` of real blocks set aside while there is room, released when the disk
 * fills so that mon can still record its position, roll its spool and restart (a lock file, a
 * journal). Zeros are written, not a sparse file: a hole reserves nothing.
 */
export class DiskReserve {
  constructor(
    readonly path: string,
    readonly bytes: number,
  ) {}

  /**
   * Creates the reserve if it is missing and the disk can spare it twice over (so taking it never
   * itself fills the disk). Returns whether it is held afterwards.
   */
  take(): boolean {
    if (this.bytes <= 0) return false
    if (this.size() >= this.bytes) return true
    const free = freeBytes(dirname(this.path))
    if (free !== undefined && free < 2 * this.bytes) return false
    const tmp = `${this.path}.new`
    try {
      const fd = openSync(tmp, 'w')
      try {
        const block = Buffer.alloc(Math.min(this.bytes, 1 << 16))
        for (let done = 0; done < this.bytes; ) done += writeSync(fd, block, 0, Math.min(block.length, this.bytes - done))
      } finally {
        closeSync(fd)
      }
      // rename keeps the blocks: the reserve appears whole or not at all
      renameSync(tmp, this.path)
      return true
    } catch {
      rmSync(tmp, {force: true})
      return false
    }
  }

  /** Frees the reserve; returns whether there was one. */
  release(): boolean {
    const had = this.size() > 0
    rmSync(this.path, {force: true})
    rmSync(`${this.path}.new`, {force: true})
    return had
  }

  private size(): number {
    try {
      return statSync(this.path).size
    } catch {
      return 0
    }
  }
}
