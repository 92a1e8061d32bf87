import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {cronSchedule, intervalSchedule, parseSchedule} from '../../src/core/scheduler/schedule.js'
import {Scheduler, type Job} from '../../src/core/scheduler/scheduler.js'
import {ManualTimer} from '../../src/core/scheduler/timer.js'

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0, 500) // 12:00:00.500 UTC

function recorder(timer: ManualTimer, name = 'job', spec = '10s', jitter = 0) {
  const runs: number[] = []
  const job: Job = {name, schedule: parseSchedule(spec, {timezone: 'UTC'}), jitter, run: async () => void runs.push(timer.now())}
  return {job, runs}
}

describe('schedules', () => {
  const table: Array<[string, string, string | undefined, number, number]> = [
    // spec, from (ISO), tz, → next (ISO as ms)
    ['10s', '2026-01-15T12:00:00.500Z', undefined, T0, Date.UTC(2026, 0, 15, 12, 0, 10)],
    ['10s', '2026-01-15T12:00:10.000Z', undefined, 0, Date.UTC(2026, 0, 15, 12, 0, 20)],
    ['1m', '2026-01-15T12:00:59.999Z', undefined, 0, Date.UTC(2026, 0, 15, 12, 1, 0)],
    ['*/5 * * * *', '2026-01-15T12:03:00.000Z', 'UTC', 0, Date.UTC(2026, 0, 15, 12, 5, 0)],
    ['*/5 * * * *', '2026-01-15T12:05:00.000Z', 'UTC', 0, Date.UTC(2026, 0, 15, 12, 10, 0)],
    ['*/15 * * * * *', '2026-01-15T12:00:14.200Z', 'UTC', 0, Date.UTC(2026, 0, 15, 12, 0, 15)],
    ['0 3 * * *', '2026-01-15T12:00:00.000Z', 'Europe/Berlin', 0, Date.UTC(2026, 0, 16, 2, 0, 0)], // CET = UTC+1
    ['0 3 * * *', '2026-07-15T12:00:00.000Z', 'Europe/Berlin', 0, Date.UTC(2026, 6, 16, 1, 0, 0)], // CEST = UTC+2
    ['0 9 * * 1', '2026-01-15T12:00:00.000Z', 'America/New_York', 0, Date.UTC(2026, 0, 19, 14, 0, 0)], // Monday 09:00 EST
    ['@hourly', '2026-01-15T12:00:00.000Z', 'UTC', 0, Date.UTC(2026, 0, 15, 13, 0, 0)],
  ]
  for (const [spec, from, tz, , expected] of table) {
    it(`${spec}${tz ? ` (${tz})` : ''} after ${from}`, () => {
      assert.equal(new Date(parseSchedule(spec, {timezone: tz}).next(Date.parse(from))).toISOString(), new Date(expected).toISOString())
    })
  }

  it('describes itself', () => {
    assert.equal(intervalSchedule(90_000).describe(), 'every 1m30s')
    assert.equal(cronSchedule('0 3 * * *', 'Europe/Berlin').describe(), 'cron "0 3 * * *" (Europe/Berlin)')
  })

  it('rejects a bad cron expression with the expression named', () => {
    assert.throws(() => parseSchedule('61 * * * *'), /invalid cron expression "61 \* \* \* \*"/)
  })
})

describe('scheduler', () => {
  it('runs on interval boundaries', async () => {
    const timer = new ManualTimer(T0)
    const {job, runs} = recorder(timer)
    const s = new Scheduler({clock: timer, timer})
    s.add(job)
    s.start()
    await timer.advance(35_000)
    assert.deepEqual(runs.map((t) => new Date(t).toISOString().slice(11, 23)), ['12:00:10.000', '12:00:20.000', '12:00:30.000'])
    await s.stop()
    assert.equal(timer.armed, 0, 'stop clears every timer')
  })

  it('adds jitter within the configured range', async () => {
    const timer = new ManualTimer(T0)
    const {job, runs} = recorder(timer, 'j', '10s', 4000)
    const s = new Scheduler({clock: timer, timer, random: () => 0.5})
    s.add(job)
    s.start()
    await timer.advance(25_000)
    assert.deepEqual(runs.map((t) => t % 10_000), [2000, 2000])
    await s.stop()
  })

  it('after a suspend runs once, not once per missed interval, and counts the missed runs', async () => {
    const timer = new ManualTimer(T0)
    const {job, runs} = recorder(timer)
    const s = new Scheduler({clock: timer, timer})
    s.add(job)
    s.start()
    await timer.advance(10_000) // first run at 12:00:10
    assert.equal(runs.length, 1)
    timer.jump(3_600_000) // the machine sleeps an hour: the wall clock moves, the timers do not
    await timer.advance(10_000)
    assert.equal(runs.length, 2, 'one catch-up run')
    assert.equal(s.status()[0]!.missed, 360)
    await timer.advance(10_000)
    assert.equal(runs.length, 3, 'then back on the schedule')
    assert.equal(runs[2]! % 10_000, 0)
    await s.stop()
  })

  it('a wall clock stepped back does not stall the schedule', async () => {
    const timer = new ManualTimer(T0)
    const {job, runs} = recorder(timer)
    const s = new Scheduler({clock: timer, timer})
    s.add(job)
    s.start()
    await timer.advance(10_000)
    timer.jump(-3_600_000)
    await timer.advance(25_000)
    assert.ok(runs.length >= 2, `runs: ${runs.length}`)
    await s.stop()
  })

  it('waits for a cron time in pieces, so a wall clock jump forward is noticed', async () => {
    const timer = new ManualTimer(Date.UTC(2026, 0, 15, 12, 0, 0))
    const {job, runs} = recorder(timer, 'daily', '0 3 * * *')
    const s = new Scheduler({clock: timer, timer, maxSleepMs: 60_000})
    s.add(job)
    s.start()
    assert.ok(timer.nextDelay()! <= 60_000)
    timer.jump(15 * 3_600_000) // NTP fix or resume: now 03:00 next day has passed
    await timer.advance(60_000)
    assert.equal(runs.length, 1)
    await s.stop()
  })

  it('skips a run while the previous one is still going', async () => {
    const timer = new ManualTimer(T0)
    let release!: () => void
    let started = 0
    const s = new Scheduler({clock: timer, timer})
    s.add({
      name: 'slow',
      schedule: intervalSchedule(10_000),
      jitter: 0,
      run: () => {
        started++
        return new Promise<void>((r) => (release = r))
      },
    })
    s.start()
    await timer.advance(25_000)
    assert.equal(started, 1)
    assert.equal(s.status()[0]!.overlapped, 1)
    release()
    await timer.advance(10_000)
    assert.equal(started, 2)
    release()
    await s.stop()
  })

  it('stop aborts a running job', async () => {
    const timer = new ManualTimer(T0)
    let aborted = false
    const s = new Scheduler({clock: timer, timer})
    s.add({
      name: 'hang',
      schedule: intervalSchedule(10_000),
      jitter: 0,
      run: (signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve()))),
    })
    s.start()
    await timer.advance(10_000)
    await s.stop()
    assert.equal(aborted, true)
  })
})
