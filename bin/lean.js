// Imported first by bin/run.js, before oclif and the commands are loaded and compiled.
// `mon daemon` mostly waits between short bursts of work, for weeks. Two V8 settings keep its
// resident memory flat and about 15 MB lower, for the same CPU (docs/daemon.md#memory):
// - --no-opt: no optimizing compiler (TurboFan). It gains such a process little and costs
//   compiler pages and optimized code, most of it while the commands load. The interpreter and
//   the baseline compiler run the same code: speed changes, results never do.
// - --optimize-for-size: the heap grows less between collections, instead of creeping up for
//   minutes before a major GC.
// `mon daemon --optimize` keeps V8's defaults.
import {setFlagsFromString} from 'node:v8'

if (process.argv[2] === 'daemon' && !process.argv.includes('--optimize')) {
  setFlagsFromString('--no-opt')
  setFlagsFromString('--optimize-for-size')
}
