import {execFileSync} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * A small tmpfs of its own, for tests that fill a disk. Needs root (CI runs the suite as root);
 * elsewhere it throws, so the test fails loudly instead of passing without having run.
 */
export function mountTmpfs(sizeBytes: number, prefix = 'mon-tmpfs-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], {stdio: 'pipe'})
  } catch (err) {
    rmSync(dir, {recursive: true, force: true})
    throw new Error(`this test needs its own small tmpfs (run it as root, as CI does): mount -t tmpfs failed: ${(err as {stderr?: Buffer}).stderr?.toString().trim() || String(err)}`)
  }
  return {
    dir,
    cleanup: () => {
      try {
        execFileSync('umount', [dir], {stdio: 'pipe'})
      } catch {
        // still busy (a test that failed left a file open): detach it, it goes once closed
        execFileSync('umount', ['-l', dir], {stdio: 'pipe'})
      }
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Writes `path` until the filesystem is full (ENOSPC); returns the bytes written. */
export function fillDisk(path: string): number {
  const fd = openSync(path, 'a')
  let written = 0
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const block = Buffer.alloc(size, 0x61)
      for (;;) {
        try {
          written += writeSync(fd, block)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
          break
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  return written
}
