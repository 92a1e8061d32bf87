// Imported first by bin/run.js, before oclif and the commands are loaded and compiled.
// `mon daemon` (and continuous `mon collect`) mostly waits between short bursts of work, for weeks. Two V8 settings keep its
// resident memory flat and several MB lower at the same CPU (docs/daemon.md#memory):
// - --interrupt-budget (15× the default): a function must run 15× longer before V8's optimizing
//   compiler takes it, so code that runs a few times a minute stays in the interpreter/baseline
//   tiers (no compiler pages, no optimized code), while truly hot code — the push listener's
//   line-protocol check under load — is still optimized after a few requests. (`--no-opt` saved a
//   little more memory but made that check 14× slower.)
// - --optimize-for-size: the heap grows less between collections, instead of creeping up for
//   minutes before a major GC.
// `--optimize` keeps V8's defaults.
import {setFlagsFromString} from 'node:v8'

const [command, ...args] = process.argv.slice(2)
const longRunning = command === 'daemon' || (command === 'collect' && !args.includes('--once'))
if (longRunning && !args.includes('--optimize')) {
  setFlagsFromString('--interrupt-budget=1000000')
  setFlagsFromString('--optimize-for-size')
}
