/**
 * Chaos: damaged bytes in spool segments left by an earlier run (the store was down). A flipped
 * byte in the middle of a segment, and a garbled segment header, then `mon` starts again: real
 * files, the real agent, the embedded store. Only the damaged record may be lost, and it is
 * counted; every other spooled point reaches the store. Prints its counts.
 */
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {createAgent} from '../../src/core/pipeline/agent.js'
import {Spool, spoolDir} from '../../src/core/pipeline/spool.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {tempDir} from '../helpers/servers.js'

const T0 = 1_764_000_000_000
const PER_RECORD = 100
const RECORDS = 600
const SEGMENT_BYTES = 1 << 20

let tmp: ReturnType<typeof tempDir>
beforeEach(() => {
  tmp = tempDir('mon-chaos-spool-')
})
afterEach(() => tmp.cleanup())

/** What an earlier run left: RECORDS pushes of PER_RECORD points each, none written yet. */
async function spoolFromEarlierRun(): Promise<string[]> {
  const spool = Spool.open({dir: spoolDir(tmp.dir), maxBytes: 1 << 30, segmentBytes: SEGMENT_BYTES, fsync: 'never', clock: systemClock})
  for (let r = 0; r < RECORDS; r++) {
    let text = ''
    for (let i = 0; i < PER_RECORD; i++) text += `spooled,client=c${r % 7} v=${r * PER_RECORD + i} ${T0 + r * PER_RECORD + i}\n`
    await spool.append([{input: 'listener', points: PER_RECORD, precision: 'ms', payload: text}])
  }
  await spool.close()
  const segs = readdirSync(spoolDir(tmp.dir)).filter((f) => f.endsWith('.seg')).sort()
  assert.ok(segs.length >= 3, `several segments (${segs.length})`)
  return segs.map((f) => join(spoolDir(tmp.dir), f))
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path)
  bytes[at] = bytes[at]! ^ 0xff
  writeFileSync(path, bytes)
}

/** Starts mon on the data directory, lets it drain the spool into the store, and counts. */
async function drainAndCount(): Promise<{stored: number; droppedPoints: number; droppedRecords: number; corruptBytes: number; droppedByInput: Record<string, number>}> {
  const {config} = parseConfigText(
    `data_dir: ${tmp.dir}
agent: {self_metrics: false, flush_interval: 20ms}
inputs: {host: {enabled: false}}
spool: {fsync: never, segment_bytes: 1MiB}
`,
    '<test>',
    {},
  )
  const store = new SqliteStore({path: join(tmp.dir, 'mon.db')})
  const agent = await createAgent({config, dataDir: tmp.dir, store, clock: systemClock})
  await agent.start()
  try {
    assert.equal(await agent.flushNow(60_000), true, 'the spool drains')
    const frames = await store.query({measurement: 'spooled', field: 'v', matchers: [], start: T0, end: T0 + RECORDS * PER_RECORD})
    const st = agent.status().spool
    return {stored: frames.reduce((n, f) => n + f.rows.length, 0), droppedPoints: st.dropped.points, droppedRecords: st.dropped.records, corruptBytes: st.dropped.corruptBytes, droppedByInput: st.droppedByInput}
  } finally {
    await agent.stop(5000)
    await store.close()
  }
}

describe('chaos: damaged spool segments', () => {
  it('one flipped byte in the middle of a 1 MiB segment: only the record holding it is lost, and counted', async () => {
    const [first] = await spoolFromEarlierRun()
    const size = readFileSync(first!).length
    flipByte(first!, Math.floor(size / 2))
    const r = await drainAndCount()
    const total = RECORDS * PER_RECORD
    console.log(`[chaos-spool-corruption] flipped byte at ${Math.floor(size / 2)} of a ${size}-byte segment: stored ${r.stored} of ${total}, dropped ${r.droppedPoints} points in ${r.droppedRecords} record (${r.corruptBytes} bytes skipped), lost uncounted ${total - r.stored - r.droppedPoints}`)
    assert.equal(r.droppedRecords, 1)
    assert.equal(r.droppedPoints, PER_RECORD)
    assert.deepEqual(r.droppedByInput, {listener: PER_RECORD})
    assert.equal(r.stored, total - PER_RECORD)
  })

  it('a garbled segment header: the intact records behind it are all stored, nothing moved aside uncounted', async () => {
    const segs = await spoolFromEarlierRun()
    flipByte(segs[1]!, 2)
    const r = await drainAndCount()
    const total = RECORDS * PER_RECORD
    console.log(`[chaos-spool-corruption] garbled header of segment 2 of ${segs.length}: stored ${r.stored} of ${total}, dropped ${r.droppedPoints} (${r.corruptBytes} header bytes rewritten)`)
    assert.equal(r.stored, total)
    assert.equal(r.droppedPoints, 0)
    assert.equal(r.corruptBytes, 8)
    assert.deepEqual(readdirSync(spoolDir(tmp.dir)).filter((f) => f.endsWith('.corrupt')), [])
  })
})
