/**
 * The body of the daemon's JSON thread (json-thread.ts starts it with new Worker): writes the step
 * series it is sent as the later part of a range query's JSON answer, into the shared memory it is
 * given, with the main thread's own function (prom-json.ts' writeMatrixSeries). Answers each
 * request with the length written, or with the bytes when they did not fit, or with the error.
 */
import {parentPort} from 'node:worker_threads'
import {StepSeries} from '../query/eval/engine.js'
import {serializeError} from '../store/sqlite/write-thread.js'
import type {JsonReply, JsonRequest} from './json-thread.js'
import {JsonBytes, writeMatrixSeries} from './prom-json.js'

const port = parentPort!

port.on('message', (req: JsonRequest) => {
  let reply: JsonReply
  try {
    const out = Buffer.from(req.out)
    const w = new JsonBytes(0, out)
    const series = req.series.map((s) => new StepSeries(s.labels, s.start, s.step, s.values, s.present))
    writeMatrixSeries(w, series, 0, series.length, false)
    // room() moved to a buffer of its own when the shared one ran out
    reply = w.buf === out ? {id: req.id, ok: true, length: w.pos} : {id: req.id, ok: true, length: w.pos, bytes: w.bytes()}
  } catch (err) {
    reply = {id: req.id, ok: false, error: serializeError(err)}
  }
  port.postMessage(reply)
})

port.postMessage({ready: true} satisfies JsonReply)
