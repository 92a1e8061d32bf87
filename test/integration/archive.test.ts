import assert from 'node:assert/strict'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {after, before, describe, it} from 'node:test'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Point} from '../../src/core/model/point.js'
import {UInt} from '../../src/core/model/point.js'

let tmp: {dir: string; cleanup: () => void}
before(() => (tmp = tempDir('mon-archive-')))
after(() => tmp.cleanup())

const T0 = Date.UTC(2026, 0, 1)

async function dump(dataDir: string): Promise<Point[]> {
  const s = new SqliteStore({path: join(dataDir, 'mon.db'), autoCompactEvery: 0})
  const out: Point[] = []
  for await (const b of s.scan(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) out.push(...b)
  await s.close()
  return out
}

describe('store archive → import round trip (embedded store)', () => {
  it('is exact: every type, tricky names, string fields with quotes and newlines', async () => {
    const src = join(tmp.dir, 'src')
    const s = new SqliteStore({path: join(src, 'mon.db'), autoCompactEvery: 0})
    const points: Point[] = []
    for (let i = 0; i < 3000; i++) {
      points.push({
        measurement: 'cpu',
        tags: {host: `web ${i % 3}`, 'dc,zone': 'eu=1'},
        fields: {usage: Math.sin(i) * 100, count: BigInt(i * 1000), big: new UInt(BigInt(i) * 3n), ok: i % 2 === 0},
        ts: T0 + i * 10_000,
      })
    }

    points.push({measurement: 'events log', tags: {kind: 'deploy'}, fields: {msg: 'said "hi"\nand \\ left', n: -7n}, ts: T0 + 5})
    points.push({measurement: 'tiny', tags: {}, fields: {v: 5e-324, w: -0.1, x: 1.7976931348623157e308}, ts: T0 - 86_400_000})
    await s.write(points)
    await s.close()

    const file = join(tmp.dir, 'old.lp.gz')
    const a = await runMon(['store', 'archive', '--before', '2026-06-01', '--to', file, '--json'], {env: {MON_DATA_DIR: src}})
    assert.equal(a.code, 0, a.stderr)
    const summary = JSON.parse(a.stdout)
    assert.equal(summary.points, 3002)
    assert.ok(existsSync(file) && !existsSync(`${file}.partial`))
    assert.match(gunzipSync(readFileSync(file)).toString('utf8'), /^# mon archive: sqlite points/)

    const dst = join(tmp.dir, 'dst')
    const i1 = await runMon(['store', 'import', file, '--json'], {env: {MON_DATA_DIR: dst}})
    assert.equal(i1.code, 0, i1.stderr)
    assert.equal(JSON.parse(i1.stdout).points, 3002)
    // importing again stores nothing twice
    const i2 = await runMon(['store', 'import', file], {env: {MON_DATA_DIR: dst}})
    assert.equal(i2.code, 0, i2.stderr)

    const norm = (ps: Point[]) => ps.map((p) => ({...p, fields: Object.fromEntries(Object.entries(p.fields).map(([k, v]) => [k, v instanceof UInt ? `u${v.value}` : typeof v === 'bigint' ? `i${v}` : v]))}))
    assert.deepEqual(norm(await dump(dst)), norm(await dump(src)))
  })

  it('only points before --before are archived', async () => {
    const src = join(tmp.dir, 'range')
    const s = new SqliteStore({path: join(src, 'mon.db'), autoCompactEvery: 0})
    await s.write(Array.from({length: 100}, (_, i) => ({measurement: 'm', tags: {}, fields: {v: i}, ts: T0 + i * 1000})))
    await s.close()
    const file = join(tmp.dir, 'range.lp')
    const a = await runMon(['store', 'archive', '--before', new Date(T0 + 50_000).toISOString(), '--after', new Date(T0 + 10_000).toISOString(), '--to', file, '--json'], {env: {MON_DATA_DIR: src}})
    assert.equal(a.code, 0, a.stderr)
    assert.equal(JSON.parse(a.stdout).points, 40)
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 41)
  })

  it('a malformed file is reported with file:line:col and exit 2', async () => {
    const file = join(tmp.dir, 'bad.lp')
    writeFileSync(file, 'm v=1 1000\nm v= 2000\n')
    const r = await runMon(['store', 'import', file], {env: {MON_DATA_DIR: join(tmp.dir, 'bad')}})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bad\.lp:2:5: missing field value/)
  })

  it('archive names its file errors', async () => {
    const r = await runMon(['store', 'archive', '--before', '1d', '--to', join(tmp.dir, 'x.csv')], {env: {MON_DATA_DIR: join(tmp.dir, 'src')}})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /use a \.lp\.gz/)
  })
})
