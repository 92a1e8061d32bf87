import {setFlagsFromString} from 'node:v8'

/**
 * bin/lean.js turns V8's optimizing compiler off for long-running processes, which mostly wait.
 * Hot paths that need it (the push listener's line-protocol check, 14× slower without it) turn it
 * back on; functions are then optimized once they have run for long enough (the interrupt budget
 * lean.js raised), so idle code still is not.
 *
 * lean.js's `--optimize-for-size` goes too: under it V8 treats every heap as short of memory, so
 * a listener taking bodies of line protocol (a few MB a second of buffers) set off a
 * memory-reducing full collection every 100–300 ms, about a tenth of its CPU (`--trace-gc` shows
 * them as `Mark-Compact (reduce)`); without it those are rare.
 */
export function needOptimizingCompiler(): void {
  if (!(globalThis as Record<symbol, unknown>)[Symbol.for('mon.lean')]) return
  setFlagsFromString('--opt')
  setFlagsFromString('--no-optimize-for-size')
  setFlagsFromString('--interrupt-budget=135168')
}
