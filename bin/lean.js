// Imported first by bin/run.js, before oclif and the commands are loaded and compiled.
// `mon daemon` (and continuous `mon collect`) mostly waits between short bursts of work, for weeks.
// V8's defaults suit the opposite (short, busy programs); these keep its resident memory flat and
// several MB lower at the same CPU (docs/daemon.md#memory):
// - --no-opt: no optimizing compiler (TurboFan). Code that runs a few times a minute gains nothing
//   from it, and once it kicks in — after minutes of rule evaluations — it pages in about 4 MB of
//   the node binary (the compiler's own code) besides the optimized code. The one hot path, the
//   push listener's line-protocol check under load, turns it back on when the listener starts
//   (src/core/runtime.ts): that check is 14× slower without it.
// - --interrupt-budget (15× the default): with the compiler back on, a function must run 15×
//   longer before it is optimized, so only truly hot code is.
// - --optimize-for-size: the heap grows less between collections.
// - a full garbage collection a minute: the heap gives back what it grew by between major
//   collections instead of creeping up for minutes (a few ms of CPU each).
// `--optimize` keeps V8's defaults.
// CommonJS (bin/package.json), like all of bin/: no ESM loader at start (docs/startup.md).
'use strict'

const [command, ...args] = process.argv.slice(2)
const longRunning = command === 'daemon' || (command === 'collect' && !args.includes('--once'))
// bin/run.js: these start from dist/src, not from the bundle (docs/startup.md)
globalThis[Symbol.for('mon.longRunning')] = longRunning
if (longRunning && !args.includes('--optimize')) {
  const {setFlagsFromString} = require('node:v8')
  const {runInNewContext} = require('node:vm')
  setFlagsFromString('--no-opt')
  setFlagsFromString('--interrupt-budget=1000000')
  setFlagsFromString('--optimize-for-size')
  // the gc() of --expose-gc, from a context created after the flag (the main one has none)
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc')
  setInterval(() => gc(), 60_000).unref()
  globalThis[Symbol.for('mon.lean')] = true
}
