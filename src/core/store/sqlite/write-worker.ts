/**
 * The body of the embedded store's write thread (write-thread.ts starts it with new Worker): its
 * own SqliteStore on the same file, which takes the requests one at a time in the order they came
 * and answers each once it is committed (or with the error, serialized). Its clock is the main
 * thread's: every request carries that clock's time (compaction's schedule, maintenance's `now`).
 */
import {parentPort, workerData} from 'node:worker_threads'
import {UInt, type Point} from '../../model/point.js'
import {SqliteStore} from './store.js'
import {serializeError, type WriteReply, type WriteRequest, type WriteThreadStoreConfig} from './write-thread.js'

const config = workerData as WriteThreadStoreConfig
let now = 0
const store = new SqliteStore({...config, clock: {now: () => now}, opened: true})
const port = parentPort!

/** Structured cloning keeps bigints but not classes: an unsigned field arrives as a plain {value}. */
function revive(points: Point[]): Point[] {
  for (const p of points) {
    for (const name in p.fields) {
      const v = p.fields[name]
      if (typeof v === 'object' && v !== null && !(v instanceof UInt)) p.fields[name] = new UInt((v as {value: bigint}).value)
    }
  }
  return points
}

function run(req: Exclude<WriteRequest, {op: 'close'}>): unknown {
  now = req.now
  switch (req.op) {
    case 'lines': {
      const payloads: Buffer[] = []
      let at = 0
      for (const end of req.ends) {
        payloads.push(Buffer.from(req.bytes, at, end - at))
        at = end
      }
      return store.writeSpooledLinesSync(payloads, req.precision)
    }
    case 'points':
      return store.writeSyncOutcome(revive(req.points))
    case 'maintain':
      return store.maintainSync(req.now)
  }
}

port.on('message', (req: WriteRequest) => {
  let reply: WriteReply
  if (req.op === 'close') {
    store.closeSync()
    port.postMessage({id: req.id, ok: true} satisfies WriteReply)
    port.close()
    return
  }
  try {
    reply = {id: req.id, ok: true, value: run(req)}
  } catch (err) {
    reply = {id: req.id, ok: false, error: serializeError(err)}
  }
  port.postMessage(reply)
})
