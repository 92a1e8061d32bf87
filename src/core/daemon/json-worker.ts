/**
 * The body of the daemon's query thread (json-thread.ts starts it with new Worker). Two kinds of
 * work, one request at a time in the order they come, each item (a series, a group) taken in turn
 * with the main thread from the request's shared counter:
 * - `json`: a range answer's series, each written with the main thread's own function
 *   (prom-json.ts' writeMatrixSeries) into its region of the shared answer;
 * - `groups`: an aggregate read's groups, each accumulated from its chunks (accumulate.ts, the
 *   store's own function) into its bucket columns in shared memory.
 * Each item's state is set when it is done (FAILED when it threw: the main thread does it again
 * and meets the error) and the main thread is woken if it sleeps on it.
 */
import {parentPort, workerData} from 'node:worker_threads'
import {StepSeries} from '../query/eval/engine.js'
import {DecodeScratch} from '../store/codec.js'
import {limitInflateCache, useInflateCache} from '../store/inflated.js'
import {accumulateGroup, unpackGroups} from '../store/sqlite/accumulate.js'
import {DONE, FAILED, NEXT, OVERFLOW, writeSeriesAt, type GroupsRequest, type JsonReply, type JsonRequest} from './json-thread.js'

const port = parentPort!
const scratch = new DecodeScratch()
// its own cache of inflated chunks, bounded as the main thread's (config query.chunk_cache), for as long as it runs
const cacheBytes = (workerData as {chunkCacheBytes?: number} | undefined)?.chunkCacheBytes ?? 0
if (cacheBytes > 0) {
  limitInflateCache(cacheBytes)
  useInflateCache(true)
}

function finish(control: Int32Array, i: number, state: number): void {
  Atomics.store(control, 1 + i, state)
  Atomics.notify(control, 1 + i)
}

function json(req: JsonRequest): void {
  const control = new Int32Array(req.control)
  const n = req.series.length
  for (let i = Atomics.add(control, NEXT, 1); i < n; i = Atomics.add(control, NEXT, 1)) {
    let state = FAILED
    try {
      const s = req.series[i]!
      const series = new StepSeries(s.labels, s.start, s.step, new Float64Array(req.input, s.at, s.n), new Uint8Array(req.input, s.at + s.n * 8, s.n))
      const {length, overflow} = writeSeriesAt(req.out, s, series, i === 0)
      control[1 + n + i] = length
      state = overflow ? OVERFLOW : DONE
    } catch {
      // the main thread writes it, and meets the error there
    }
    finish(control, i, state)
  }
}

function groups(req: GroupsRequest): void {
  const control = new Int32Array(req.control)
  let all: ReturnType<typeof unpackGroups>
  try {
    // (a request answered already, whose memory the next one has filled again, may not unpack:
    // nothing is left to take from it either)
    all = unpackGroups(req.input)
  } catch {
    all = []
  }
  const n = Math.min(all.length, (req.control.byteLength >> 2) - 1)
  const f = new Float64Array(req.out)
  const stride = 1 + 2 * req.slots
  for (let i = Atomics.add(control, NEXT, 1); i < n; i = Atomics.add(control, NEXT, 1)) {
    let state = FAILED
    try {
      const {ts, values} = accumulateGroup(req.plan, all[i]!, scratch)
      const at = i * stride
      f[at] = ts.length
      f.set(ts, at + 1)
      f.set(values, at + 1 + req.slots)
      state = DONE
    } catch {
      // the main thread accumulates it, and meets the error there
    }
    finish(control, i, state)
  }
}

port.on('message', (req: JsonRequest | GroupsRequest) => {
  if (req.kind === 'groups') groups(req)
  else json(req)
})

port.postMessage({ready: true} satisfies JsonReply)
