import {setFlagsFromString} from 'node:v8'

/**
 * bin/lean.js turns V8's optimizing compiler off for long-running processes, which mostly wait.
 * Hot paths that need it (the push listener's line-protocol check, 14× slower without it) turn it
 * back on; functions are then optimized once they have run for long enough (the interrupt budget
 * lean.js raised), so idle code still is not.
 */
export function needOptimizingCompiler(): void {
  if (!(globalThis as Record<symbol, unknown>)[Symbol.for('mon.lean')]) return
  setFlagsFromString('--opt')
}
