/**
 * The embedded store's columnar fast path (parseLineColumns → SqliteWrites.writeColumns, taken by
 * the writer through SqliteStore.writeSpooledLines) against the exact path (parseLineProtocol →
 * Point[] → store.write): whenever the fast path answers, it reads the same runs and leaves the
 * same rows; when it is not sure, it writes nothing and the exact path decides.
 */
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {join} from 'node:path'
import {parseLineColumns, parseLineProtocol, type Precision} from '../../src/core/model/line-protocol/index.js'
import {fieldType, numericValue, seriesKey, type Point} from '../../src/core/model/point.js'
import type {SpoolBatch} from '../../src/core/pipeline/spool.js'
import {writeBatch} from '../../src/core/pipeline/writer.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {tempDir} from '../helpers/servers.js'

/** runs per series field, keyed `seriesKey \0 field`, values in line order, from parsed points */
function runsOfPoints(points: Point[]): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>()
  for (const p of points) {
    for (const [name, v] of Object.entries(p.fields)) {
      assert.ok(typeof v === 'number' || typeof v === 'bigint', `the fast path answered for a ${typeof v} field`)
      const k = seriesKey(p.measurement, p.tags) + '\0' + name + '\0' + fieldType(v)
      let run = out.get(k)
      if (!run) out.set(k, (run = []))
      run.push([p.ts, numericValue(v)!])
    }
  }
  return out
}

function runsOfColumns(body: string, precision: Precision): Map<string, Array<[number, number]>> | undefined {
  const cols = parseLineColumns([Buffer.from(body, 'latin1')], precision)
  if (!cols) return undefined
  const out = new Map<string, Array<[number, number]>>()
  for (const s of cols.series) {
    s.fields.forEach((name, f) => {
      const k = seriesKey(s.measurement, s.tags) + '\0' + name + '\0' + s.types[f]
      assert.ok(!out.has(k), 'one series field twice (another spelling of a series) in this corpus')
      const run = s.runs[f]!
      out.set(
        k,
        run.ts.map((t, i) => [t, run.values[i]!]),
      )
    })
  }
  return out
}

/** Same verdict both ways: the fast path answers only for bodies the exact parser reads whole, and then the same. */
function assertSame(body: string, precision: Precision): boolean {
  const fast = runsOfColumns(body, precision)
  if (!fast) return false
  const exact = parseLineProtocol(body, {precision, now: 0})
  assert.deepEqual(exact.errors, [], `the fast path took a body the exact parser refuses: ${JSON.stringify(body)}`)
  assert.deepEqual(
    [...fast].sort(),
    [...runsOfPoints(exact.points)].sort(),
    JSON.stringify(body),
  )
  const cols = parseLineColumns([Buffer.from(body, 'latin1')], precision)!
  assert.equal(cols.lines, exact.points.length)
  return true
}

/** A small seeded generator: the corpus is the same every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0
    return s / 2 ** 32
  }
}

describe('parseLineColumns', () => {
  it('reads the common shape as the exact parser does, in every precision', () => {
    const body = [
      'cpu,host=a,cpu=cpu0 usage_user=1.5,usage_system=-0.25,usage_idle=98 1700000000123',
      'cpu,host=b,cpu=cpu0 usage_user=.5,usage_system=1.,usage_idle=0 1700000000123',
      'cpu,host=a,cpu=cpu0 usage_user=2,usage_system=3,usage_idle=4 1700000000124',
      '',
      'mem used=123456789012345678,free=0.1234567890123456789 -1700000000001',
      'mem used=-0,free=-0.0 0',
      'disk used=12i,free=-3i,inodes=0i,zero=-0i,big=999999999999999i 1700000000000',
      'disk used=13i,free=-4i,inodes=007i,zero=0i,big=-999999999999999i 1700000000001',
      'cpu,cpu=cpu1,host=a usage_user=7 00012',
      'cpu,host=a,cpu=cpu0 usage_idle=5 1700000000200',
    ].join('\n') + '\n'
    for (const p of ['ns', 'us', 'ms'] as const) assert.ok(assertSame(body, p), `the fast path took no ${p} body`)
    // coarser units: the same with timestamps within their range
    const coarse = body.replace(/ (-?\d{7})\d+\n/g, ' $1\n')
    for (const p of ['s', 'm', 'h'] as const) assert.ok(assertSame(coarse, p), `the fast path took no ${p} body`)
    for (const p of ['s', 'm', 'h'] as const) assert.equal(parseLineColumns([Buffer.from(body)], p), undefined, `${p}: out of range`)
    // a negative timestamp below a millisecond is floored, as the exact parser does
    assert.ok(assertSame('m v=1 -1500001\nm v=2 -1000000\nm v=3 9223372036854775806\n', 'ns'))
  })

  it('keeps apart series whose series parts hash the same (found by bytes, chained)', () => {
    // m,t=3vlf and m,t=kpdh have the same 32-bit FNV-1a hash
    const body = 'm,t=3vlf v=1 1\nm,t=kpdh v=2 2\nm,t=3vlf v=3 3\nm,t=kpdh v=4 4\n'
    assert.ok(assertSame(body, 'ms'))
    assert.deepEqual(
      parseLineColumns([Buffer.from(body)], 'ms')!.series.map((s) => [s.key, s.runs[0]!.values]),
      [
        ['m,t=3vlf', [1, 3]],
        ['m,t=kpdh', [2, 4]],
      ],
    )
  })

  it('leaves every other shape to the exact parser', () => {
    const other = [
      'm v=1u 1', // unsigned
      'm v=1.5i 1', // not an integer
      'm v=1e3i 1',
      'm v=i 1',
      'm v=-i 1',
      'm v=1i2 1',
      'm v=1234567890123456i 1', // a long integer: the exact path checks its range
      'm v=1i 1\nm v=2 2', // one field, two types
      'm v=t 1', // boolean
      'm v="x" 1', // string
      'm v=1e3 1', // exponent
      'm v=1', // no timestamp
      'm v=1 1', // (no final newline: checked below)
      'm\\ x v=1 1', // escape
      'm,t=a\\,b v=1 1',
      '# comment',
      '#m v=1 1', // a comment too
      ' m v=1 1', // leading blank
      'm v=1 1 ', // trailing blank
      'm  v=1 1', // two spaces
      'm v=1  1',
      'm v=1 1\r', // CRLF
      'm,t=a,t=b v=1 1', // duplicate tag
      'm v=1,v=2 1', // duplicate field: the last wins, let the exact path say so
      'm,t= v=1 1', // empty tag value
      'm,=a v=1 1',
      'm, v=1 1',
      'm,t=a=b v=1 1',
      'a=b v=1 1', // = in a measurement
      ',t=a v=1 1',
      'm v= 1',
      'm v=- 1',
      'm v=. 1',
      'm v=1x 1',
      'm v=1 1x',
      'm v=1 99999999999999999999', // out of range
      'm v=NaN 1',
      'mé v=1 1', // not ASCII
      'm,__proto__=x v=1 1',
      'm v=1\t1',
    ]
    for (const line of other) {
      const body = line === 'm v=1 1' ? line : line + '\n'
      assert.equal(parseLineColumns([Buffer.from(body, 'utf8')], 'ns'), undefined, JSON.stringify(body))
      // one such line anywhere sends the whole body the exact way
      assert.equal(parseLineColumns([Buffer.from('ok v=1 1\n'), Buffer.from(body, 'utf8')], 'ns'), undefined)
    }
    assert.equal(parseLineColumns([Buffer.from('m v=1 9223372036854775807\n')], 'ns'), undefined, 'beyond InfluxDB range')
    assert.equal(parseLineColumns([Buffer.from('m v=1 9223372036855\n')], 'ms'), undefined)
    assert.equal(parseLineColumns([Buffer.from('m v=1e400 1\n')], 'ns'), undefined)
  })

  it('answers as the exact parser on random text near the common shape', () => {
    const next = rng(23)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
    const pieces = ['m', 'cpu', 'host', 'a', 'b', ',', '=', ' ', '\\', '"', '1', '0', '-', '.', '5', 'e', 'i', '\n', '#', '\t', '12', '0.5', ' 17', 'v=1', ',t=a', ' v=2 3']
    let answered = 0
    for (let k = 0; k < 20_000; k++) {
      // mostly good lines with one random piece spliced in, so both answers come up
      const lines: string[] = []
      for (let l = 0; l < 3; l++) {
        let line = `${pick(['m', 'cpu', 'm,t=a', 'cpu,host=a,cpu=b'])} ${pick(['v', 'x', 'usage'])}=${pick(['1', '-2.5', '.5', '3.', '123456789012345678', '0', '5i', '-0i'])}${pick(['', ',w=7', ',n=3i'])} ${pick(['1', '-1', '1700000000123456789', '0', '007'])}`
        if (next() < 0.3) {
          const at = Math.floor(next() * (line.length + 1))
          line = line.slice(0, at) + pick(pieces) + line.slice(at)
        }
        lines.push(line)
      }
      const body = lines.join('\n') + '\n'
      try {
        if (assertSame(body, pick(['ns', 'ms', 's'] as const))) answered++
      } catch (err) {
        // two spellings of one series (tags in another order) can land in one body here: not a difference
        if (!(err instanceof Error && err.message.includes('another spelling'))) throw err
      }
    }
    assert.ok(answered > 5000, `the fast path answered only ${answered} of 20000 bodies`)
    assert.ok(answered < 19_000, `the fast path answered ${answered} of 20000 bodies: the corpus has too few bad lines`)
  })
})

// ------------------------------------------------------------------ the store

let tmp: ReturnType<typeof tempDir>
beforeEach(() => (tmp = tempDir('mon-columns-')))
afterEach(() => tmp.cleanup())

function batchOf(payloads: string[], precision: Precision & SpoolBatch['precision'] = 'ms'): SpoolBatch {
  const records = payloads.map((p, i) => ({input: `in${i}`, points: p.split('\n').filter((l) => l && !l.startsWith('#')).length, precision, appendedAt: 0, payload: Buffer.from(p)}))
  const points = records.reduce((n, r) => n + r.points, 0)
  return {id: 1, records, points, bytes: 0, precision, start: {segment: 0, offset: 0}, end: {segment: 0, offset: 0}, firstAppendedAt: 0}
}

/** Everything a store holds, by names rather than ids: chunk rows (blobs included) and head rows. */
function contents(store: SqliteStore): {chunks: unknown[]; head: unknown[]; series: unknown[]; fields: unknown[]} {
  const db = store.database
  return {
    chunks: db
      .prepare(
        `SELECT s.key, f.measurement, f.name, c.t_start, c.t_end, c.n, c.sum, c.min, c.max, c.first, c.last, hex(c.data) AS data
         FROM chunks c JOIN series s ON s.id = c.series_id JOIN fields f ON f.id = c.field_id ORDER BY 1, 2, 3, 4`,
      )
      .all(),
    head: db.prepare(`SELECT s.key, f.name, h.ts, h.value FROM head h JOIN series s ON s.id = h.series_id JOIN fields f ON f.id = h.field_id ORDER BY 1, 2, 3`).all(),
    series: db.prepare('SELECT key, measurement, tags FROM series ORDER BY key').all(),
    fields: db.prepare('SELECT measurement, name, type FROM fields ORDER BY 1, 2').all(),
  }
}

/** The exact path, as the writer takes it for a store without the fast path. */
function exactStore(store: SqliteStore) {
  return {kind: 'exact', write: (p: Point[]) => store.write(p), query: store.query.bind(store), close: store.close.bind(store)}
}

/** A Telegraf-like body: `lines` lines over `series` series, a second apart from `t0`. */
function cpuBody(t0: number, lines: number, series = 10, m = 'cpu'): string {
  let out = ''
  for (let i = 0; i < lines; i++) {
    const s = i % series
    const k = Math.floor(i / series)
    out += `${m},host=h${s % 5},cpu=cpu${Math.floor(s / 5)} usage_user=${(k * 7 + s) % 100}.${s},usage_idle=${100 - ((k * 7 + s) % 100)},ticks=${k * 13 - 40}i ${t0 + k * 1000}\n`
  }
  return out
}

describe('the embedded store, fast path against exact path', () => {
  it('the same rows, merges and outcomes for a run of batches: appends, late and overlapping data, duplicates, small runs into head, compaction between', async () => {
    const fast = new SqliteStore({path: join(tmp.dir, 'fast.db'), retention: {raw: '3650d'}, autoCompactEvery: 0})
    const slow = new SqliteStore({path: join(tmp.dir, 'slow.db'), retention: {raw: '3650d'}, autoCompactEvery: 0})
    const t0 = 1_700_000_000_000
    const batches: Array<{payloads: string[]; compactAfter?: boolean}> = [
      {payloads: [cpuBody(t0, 500)]},
      {payloads: [cpuBody(t0 + 50_000, 500)]}, // appends
      {payloads: [cpuBody(t0 + 20_000, 300)]}, // inside stored chunks: merged, the new values win
      {payloads: ['cpu,host=h0,cpu=cpu0 usage_user=1 ' + (t0 + 500_000) + '\n', 'cpu,host=h0,cpu=cpu0 usage_user=2 ' + (t0 + 500_001) + '\n']}, // small: head rows
      {payloads: [cpuBody(t0 + 400_000, 400)]}, // a chunk over head rows
      {payloads: [cpuBody(t0 + 600_000, 100) + cpuBody(t0 + 600_000, 100).replaceAll('usage_idle=', 'usage_idle=1')]}, // duplicates: the later wins
      {payloads: [cpuBody(t0 + 700_000, 200)], compactAfter: true},
      {payloads: [cpuBody(t0 + 650_000, 300), cpuBody(t0 + 2_000_000, 50, 50, 'mem')]}, // over compacted chunks; a new measurement
      {payloads: ['cpu,host=h0,cpu=cpu0 usage_user=5 ' + (t0 - 1) + '\n']}, // before everything, small
    ]
    for (const b of batches) {
      const batch = batchOf(b.payloads)
      const a = await writeBatch(fast, batch)
      const e = await writeBatch(exactStore(slow), batch)
      assert.deepEqual(a, e)
      if (b.compactAfter) {
        fast.compact({full: true})
        slow.compact({full: true})
      }
    }
    assert.ok(contents(fast).chunks.length > 10)
    assert.deepEqual(contents(fast), contents(slow))
    const merged = await writeBatch(fast, batchOf([cpuBody(t0 + 800_000, 100) + cpuBody(t0 + 800_000, 100)]))
    assert.equal(merged.merged, 300) // 100 lines × 3 fields written twice
    await fast.close()
    await slow.close()
  })

  it('takes the exact path for what it is not sure of: the same partial writes, refused points and words', async () => {
    const t0 = 1_700_000_000_000
    const cases: Array<{name: string; before: string; body: string[]; retention?: boolean}> = [
      {name: 'a field stored with another type', before: `m,t=a v="s" ${t0}\n`, body: [`m,t=a v=1 ${t0 + 1}\nm,t=b v=2 ${t0 + 2}\n`, `m,t=c w=3 ${t0 + 3}\n`]},
      {name: 'an integer field stored as float', before: `m,t=a v=1.5 ${t0}\n`, body: [`m,t=a v=1i ${t0 + 1}\nm,t=b v=2i ${t0 + 2}\n`, `m,t=c w=3i ${t0 + 3}\n`]},
      {name: 'a new field, two types across series', before: '', body: [`m,t=a v=1i ${t0 + 1}\nm,t=b v=2 ${t0 + 2}\n`]},
      {name: 'a bad line', before: '', body: [`m v=1 ${t0}\n`, `m v=oops ${t0 + 1}\nm v=3 ${t0 + 2}\n`]},
      {name: 'tags in two orders (one series, two spellings)', before: '', body: [`m,a=1,b=2 v=1 ${t0}\nm,b=2,a=1 v=2 ${t0}\nm,a=1,b=2 v=3 ${t0 + 1}\n`]},
      {name: 'beyond raw retention', before: `m v=1 ${t0}\n`, body: [`m v=1 ${t0 - 10 * 86_400_000}\nm v=2 ${t0 + 5}\n`], retention: true},
    ]
    for (const c of cases) {
      const fast = new SqliteStore({path: join(tmp.dir, `${c.name}-fast.db`), retention: {raw: '1d'}, autoCompactEvery: 0})
      const slow = new SqliteStore({path: join(tmp.dir, `${c.name}-slow.db`), retention: {raw: '1d'}, autoCompactEvery: 0})
      for (const s of [fast, slow]) {
        if (c.before) await s.write(parseLineProtocol(c.before, {precision: 'ms'}).points)
        if (c.retention) s.database.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('pruned_before:raw', ?)").run(String(t0 - 86_400_000))
      }
      assert.equal(await fast.writeSpooledLines(c.body.map((p) => Buffer.from(p)), 'ms'), undefined, c.name)
      const before = contents(fast)
      assert.deepEqual(contents(fast), before, `${c.name}: the fast path wrote nothing`)
      const batch = batchOf(c.body)
      const a = await writeBatch(fast, batch)
      const e = await writeBatch(exactStore(slow), batch)
      assert.deepEqual(a, e, c.name)
      assert.deepEqual(contents(fast), contents(slow), c.name)
      await fast.close()
      await slow.close()
    }
  })

  it('sees what another connection wrote since (the append shortcut would otherwise overlap its chunks)', async () => {
    const path = join(tmp.dir, 'mon.db')
    const store = new SqliteStore({path, autoCompactEvery: 0})
    const other = new SqliteStore({path, autoCompactEvery: 0})
    const t0 = 1_700_000_000_000
    const line = (t: number, v: number) => `m,t=a v=${v} ${t}\n`
    const run = (from: number, n: number, v: number) => Array.from({length: n}, (_, i) => line(from + i, v)).join('')
    assert.deepEqual(await store.writeSpooledLines([Buffer.from(run(t0, 20, 1))], 'ms'), {merged: 0})
    // another process writes later data; then this one writes between
    assert.deepEqual(await other.writeSpooledLines([Buffer.from(run(t0 + 100, 50, 2))], 'ms'), {merged: 0})
    assert.deepEqual(await store.writeSpooledLines([Buffer.from(run(t0 + 120, 10, 3))], 'ms'), {merged: 0})
    const chunks = store.database.prepare('SELECT t_start, t_end FROM chunks ORDER BY t_start').all() as Array<{t_start: number; t_end: number}>
    for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i]!.t_start > chunks[i - 1]!.t_end, `chunks overlap: ${JSON.stringify(chunks)}`)
    const frames = await store.query({measurement: 'm', field: 'v', matchers: [], start: t0, end: t0 + 1000})
    const rows = frames.flatMap((f) => f.rows)
    assert.equal(rows.length, 70)
    const at = (t: number) => rows.find((r) => r[0] === t)?.[1]
    assert.equal(at(t0 + 119), 2)
    assert.equal(at(t0 + 125), 3)
    assert.equal(at(t0 + 130), 2)
    await other.close()
    await store.close()
  })
})
