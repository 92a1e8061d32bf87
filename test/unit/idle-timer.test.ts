/**
 * IdleTimer (src/core/scheduler/timer.ts): what the store's write thread and the daemon's query
 * thread stop by — once `ms` after the last arm(), never after clear(), never with ms ≤ 0.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {IdleTimer, ManualTimer} from '../../src/core/scheduler/timer.js'

describe('IdleTimer', () => {
  it('fires once, ms after the last arm()', async () => {
    const timer = new ManualTimer(0)
    let fired = 0
    const idle = new IdleTimer(timer, 1000, () => fired++)
    idle.arm()
    await timer.advance(600)
    idle.arm() // work came: counted from here again
    await timer.advance(600)
    assert.equal(fired, 0)
    await timer.advance(400)
    assert.equal(fired, 1)
    await timer.advance(5000)
    assert.equal(fired, 1)
    assert.equal(timer.armed, 0)
  })

  it('does not fire after clear(), and never with ms ≤ 0', async () => {
    const timer = new ManualTimer(0)
    let fired = 0
    const idle = new IdleTimer(timer, 1000, () => fired++)
    idle.arm()
    idle.clear()
    idle.clear()
    const never = new IdleTimer(timer, 0, () => fired++)
    never.arm()
    assert.equal(timer.armed, 0)
    await timer.advance(10_000)
    assert.equal(fired, 0)
  })
})
