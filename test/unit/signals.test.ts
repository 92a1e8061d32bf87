/**
 * Signal handling shared by `mon collect` (continuous) and `mon daemon` (src/cli/signals.ts), with real
 * signals sent to this test process: SIGHUP reloads, the first SIGTERM/SIGINT asks to stop, a second
 * one exits at once with the shell's code.
 */
import assert from 'node:assert/strict'
import {afterEach, it} from 'node:test'
import {handleSignals} from '../../src/cli/signals.js'

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
const before = new Map(SIGNALS.map((s) => [s, process.listeners(s)]))

afterEach(() => {
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (!before.get(s)!.includes(l)) process.removeListener(s, l)
})

/** Waits (bounded) until `done()` holds: signals are delivered on a later turn of the event loop. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 1))
  assert.ok(done(), 'the signal was not delivered')
}

it('SIGHUP reloads, as often as it comes, until disposed', async () => {
  let reloads = 0
  const signals = handleSignals({onReload: () => reloads++, exit: () => assert.fail('SIGHUP must not exit')})
  process.kill(process.pid, 'SIGHUP')
  await until(() => reloads === 1)
  process.kill(process.pid, 'SIGHUP')
  await until(() => reloads === 2)
  signals.dispose()
  assert.equal(process.listeners('SIGHUP').length, before.get('SIGHUP')!.length)
})

it('the first SIGTERM asks to stop; a second stop signal exits at once with 128 + its number', async () => {
  const exits: number[] = []
  const signals = handleSignals({exit: (code) => exits.push(code)})
  process.kill(process.pid, 'SIGTERM')
  assert.equal(await signals.stopped, 'SIGTERM')
  assert.deepEqual(exits, [])
  process.kill(process.pid, 'SIGINT')
  await until(() => exits.length === 1)
  assert.deepEqual(exits, [130])
})

it('a stop signal that came before anyone waited is still seen (a daemon still starting)', async () => {
  const exits: number[] = []
  let reloads = 0
  const signals = handleSignals({onReload: () => reloads++, exit: (code) => exits.push(code)})
  process.kill(process.pid, 'SIGINT')
  process.kill(process.pid, 'SIGHUP')
  // the SIGHUP after it has been handled, so the SIGINT has been too, before anyone awaited `stopped`
  await until(() => reloads === 1)
  assert.equal(await signals.stopped, 'SIGINT')
  process.kill(process.pid, 'SIGTERM')
  await until(() => exits.length === 1)
  assert.deepEqual(exits, [143])
})

it('without a reload handler SIGHUP is left alone (collect keeps its default)', () => {
  const signals = handleSignals({exit: () => {}})
  assert.equal(process.listeners('SIGHUP').length, before.get('SIGHUP')!.length)
  signals.dispose()
})
