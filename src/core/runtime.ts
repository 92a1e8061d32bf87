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
  // twice node 20's V8 default (67,584, `node --v8-options`), not the default itself as this long
  // claimed: a warm-up-curve check of the daemon's instant query with the default and with half of
  // it showed no gain through the noise, so the measured setting stays
  setFlagsFromString('--interrupt-budget=135168')
}

/** {@link takeBulkBuffers}' growing factor: V8's heap limit after a major collection is the live heap × (1 + this / 100). */
export const BULK_BUFFERS_HEAP_GROWING_PERCENT = 400

/**
 * For a process that takes bulk bodies (the push listener): a major collection less often.
 *
 * V8 counts the memory of Buffers (outside its heap) against the heap's allocation limit, and a
 * listener body lives long enough to reach the old generation (the spool keeps the last ones for
 * the writer, and the writer holds those it is sending): with the default growing factor
 * (the limit about 1.6× a ~19 MB live heap), every ~12 MB of bodies set off a full mark-compact of
 * the whole heap, most of them for the JS heap's sake needless — about a fifth of the listener's
 * CPU under sustained push (listener bench, perf). With the limit at 5× the live heap, V8's own
 * external-memory trigger (every 64 MB of Buffers) mostly decides instead: ~5× fewer major
 * collections, ~15 % less CPU a forwarded point, at the price of dead bodies kept that much longer
 * (the high-water resident size under sustained push ~40 MB higher). Young garbage is unaffected
 * (scavenges), and an idle process does not grow: nothing is allocated.
 */
export function takeBulkBuffers(): void {
  setFlagsFromString(`--heap-growing-percent=${BULK_BUFFERS_HEAP_GROWING_PERCENT}`)
}
