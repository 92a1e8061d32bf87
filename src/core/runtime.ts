import {setFlagsFromString} from 'node:v8'
import {useInflateCache} from './store/inflated.js'

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
  bulk = true
  growHeap()
}

/** who asked for the larger growing factor: the push listener (for good), the query APIs (while they serve) */
let bulk = false
let querying = false

function growHeap(): void {
  // 0: V8's own factor (its default)
  setFlagsFromString(`--heap-growing-percent=${bulk || querying ? BULK_BUFFERS_HEAP_GROWING_PERCENT : 0}`)
}

/**
 * For a process that answers queries (the daemon's query APIs, from their first query): a major
 * collection less often, with the same growing factor as {@link takeBulkBuffers}.
 *
 * A large range query (a day at 1 min × 10 series) allocates ~0.6 MB a request, most of it typed
 * arrays (decoded chunks, bucket and step columns) that V8 counts with its heap. Once the young
 * generation had grown to its largest (16 MB), the old generation's limit (the ~19 MB live heap
 * times V8's growing factor, ~1 here, plus the young generation's size) left less room than the
 * young generation could promote, and V8 began incremental marking and a full mark-compact every
 * ~15 requests (`--trace-incremental-marking`: "Start (task)" at 19 of 35 MB),
 * each finding ~1 MB to free: about a tenth of the daemon's CPU per request. With the limit at 5×
 * the live heap there were none in the same run. An idle daemon is unaffected (it allocates
 * nothing); one serving queries holds its dead objects longer between collections (resident
 * ~60 MiB more under a range query after another). `serveQueries(false)` — no query for a while —
 * gives V8 its own factor back, and the next major collection (lean.js runs one a minute) sizes the
 * heap by it again.
 */
export function serveQueries(active = true): void {
  if (querying === active) return
  querying = active
  growHeap()
  // recently read chunks kept inflated while queries come (store/inflated.ts), none when idle
  useInflateCache(active)
}

/** {@link serveQueries}' "for a while": a minute without a query */
const QUERIES_QUIET_MS = 60_000
let quiet: NodeJS.Timeout | undefined
let queried = false

/**
 * A query API answers a query: V8's optimizing compiler on ({@link needOptimizingCompiler}, for
 * good) and the heap sized for queries ({@link serveQueries}) until a minute passes without one.
 */
export function queryServed(): void {
  queried = true
  if (quiet) return
  needOptimizingCompiler()
  serveQueries(true)
  const check = () => {
    if (queried) {
      queried = false
      quiet = setTimeout(check, QUERIES_QUIET_MS).unref()
      return
    }
    quiet = undefined
    serveQueries(false)
  }
  queried = false
  quiet = setTimeout(check, QUERIES_QUIET_MS).unref()
}
