/**
 * Chaos: damaged SQLite files. A real embedded store (series compacted into chunks) is truncated,
 * or has pages in its middle garbled; `mon store check` finds the damage (exit 1), opening the
 * store says it is damaged instead of answering wrongly, and `mon store repair` salvages every
 * readable chunk into a new mon.db (every salvaged point has its original value), keeps the
 * damaged file aside and says what was lost. A garbled state.db is caught at open too.
 */
import assert from 'node:assert/strict'
import {copyFileSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, statSync, truncateSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {UserError} from '../../src/core/errors.js'
import {openStateDb, stateDbPath} from '../../src/core/state/db.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {StoreCheckReport, StoreRepairReport} from '../../src/core/store/sqlite/repair.js'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

const SERIES = 60
const POINTS_PER_SERIES = 4000
const TOTAL = SERIES * POINTS_PER_SERIES
const T0 = 1_700_000_000_000
/** values that do not compress away, so chunks span many pages; a function of (series, i) to check salvaged values */
const valueOf = (s: number, i: number) => Math.round(Math.sin(s * 7919 + i) * 1e9) / 1e3

let tmp: ReturnType<typeof tempDir>
let pristine: string

before(async () => {
  tmp = tempDir('mon-chaos-store-')
  pristine = join(tmp.dir, 'pristine.db')
  const store = new SqliteStore({path: pristine, autoCompactEvery: 0})
  for (let s = 0; s < SERIES; s++) {
    const points = Array.from({length: POINTS_PER_SERIES}, (_, i) => ({measurement: 'chaos', tags: {s: String(s).padStart(3, '0')}, fields: {v: valueOf(s, i)}, ts: T0 + i * 1000}))
    await store.write(points)
  }
  store.compact({full: true})
  await store.close()
  assert.equal(existsSync(`${pristine}-wal`) && statSync(`${pristine}-wal`).size > 0, false, 'everything is in the main file')
})

after(() => tmp?.cleanup())

/** A data dir holding a copy of the pristine store, damaged by `damage`. */
function damagedDataDir(name: string, damage: (path: string, size: number) => void): string {
  const dir = join(tmp.dir, name)
  mkdirSync(dir)
  const db = join(dir, 'mon.db')
  copyFileSync(pristine, db)
  damage(db, statSync(db).size)
  return dir
}

function garble(path: string, at: number, bytes: number): void {
  const fd = openSync(path, 'r+')
  try {
    const junk = Buffer.alloc(bytes)
    for (let i = 0; i < bytes; i++) junk[i] = (i * 131 + 17) & 0xff
    writeSync(fd, junk, 0, bytes, at)
  } finally {
    closeSync(fd)
  }
}

/** Every point of the store at `path`, each checked against the value it was written with. */
async function verifiedPoints(path: string): Promise<number> {
  const store = new SqliteStore({path, autoCompactEvery: 0})
  try {
    const frames = await store.query({measurement: 'chaos', field: 'v', matchers: [], start: 0, end: T0 + 1e10})
    let n = 0
    for (const f of frames) {
      const s = Number(f.tags.s)
      for (const [ts, v] of f.rows) {
        assert.equal(v, valueOf(s, ((ts as number) - T0) / 1000), `series ${s} at ${ts} has its original value`)
        n++
      }
    }
    return n
  } finally {
    await store.close()
  }
}

async function checkRepairAndVerify(label: string, dir: string): Promise<{check: StoreCheckReport; repair: StoreRepairReport; readable: number}> {
  const env = {MON_DATA_DIR: dir}
  const check = await runMon(['store', 'check', '--json'], {env})
  assert.equal(check.code, 1, `store check exits 1 on damage: ${check.stderr}`)
  const report = JSON.parse(check.stdout) as StoreCheckReport
  assert.equal(report.ok, false)

  // opening the store for anything else says it is damaged, and what to run
  const info = await runMon(['store', 'info'], {env})
  assert.equal(info.code, 1, info.stdout)
  assert.match(info.stderr, /embedded store .*mon\.db is (damaged|corrupt)/)
  assert.match(info.stderr, /mon store repair/)
  assert.doesNotMatch(info.stderr, /\n\s+at /, 'no stack trace')

  const repaired = await runMon(['store', 'repair', '--json'], {env})
  assert.equal(repaired.code, 0, repaired.stderr)
  const repair = JSON.parse(repaired.stdout) as StoreRepairReport
  assert.equal(repair.repaired, true)
  assert.ok(existsSync(repair.damagedKeptAt!), 'the damaged file is kept aside')
  assert.ok(repair.salvaged.points > 0 && repair.salvaged.points < TOTAL, `salvaged part of the store: ${repair.salvaged.points} of ${TOTAL}`)
  assert.ok(repair.lost.chunks + repair.lost.unreadable.length + repair.lost.orphans > 0, 'the report says what was lost')

  const after = await runMon(['store', 'check', '--json'], {env})
  assert.equal(after.code, 0, after.stdout)
  assert.equal((JSON.parse(after.stdout) as StoreCheckReport).ok, true)
  const readable = await verifiedPoints(join(dir, 'mon.db'))
  assert.equal(readable, repair.salvaged.points, 'every salvaged point is readable, with its original value')
  console.log(`# chaos store ${label}: ${TOTAL} points in ${SERIES} series before; check read ${report.chunks.total} chunks, ${report.integrity.length} integrity problems, ${report.chunks.undecodable} undecodable chunks, ${report.tables.reduce((n, t) => n + t.unreadable.length, 0)} unreadable ranges; repair salvaged ${repair.salvaged.points} points (${repair.salvaged.chunks} chunks, ${repair.salvaged.series} series), lost ${TOTAL - repair.salvaged.points} points`)
  return {check: report, repair, readable}
}

describe('chaos: damaged SQLite files', () => {
  it('the pristine store passes store check (exit 0), and store repair leaves it as it is', async () => {
    const dir = join(tmp.dir, 'pristine-dir')
    mkdirSync(dir)
    copyFileSync(pristine, join(dir, 'mon.db'))
    const r = await runMon(['store', 'check', '--json'], {env: {MON_DATA_DIR: dir}})
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout) as StoreCheckReport
    assert.deepEqual({ok: report.ok, points: report.points, series: report.series, integrity: report.integrity}, {ok: true, points: TOTAL, series: SERIES, integrity: []})
    const repair = await runMon(['store', 'repair', '--json'], {env: {MON_DATA_DIR: dir}})
    assert.equal(repair.code, 0, repair.stderr)
    assert.deepEqual({...(JSON.parse(repair.stdout) as StoreRepairReport), lost: undefined}, {path: join(dir, 'mon.db'), repaired: false, salvaged: {series: SERIES, fields: 1, chunks: report.chunks.total, rollups: 0, headRows: 0, points: TOTAL}, lost: undefined})
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('mon.db.')), [], 'a sound store is left as it was')
  })

  it('a truncated mon.db: check finds it, repair salvages the chunks before the cut', async () => {
    const dir = damagedDataDir('truncated', (path, size) => truncateSync(path, Math.floor((size * 0.6) / 4096) * 4096))
    await checkRepairAndVerify('truncated to 60%', dir)
  })

  it('garbled pages in the middle of mon.db: check finds them, repair salvages the rest', async () => {
    const dir = damagedDataDir('garbled', (path, size) => garble(path, Math.floor((size * 0.45) / 4096) * 4096, 8 * 4096))
    const {repair} = await checkRepairAndVerify('8 pages garbled at 45%', dir)
    assert.ok(repair.salvaged.points > TOTAL / 2, 'a few bad pages cost a few chunks, not the rest of the table')
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.repair-')), [], 'no half-written repair file left')
  })

  it('a garbled state.db is reported as damaged when it is opened', () => {
    const dir = join(tmp.dir, 'state')
    const db = openStateDb(dir, [{id: 'chaos/1', sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)'}])
    const insert = db.prepare('INSERT INTO notes (text) VALUES (?)')
    for (let i = 0; i < 5000; i++) insert.run(`note ${i} ${'x'.repeat(100)}`)
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    const path = stateDbPath(dir)
    garble(path, Math.floor((statSync(path).size * 0.5) / 4096) * 4096, 2 * 4096)
    assert.throws(
      () => openStateDb(dir),
      (err: unknown) => err instanceof UserError && /^state database .*state\.db is damaged: /.test(err.message) && /move it away/.test(err.hint ?? ''),
    )
  })
})
