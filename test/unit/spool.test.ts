import assert from 'node:assert/strict'
import {appendFileSync, cpSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {crc32, tableCrc32} from '../../src/core/pipeline/crc32.js'
import {RECLAIM_BYTES, Spool, payloadParts, SpoolFullError, type FsyncPolicy, type SpoolRecordInput} from '../../src/core/pipeline/spool.js'
import {tempDir} from '../helpers/servers.js'

let tmp: {dir: string; cleanup: () => void}
const clock = new ManualClock(1_700_000_000_000)

beforeEach(() => {
  tmp = tempDir('mon-spool-')
})
afterEach(() => tmp.cleanup())

function open(opts: {maxBytes?: number; segmentBytes?: number; fsync?: FsyncPolicy} = {}): Spool {
  return Spool.open({dir: join(tmp.dir, 'spool'), maxBytes: opts.maxBytes ?? 1 << 30, segmentBytes: opts.segmentBytes ?? 16 << 20, fsync: opts.fsync ?? 'batch', clock})
}

const rec = (i: number, input = 'host'): SpoolRecordInput => ({input, points: 2, precision: 'ms', payload: `m,n=${i} v=${i} ${1000 + i}\nm,n=${i} w=${i} ${1000 + i}\n`})
const segments = () => readdirSync(join(tmp.dir, 'spool')).filter((f) => f.endsWith('.seg')).sort()

async function readAll(spool: Spool, maxPoints = 1_000_000): Promise<string[]> {
  const out: string[] = []
  for (;;) {
    const b = await spool.readBatch(maxPoints)
    if (!b) return out
    for (const r of b.records) out.push(r.payload.toString())
    spool.ack(b)
  }
}

describe('spool', () => {
  it('CRC-32 matches the table implementation and continues across parts', () => {
    const data = Buffer.from('hello, spool — ünïcode')
    assert.equal(crc32(data), tableCrc32(data))
    assert.equal(crc32(data.subarray(7), crc32(data.subarray(0, 7))), crc32(data))
    assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926)
  })

  for (const fsync of ['always', 'batch', 'never'] as const) {
    it(`appends and reads records back in order (fsync=${fsync})`, async () => {
      const spool = open({fsync})
      await Promise.all([spool.append([rec(1), rec(2, 'http:api')]), spool.append([rec(3)])])
      const b = await spool.readBatch(100)
      assert.ok(b)
      assert.deepEqual(
        b.records.map((r) => [r.input, r.points, r.precision, r.appendedAt, r.payload.toString()]),
        [1, 2, 3].map((i) => [i === 2 ? 'http:api' : 'host', 2, 'ms', clock.now(), rec(i).payload]),
      )
      assert.equal(b.points, 6)
      assert.deepEqual(spool.backlog(), {records: 3, points: 6})
      spool.ack(b)
      assert.deepEqual(spool.backlog(), {records: 0, points: 0})
      assert.equal(await spool.readBatch(100), undefined)
      await spool.close()
    })
  }

  it('after a restart replays from the last acknowledged record, not the segment start', async () => {
    let spool = open()
    await spool.append([rec(1), rec(2), rec(3)])
    const first = await spool.readBatch(1) // one record: batches hold whole records
    assert.equal(first!.records.length, 1)
    spool.ack(first!)
    const second = await spool.readBatch(1) // read but never acknowledged (crash mid-write)
    assert.equal(second!.records[0]!.payload.toString(), rec(2).payload)
    await spool.close()

    spool = open()
    assert.deepEqual(spool.status().recovered, {records: 2, points: 4})
    assert.deepEqual(await readAll(spool), [rec(2).payload, rec(3).payload])
    await spool.close()
  })

  it('records the acknowledged position at most every ackPersistMs, and a crash before that replays more, never less', async () => {
    const dir = join(tmp.dir, 'spool')
    const ackFile = () => JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8')) as {segment: number; offset: number}
    const spool = Spool.open({dir, maxBytes: 1 << 30, segmentBytes: 16 << 20, fsync: 'batch', clock, ackPersistMs: 150})
    await spool.append([rec(1)])
    await spool.append([rec(2)])
    await spool.append([rec(3)])
    const [a, b] = [await spool.readBatch(1), await spool.readBatch(1)]
    spool.ack(a!)
    assert.deepEqual(ackFile(), a!.end, 'the first acknowledgement is recorded at once')
    spool.ack(b!)
    assert.deepEqual(ackFile(), a!.end, 'the next one within ackPersistMs waits')

    // SIGKILL now: a new process finds the older position and replays b again (the store overwrites
    // it). It opens a copy of the files as they are now, so its own close cannot race the timer below.
    const copy = join(tmp.dir, 'spool-crashed')
    cpSync(dir, copy, {recursive: true})
    const crashed = Spool.open({dir: copy, maxBytes: 1 << 30, segmentBytes: 16 << 20, fsync: 'batch', clock})
    assert.deepEqual(await readAll(crashed), [rec(2).payload, rec(3).payload])
    await crashed.close()

    await new Promise((r) => setTimeout(r, 250))
    assert.deepEqual(ackFile(), b!.end, 'recorded once ackPersistMs has passed')
    await spool.close()
  })

  it('close records the latest acknowledged position at once', async () => {
    const dir = join(tmp.dir, 'spool')
    let spool = Spool.open({dir, maxBytes: 1 << 30, segmentBytes: 16 << 20, fsync: 'batch', clock, ackPersistMs: 60_000})
    for (let i = 1; i <= 5; i++) await spool.append([rec(i)])
    for (let i = 1; i <= 4; i++) spool.ack((await spool.readBatch(1))!)
    await spool.close()
    spool = open()
    assert.deepEqual(await readAll(spool), [rec(5).payload])
    await spool.close()
  })

  it('batches taken from one chunk read, with appends in between, come back whole and in order', async () => {
    let spool = open()
    const big = (i: number): SpoolRecordInput => ({input: 'l', points: 1000, precision: 'ns', payload: `m,n=${i} v=1 ${i}\n`.repeat(1000)})
    await spool.append([big(1), big(2), big(3)])
    await spool.close()
    spool = open() // the records are in the file only
    const first = await spool.readBatch(1000)
    assert.equal(first!.records[0]!.payload.toString(), big(1).payload)
    await spool.append([big(4)])
    const rest: string[] = []
    for (let b = await spool.readBatch(1000); b; b = await spool.readBatch(1000)) {
      rest.push(...b.records.map((r) => r.payload.toString()))
      spool.ack(b)
    }
    assert.deepEqual(rest, [big(2).payload, big(3).payload, big(4).payload])
    await spool.close()
  })

  it('just-appended records reach the reader from memory exactly as the file has them', async () => {
    let spool = open()
    const input = 'http:' + 'é'.repeat(200) // cut at 255 bytes, mid-character
    await spool.append([rec(1), {input, points: 3, precision: 'ns', payload: Buffer.from('a v=1 1\nb v=2 2\nc v=3 3\n')}])
    await spool.append([rec(2, 'other')])
    const view = (b: Awaited<ReturnType<Spool['readBatch']>>) => b!.records.map((r) => [r.input, r.points, r.precision, r.appendedAt, r.payload.toString()])
    const fromMemory = [view(await spool.readBatch(2)), view(await spool.readBatch(100))]
    spool.rewind() // read again: now from the file
    const fromFile = [view(await spool.readBatch(2)), view(await spool.readBatch(100))]
    assert.deepEqual(fromMemory, fromFile)
    await spool.close()
    spool = open()
    assert.deepEqual([view(await spool.readBatch(2)), view(await spool.readBatch(100))], fromFile)
    await spool.close()
  })

  it('a record appended in parts (a request body as it arrived) is one record: the same from memory, from the file and after a restart', async () => {
    let spool = open()
    const parts = [Buffer.from('a v=1 1\nb v='), Buffer.alloc(0), Buffer.from('2 2\n'), Buffer.from('c v=3 3\n')]
    await spool.append([rec(1), {input: 'listener', points: 3, precision: 'ms', payload: parts}, rec(2)])
    const view = (b: Awaited<ReturnType<Spool['readBatch']>>) => b!.records.map((r) => [r.input, r.points, r.precision, r.payload.toString()])
    const fromMemory = view(await spool.readBatch(100))
    assert.deepEqual(fromMemory[1], ['listener', 3, 'ms', 'a v=1 1\nb v=2 2\nc v=3 3\n'])
    spool.rewind()
    assert.deepEqual(view(await spool.readBatch(100)), fromMemory)
    await spool.close()
    spool = open() // every record's length and CRC checked again on opening
    assert.deepEqual(view(await spool.readBatch(100)), fromMemory)
    assert.deepEqual(spool.status().dropped, {records: 0, points: 0, segments: 0, corruptBytes: 0})
    await spool.close()
  })

  it('a record appended in parts and taken from memory is handed over in those parts (joined only if its payload is read); from the file, whole', async () => {
    let spool = open()
    const parts = [Buffer.from('a v=1 1\nb v='), Buffer.from('2 2\n'), Buffer.from('c v=3 3\n')]
    await spool.append([{input: 'listener', points: 3, precision: 'ms', payload: parts}])
    const fromMemory = (await spool.readBatch(100))!
    assert.equal(fromMemory.bytes, 24)
    const [r] = fromMemory.records
    assert.deepEqual(payloadParts(r!), parts)
    assert.equal(payloadParts(r!)[0], parts[0], 'the very buffers, not copies')
    assert.equal(r!.payload.toString(), 'a v=1 1\nb v=2 2\nc v=3 3\n')
    assert.equal(r!.payload, r!.payload, 'joined once')
    spool.rewind()
    await spool.close()
    spool = open()
    const fromFile = (await spool.readBatch(100))!
    assert.equal(fromFile.records[0]!.parts, undefined)
    assert.deepEqual(payloadParts(fromFile.records[0]!).map(String), ['a v=1 1\nb v=2 2\nc v=3 3\n'])
    assert.equal(fromFile.bytes, 24)
    await spool.close()
  })

  it('acknowledges out of order but persists only the contiguous prefix', async () => {
    let spool = open()
    await spool.append([rec(1)])
    await spool.append([rec(2)])
    await spool.append([rec(3)])
    const [a, b, c] = [await spool.readBatch(1), await spool.readBatch(1), await spool.readBatch(1)]
    spool.ack(c!)
    spool.ack(a!)
    await spool.close()
    spool = open()
    assert.deepEqual(await readAll(spool), [rec(2).payload, rec(3).payload], 'b was never acknowledged, so b and c replay')
    void b
    await spool.close()
  })

  it('truncates a torn write left by a crash and keeps the whole records before it', async () => {
    let spool = open()
    await spool.append([rec(1), rec(2)])
    await spool.close()
    const seg = join(tmp.dir, 'spool', segments()[0]!)
    const good = statSync(seg).size
    // half of a third record: a length prefix promising more than is there
    const torn = Buffer.alloc(30)
    torn.writeUInt32LE(500, 0)
    appendFileSync(seg, torn)

    spool = open()
    assert.equal(statSync(seg).size, good, 'the torn tail is cut off')
    assert.equal(spool.status().dropped.corruptBytes, 30)
    await spool.append([rec(3)])
    assert.deepEqual(await readAll(spool), [rec(1).payload, rec(2).payload, rec(3).payload])
    await spool.close()
  })

  it('detects a corrupted record by its checksum', async () => {
    let spool = open()
    await spool.append([rec(1)])
    await spool.append([rec(2)])
    await spool.close()
    const seg = join(tmp.dir, 'spool', segments()[0]!)
    const bytes = readFileSync(seg)
    const at = bytes.lastIndexOf(Buffer.from('m,n=2 v=2'))
    bytes[at + 2] = 'X'.charCodeAt(0)
    writeFileSync(seg, bytes)
    spool = open()
    assert.deepEqual(await readAll(spool), [rec(1).payload])
    assert.ok(spool.status().dropped.corruptBytes > 0)
    await spool.close()
  })

  describe('a damaged record costs that record only (issue 15 item 3)', () => {
    /** 50 records of 2 points, written and closed; returns the segment path and where record `k` starts. */
    async function fifty(): Promise<{seg: string; starts: number[]; size: number}> {
      const spool = open()
      for (let i = 0; i < 50; i++) await spool.append([rec(i, i % 2 === 0 ? 'even' : 'odd')])
      await spool.close()
      const seg = join(tmp.dir, 'spool', segments()[0]!)
      const bytes = readFileSync(seg)
      const starts: number[] = []
      for (let at = 8; at < bytes.length; at += 8 + bytes.readUInt32LE(at)) starts.push(at)
      assert.equal(starts.length, 50)
      return {seg, starts, size: bytes.length}
    }
    const flip = (path: string, at: number) => {
      const bytes = readFileSync(path)
      bytes[at] = bytes[at]! ^ 0x5a
      writeFileSync(path, bytes)
    }
    const expectAllBut = (k: number) => Array.from({length: 50}, (_, i) => i).filter((i) => i !== k).map((i) => rec(i).payload)

    const places: Array<[string, number]> = [
      ['in the payload', 30],
      ['in the CRC', 5],
      ['in the length field', 1],
      ['in the point count', 8 + 9],
    ]
    for (const [where, offset] of places) {
      it(`a flipped byte ${where} of record 20: the other 49 are read, 1 record and its 2 points counted`, async () => {
        const {seg, starts, size} = await fifty()
        flip(seg, starts[20]! + offset)
        const spool = open()
        assert.deepEqual(await readAll(spool), expectAllBut(20))
        const st = spool.status()
        assert.equal(st.dropped.records, 1)
        assert.equal(st.dropped.corruptBytes, starts[21]! - starts[20]!, 'exactly the damaged record is skipped')
        assert.equal(st.dropped.points, 2, 'counted from the header, or from its lines when the header is the damaged part')
        assert.deepEqual(st.droppedByInput, where === 'in the point count' ? {'(damaged)': 2} : {even: 2})
        assert.equal(statSync(seg).size, size, 'nothing is cut off')
        await spool.close()
      })
    }

    it('a garbled segment header in front of intact records: the header is rewritten, every record read', async () => {
      const {seg} = await fifty()
      flip(seg, 3)
      const spool = open()
      assert.equal((await readAll(spool)).length, 50)
      assert.equal(spool.status().dropped.corruptBytes, 8)
      assert.equal(spool.status().dropped.points, 0)
      assert.ok(!existsSync(seg + '.corrupt'))
      await spool.close()
    })

    it('a damaged last record is cut off, its bytes kept beside the segment, and counted; appends go on', async () => {
      const {seg, starts} = await fifty()
      flip(seg, starts[49]! + 30)
      const spool = open()
      assert.equal(statSync(seg).size, starts[49])
      assert.ok(existsSync(`${seg}.${starts[49]}.damaged`))
      assert.equal(spool.status().dropped.points, 2)
      await spool.append([rec(50)])
      assert.deepEqual(await readAll(spool), [...expectAllBut(49), rec(50).payload])
      await spool.close()
    })

    it('damage that appears while running: the reader steps over it and counts the lost record for its input', async () => {
      const {seg, starts} = await fifty()
      const spool = open() // checks every record: all sound
      flip(seg, starts[31]! + 30)
      assert.deepEqual(await readAll(spool), expectAllBut(31))
      const st = spool.status()
      assert.deepEqual(st.droppedByInput, {odd: 2})
      assert.equal(st.dropped.corruptBytes, starts[32]! - starts[31]!)
      assert.deepEqual(spool.backlog(), {records: 0, points: 0})
      spool.rewind()
      assert.deepEqual(await readAll(spool), [], 'nothing left, and the damage is not counted twice')
      assert.equal(spool.status().dropped.corruptBytes, starts[32]! - starts[31]!)
      await spool.close()
    })
  })

  it('a missing or unreadable ack file replays everything (duplicates are overwritten by the store)', async () => {
    let spool = open()
    await spool.append([rec(1), rec(2)])
    await readAll(spool)
    await spool.close()
    writeFileSync(join(tmp.dir, 'spool', 'ack.json'), '') // e.g. a rename not yet on disk after a power cut
    spool = open()
    assert.deepEqual(await readAll(spool), [rec(1).payload, rec(2).payload])
    await spool.close()
  })

  it('rolls segments and deletes the ones fully acknowledged', async () => {
    const spool = open({segmentBytes: 4096})
    for (let i = 0; i < 200; i++) await spool.append([rec(i)])
    assert.ok(segments().length > 3, `${segments().length} segments`)
    const got = await readAll(spool, 50)
    assert.equal(got.length, 200)
    assert.equal(segments().length, 1, 'only the active segment remains')
    assert.equal(spool.status().records, 0)
    await spool.close()
  })

  it('frees the active segment once it holds RECLAIM_BYTES and all of it is stored; a restart after that loses nothing', async () => {
    let spool = open()
    const big = (i: number): SpoolRecordInput => ({input: 'push', points: 1, precision: 'ms', payload: `big,n=${i} v="${'x'.repeat(64 * 1024)}" ${i}\n`})
    const count = Math.ceil(RECLAIM_BYTES / (64 * 1024)) + 1
    for (let i = 0; i < count; i++) await spool.append([big(i)])
    const [before] = segments()
    assert.equal(await readAll(spool).then((r) => r.length), count)
    // stored bytes do not wait for the 16 MiB segment to fill up: a fresh segment replaces it
    assert.deepEqual(segments().length, 1)
    assert.notEqual(segments()[0], before)
    assert.equal(statSync(join(tmp.dir, 'spool', segments()[0]!)).size, 8)
    // below RECLAIM_BYTES the active segment stays (no file per batch for a writer that keeps up)
    await spool.append([rec(1)])
    assert.deepEqual(await readAll(spool), [rec(1).payload])
    const kept = segments()
    await spool.append([rec(2)])
    await spool.close()
    spool = open()
    assert.deepEqual(segments(), kept)
    assert.deepEqual(await readAll(spool), [rec(2).payload], 'the record after the reclaim is replayed, the stored ones are not')
    await spool.close()
  })

  it('beyond max_bytes drops the oldest segments and counts what they held, per input', async () => {
    const spool = open({maxBytes: 32 * 1024, segmentBytes: 4096})
    for (let i = 0; i < 1000; i++) await spool.append([rec(i, i % 2 ? 'a' : 'b')])
    const st = spool.status()
    assert.ok(st.bytes <= 32 * 1024, `${st.bytes} bytes on disk`)
    assert.ok(st.dropped.segments > 0)
    assert.equal(st.dropped.points + st.points, 2000, 'every point is either still spooled or counted as dropped')
    assert.equal((st.droppedByInput.a ?? 0) + (st.droppedByInput.b ?? 0), st.dropped.points)
    const got = await readAll(spool)
    assert.equal(got.at(-1), rec(999).payload, 'the newest data is kept')
    assert.equal(got.length * 2, st.points)
    await spool.close()
  })

  it('when_full: reject refuses an append that does not fit, writes nothing of it, and takes appends again once there is room', async () => {
    const spool = Spool.open({dir: join(tmp.dir, 'spool'), maxBytes: 32 * 1024, segmentBytes: 4096, fsync: 'never', whenFull: 'reject', clock})
    let taken = 0
    for (;;) {
      try {
        await spool.append([rec(taken)])
        taken++
      } catch (err) {
        assert.ok(err instanceof SpoolFullError, String(err))
        break
      }
    }
    const st = spool.status()
    assert.ok(st.bytes <= 32 * 1024, `${st.bytes} bytes on disk`)
    assert.deepEqual(st.dropped, {records: 0, points: 0, segments: 0, corruptBytes: 0}, 'nothing taken is dropped')
    assert.equal(st.points, taken * 2)
    assert.deepEqual(st.refused, {records: 1, points: 2})
    assert.equal(st.full, true)
    const bytes = st.bytes
    await assert.rejects(spool.append([rec(taken)]), SpoolFullError)
    assert.equal(spool.status().bytes, bytes, 'a refused append leaves no bytes behind')
    assert.equal((await readAll(spool)).length, taken, 'every taken record is read back')
    await spool.append([rec(taken)])
    assert.equal(spool.status().full, false)
    await spool.close()
  })

  it('says why it dropped points, per input: spool_full, store_rejected', async () => {
    const spool = open({maxBytes: 32 * 1024, segmentBytes: 4096})
    for (let i = 0; i < 1000; i++) await spool.append([rec(i, i % 2 ? 'a' : 'b')])
    const full = spool.status()
    assert.deepEqual(full.droppedByReason, {a: {spool_full: full.droppedByInput.a}, b: {spool_full: full.droppedByInput.b}})
    const batch = (await spool.readBatch(2))!
    spool.reject(batch)
    const input = batch.records[0]!.input as 'a' | 'b'
    assert.deepEqual(spool.status().droppedByReason[input], {spool_full: full.droppedByInput[input], store_rejected: 2})
    await spool.close()
  })

  it('reports the age of the oldest unacknowledged record', async () => {
    const spool = open()
    await spool.append([rec(1)])
    clock.advance(5000)
    await spool.append([rec(2)])
    clock.advance(1000)
    assert.equal(spool.status().oldestAgeMs, 6000)
    const b = await spool.readBatch(1)
    assert.equal(spool.status().oldestAgeMs, 6000, 'read but not acknowledged still counts')
    spool.ack(b!)
    assert.equal(spool.status().oldestAgeMs, 1000)
    await spool.close()
  })

  it('rewind hands unacknowledged batches out again', async () => {
    const spool = open()
    await spool.append([rec(1), rec(2)])
    const b = await spool.readBatch(100)
    assert.equal(b!.records.length, 2)
    assert.equal(await spool.readBatch(100), undefined)
    spool.rewind()
    assert.deepEqual(await readAll(spool), [rec(1).payload, rec(2).payload])
    await spool.close()
  })

  it('refuses a spool locked by a live process and takes over a stale lock', async () => {
    const dir = join(tmp.dir, 'spool')
    const spool = open()
    await spool.close()
    writeFileSync(join(dir, 'LOCK'), `${process.ppid}\n`) // our parent: alive
    assert.throws(() => open(), (err: Error) => /another mon process \(pid \d+\) is using the spool/.test(err.message))
    writeFileSync(join(dir, 'LOCK'), '2147483646\n') // no such process
    const again = open()
    await again.close()
    assert.equal(existsSync(join(dir, 'LOCK')), false, 'the lock is released on close')
  })

  it('a file that is not a segment is moved aside, not read', async () => {
    const dir = join(tmp.dir, 'spool')
    const spool = open()
    await spool.close()
    writeFileSync(join(dir, '0000000000000099.seg'), 'this is not a spool segment at all')
    const s2 = open()
    assert.ok(existsSync(join(dir, '0000000000000099.seg.corrupt')))
    await s2.close()
    truncateSync(join(dir, '0000000000000099.seg.corrupt'), 0)
  })
})
