/**
 * The body of the daemon's JSON thread (json-thread.ts starts it with new Worker). Two kinds of
 * work, one at a time in the order they come:
 * - `json`: the step series it is sent, written as the later part of a range query's JSON answer
 *   into the shared memory it is given, with the main thread's own function (prom-json.ts'
 *   writeMatrixSeries); answered with the length written, the bytes when they did not fit, or the
 *   error;
 * - `groups`: groups of an aggregate read accumulated from their chunks (accumulate.ts, the store's
 *   own function), their bucket columns written into shared memory and a shared flag set for the
 *   main thread, which waits for it.
 */
import {parentPort} from 'node:worker_threads'
import {StepSeries} from '../query/eval/engine.js'
import {DecodeScratch} from '../store/codec.js'
import {accumulateGroup, unpackGroups} from '../store/sqlite/accumulate.js'
import {serializeError} from '../store/sqlite/write-thread.js'
import type {GroupsRequest, JsonReply, JsonRequest} from './json-thread.js'
import {JsonBytes, writeMatrixSeries} from './prom-json.js'

const port = parentPort!
const scratch = new DecodeScratch()

function json(req: JsonRequest): JsonReply {
  try {
    const out = Buffer.from(req.out)
    const w = new JsonBytes(0, out)
    const series = req.series.map((s) => new StepSeries(s.labels, s.start, s.step, new Float64Array(req.input, s.at, s.n), new Uint8Array(req.input, s.at + s.n * 8, s.n)))
    writeMatrixSeries(w, series, 0, series.length, false)
    // room() moved to a buffer of its own when the shared one ran out
    return w.buf === out ? {id: req.id, ok: true, length: w.pos} : {id: req.id, ok: true, length: w.pos, bytes: w.bytes()}
  } catch (err) {
    return {id: req.id, ok: false, error: serializeError(err)}
  }
}

function groups(req: GroupsRequest): void {
  const signal = new Int32Array(req.signal)
  let state = 1
  try {
    const f = new Float64Array(req.out)
    const stride = 1 + 2 * req.slots
    const groups = unpackGroups(req.input)
    for (let j = 0; j < groups.length; j++) {
      const {ts, values} = accumulateGroup(req.plan, groups[j]!, scratch)
      const at = j * stride
      f[at] = ts.length
      f.set(ts, at + 1)
      f.set(values, at + 1 + req.slots)
    }
  } catch {
    // the main thread accumulates these groups itself, and meets the error there
    state = 2
  }
  Atomics.store(signal, 0, state)
  Atomics.notify(signal, 0)
}

port.on('message', (req: JsonRequest | GroupsRequest) => {
  if (req.kind === 'groups') groups(req)
  else port.postMessage(json(req))
})

port.postMessage({ready: true} satisfies JsonReply)
