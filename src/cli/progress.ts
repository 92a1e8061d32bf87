/**
 * Progress for long work: a redrawn bar on a TTY, a plain line every few seconds otherwise, nothing
 * with --json. Writes to stderr so stdout stays clean for data.
 */
export function progressReporter(label: string, opts: {enabled: boolean}): {update(done: number, total: number): void; done(): void} {
  const tty = Boolean(process.stderr.isTTY)
  let lastPlain = 0
  let drawn = false
  return {
    update(done, total) {
      if (!opts.enabled) return
      const pct = total > 0 ? Math.floor((done / total) * 100) : 0
      if (tty) {
        const width = 30
        const fill = Math.round((pct / 100) * width)
        process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}% ${done}/${total}`)
        drawn = true
      } else if (Date.now() - lastPlain > 5000 || done === total) {
        lastPlain = Date.now()
        process.stderr.write(`${label}: ${done}/${total} (${pct}%)\n`)
      }
    },
    done() {
      if (drawn) process.stderr.write('\r\u001B[K')
    },
  }
}

/**
 * Progress when the total is not known ahead (archive, import): a running count redrawn in place on
 * a TTY; nothing otherwise, since a log or pipe is better served by the command's one summary line
 * than by a line per batch.
 */
export function progressCounter(label: string, opts: {enabled: boolean; unit: string}): {update(done: number): void; done(): void} {
  const live = opts.enabled && Boolean(process.stderr.isTTY)
  let drawn = false
  return {
    update(done) {
      if (!live) return
      process.stderr.write(`\r${label}: ${done} ${opts.unit}`)
      drawn = true
    },
    done() {
      if (drawn) process.stderr.write('\r\u001B[K')
    },
  }
}
