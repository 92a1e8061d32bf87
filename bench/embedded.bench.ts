/**
 * Embedded store (issue #2, #10): ingest rate, a mean over 1,000,000 points of one series, and
 * bytes per point — each beside a straightforward row-per-point SQLite table measured in the same
 * run (prepared INSERT, 5,000-row transactions, PRIMARY KEY (series, field, ts), WAL).
 *
 * Both sides start from the same Point objects and resolve series ids through the same in-memory
 * SeriesIndex (a trie over the tag pairs; the canonical seriesKey() is built only for a new
 * series), so the difference is the storage layout.
 */
import Database from 'better-sqlite3'
import {statSync} from 'node:fs'
import {join} from 'node:path'
import {seriesKey, type Point} from '../src/core/model/point.js'
import {SeriesIndex} from '../src/core/store/sqlite/ids.js'
import {SqliteStore} from '../src/core/store/sqlite/store.js'
import {repeat, type Bench, type BenchResult} from './lib.js'

const T0 = 1_700_000_000_000
const STEP = 10_000
const BATCH = 5000

/** Deterministic PRNG so every run writes the same data. */
function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * Realistic host-metric shapes, one field each, round-robin over the series: a 2-decimal gauge
 * random walk (cpu %), an integer counter (bytes received), and a full-precision ratio computed
 * like Telegraf's mem used_percent (used / total * 100, with used a random walk in bytes).
 */
function makeBatches(seriesCount: number, pointsPerSeries: number): Point[][] {
  const rnd = mulberry32(42)
  const total = 16 * 2 ** 30
  const state = Array.from({length: seriesCount}, () => ({gauge: 50, counter: 0, used: total / 2}))
  const all: Point[] = []
  for (let i = 0; i < pointsPerSeries; i++) {
    for (let s = 0; s < seriesCount; s++) {
      const st = state[s]
      const kind = s % 3
      let fields: Point['fields']
      if (kind === 0) {
        st.gauge = Math.min(100, Math.max(0, st.gauge + (rnd() - 0.5) * 4))
        fields = {usage_user: Math.round(st.gauge * 100) / 100}
      } else if (kind === 1) {
        st.counter += Math.floor(rnd() * 100_000)
        fields = {bytes_recv: BigInt(st.counter)}
      } else {
        st.used = Math.min(total, Math.max(0, st.used + Math.floor((rnd() - 0.5) * 50_000_000)))
        fields = {used_percent: (st.used / total) * 100}
      }

      all.push({measurement: ['cpu', 'net', 'disk'][kind], tags: {host: `host-${String(s).padStart(3, '0')}`, region: 'eu-west'}, fields, ts: T0 + i * STEP})
    }
  }

  const batches: Point[][] = []
  for (let i = 0; i < all.length; i += BATCH) batches.push(all.slice(i, i + BATCH))
  return batches
}

function openNaive(path: string): {db: Database.Database; write(points: Point[]): void} {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL);
    CREATE TABLE IF NOT EXISTS fields (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
    CREATE TABLE IF NOT EXISTS points (series_id INTEGER NOT NULL, field_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, PRIMARY KEY (series_id, field_id, ts)) WITHOUT ROWID;`)
  const insert = db.prepare('INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?)')
  const insertSeries = db.prepare('INSERT INTO series (key) VALUES (?)')
  const insertField = db.prepare('INSERT INTO fields (name) VALUES (?)')
  const seriesIds = new SeriesIndex<number>()
  const fieldIds = new Map<string, number>()
  const tx = db.transaction((points: Point[]) => {
    for (const p of points) {
      let sid = seriesIds.get(p.measurement, p.tags)
      if (sid === undefined) {
        sid = Number(insertSeries.run(seriesKey(p.measurement, p.tags)).lastInsertRowid)
        seriesIds.set(p.measurement, p.tags, sid)
      }

      for (const name in p.fields) {
        let fid = fieldIds.get(name)
        if (fid === undefined) {
          fid = Number(insertField.run(name).lastInsertRowid)
          fieldIds.set(name, fid)
        }

        insert.run(sid, fid, p.ts, Number(p.fields[name]))
      }
    }
  })
  return {db, write: (points) => tx(points)}
}

function fileBytes(path: string): number {
  let total = 0
  for (const p of [path, `${path}-wal`]) {
    try {
      total += statSync(p).size
    } catch {
      // no WAL
    }
  }

  return total
}

const bench: Bench = {
  name: 'embedded-store',
  issue: '#2, #10',
  async run(ctx) {
    const series = 100
    const perSeries = 10_000
    const total = series * perSeries
    ctx.progress(`generating ${total.toLocaleString()} points`)
    const batches = makeBatches(series, perSeries)

    let run = 0
    const ingestMon = await repeat(ctx.reps, async () => {
      ctx.progress(`mon ingest, repetition ${run + 1}`)
      const store = new SqliteStore({path: join(ctx.tmp, `mon-${run++}.db`), autoCompactEvery: 0})
      const t = performance.now()
      for (const b of batches) store.writeSync(b)
      const secs = (performance.now() - t) / 1000
      await store.close()
      return total / secs
    })
    run = 0
    const ingestNaive = await repeat(ctx.reps, async () => {
      ctx.progress(`naive ingest, repetition ${run + 1}`)
      const naive = openNaive(join(ctx.tmp, `naive-${run++}.db`))
      const t = performance.now()
      for (const b of batches) naive.write(b)
      const secs = (performance.now() - t) / 1000
      naive.db.close()
      return total / secs
    })

    // bytes per point after compaction (mon) / VACUUM (naive), same data
    ctx.progress('compacting')
    const monPath = join(ctx.tmp, 'mon-0.db')
    const store = new SqliteStore({path: monPath, autoCompactEvery: 0})
    store.compact({full: true})
    const info = await store.info()
    await store.close()
    const naiveDb = new Database(join(ctx.tmp, 'naive-0.db'))
    naiveDb.exec('VACUUM')
    naiveDb.pragma('wal_checkpoint(TRUNCATE)')
    naiveDb.close()
    const monBytes = fileBytes(monPath) / total
    const naiveBytes = fileBytes(join(ctx.tmp, 'naive-0.db')) / total

    // a mean over 1,000,000 points of one series
    ctx.progress('writing one series of 1,000,000 points')
    const one: Point[][] = []
    const rnd = mulberry32(7)
    let g = 50
    for (let i = 0; i < 1_000_000; i += BATCH) {
      const b: Point[] = []
      for (let j = i; j < i + BATCH; j++) {
        g = Math.min(100, Math.max(0, g + (rnd() - 0.5) * 4))
        b.push({measurement: 'cpu', tags: {host: 'big', cpu: 'cpu-total'}, fields: {usage_user: Math.round(g * 100) / 100}, ts: T0 + j * 1000})
      }

      one.push(b)
    }

    const bigMon = new SqliteStore({path: join(ctx.tmp, 'big-mon.db'), autoCompactEvery: 0})
    for (const b of one) bigMon.writeSync(b)
    bigMon.compact({full: true})
    const bigNaive = openNaive(join(ctx.tmp, 'big-naive.db'))
    for (const b of one) bigNaive.write(b)
    const start = T0
    const end = T0 + 1_000_000 * 1000
    let monMean = 0
    const aggMon = await repeat(
      ctx.reps,
      () => {
        const t = performance.now()
        const [f] = bigMon.querySync({measurement: 'cpu', field: 'usage_user', matchers: [{name: 'host', op: '=', value: 'big'}], start, end, aggregate: {fn: 'mean', by: []}})
        monMean = f.rows[0][1] as number
        return performance.now() - t
      },
      1,
    )
    const naiveQuery = bigNaive.db.prepare('SELECT avg(value) AS mean FROM points WHERE series_id = 1 AND field_id = 1 AND ts >= ? AND ts < ?')
    let naiveMean = 0
    const aggNaive = await repeat(
      ctx.reps,
      () => {
        const t = performance.now()
        naiveMean = (naiveQuery.get(start, end) as {mean: number}).mean
        return performance.now() - t
      },
      1,
    )
    // a range that cuts chunks at both ends, so the edges are decoded
    const inner = [start + 123_457, end - 987_653] as const
    const aggMonInner = await repeat(
      ctx.reps,
      () => {
        const t = performance.now()
        bigMon.querySync({measurement: 'cpu', field: 'usage_user', matchers: [], start: inner[0], end: inner[1], aggregate: {fn: 'mean', by: []}})
        return performance.now() - t
      },
      1,
    )
    const aggNaiveInner = await repeat(
      ctx.reps,
      () => {
        const t = performance.now()
        naiveQuery.get(inner[0], inner[1])
        return performance.now() - t
      },
      1,
    )
    // percentile needs every value: no summaries to lean on
    const pctNaive = bigNaive.db.prepare(
      'SELECT value FROM points WHERE series_id = 1 AND field_id = 1 AND ts >= ? AND ts < ? ORDER BY value LIMIT 1 OFFSET (SELECT CAST(count(*) * 0.95 + 0.5 AS INTEGER) - 1 FROM points WHERE series_id = 1 AND field_id = 1 AND ts >= ? AND ts < ?)',
    )
    const p95Mon = await repeat(ctx.reps, () => {
      const t = performance.now()
      bigMon.querySync({measurement: 'cpu', field: 'usage_user', matchers: [], start, end, aggregate: {fn: 'percentile', param: 95, by: []}})
      return performance.now() - t
    })
    const p95Naive = await repeat(ctx.reps, () => {
      const t = performance.now()
      pctNaive.get(start, end, start, end)
      return performance.now() - t
    })
    await bigMon.close()
    bigNaive.db.close()
    if (Math.abs(monMean - naiveMean) > 1e-9 * Math.abs(naiveMean)) throw new Error(`means differ: mon ${monMean} vs naive ${naiveMean}`)

    const results: BenchResult[] = [
      {
        name: `ingest (${total.toLocaleString()} points, 100 series, ${BATCH}-point batches)`,
        unit: 'points/s',
        higherIsBetter: true,
        value: ingestMon,
        baseline: {name: 'row-per-point table', value: ingestNaive},
        goal: '≥ 2× baseline',
        met: ingestMon.median >= 2 * ingestNaive.median,
      },
      {
        name: 'mean over 1,000,000 points of one series (whole range)',
        unit: 'ms',
        higherIsBetter: false,
        value: aggMon,
        baseline: {name: 'SELECT avg(value)', value: aggNaive},
        goal: '≤ ½ baseline',
        met: aggMon.median <= aggNaive.median / 2,
      },
      {
        name: 'mean over ~1,000,000 points (range cutting chunks at both ends)',
        unit: 'ms',
        higherIsBetter: false,
        value: aggMonInner,
        baseline: {name: 'SELECT avg(value)', value: aggNaiveInner},
      },
      {
        name: 'p95 over 1,000,000 points (every value decoded)',
        unit: 'ms',
        higherIsBetter: false,
        value: p95Mon,
        baseline: {name: 'ORDER BY value OFFSET', value: p95Naive},
      },
      {
        name: `bytes per point after compaction (${total.toLocaleString()} points; gauges, counters, full-precision ratios)`,
        unit: 'B',
        higherIsBetter: false,
        value: {median: monBytes, min: monBytes, max: monBytes, samples: [monBytes]},
        baseline: {name: 'row-per-point table after VACUUM', value: {median: naiveBytes, min: naiveBytes, max: naiveBytes, samples: [naiveBytes]}},
        goal: '≤ 4 B',
        met: monBytes <= 4,
        notes: `file size ÷ points; \`mon store info\` (live pages ÷ points) says ${info.bytesPerPoint?.toFixed(2)} B. One third of the series are full-precision ratios (used / total × 100), which only the XOR coding can shrink; the 2-decimal gauges and integer counters take far less.`,
      },
    ]
    return results
  },
}

export default bench
