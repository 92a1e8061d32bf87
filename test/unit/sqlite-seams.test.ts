import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {SCHEMA_VERSION} from '../../src/core/store/sqlite/schema.js'
import {openDatabase} from '../../src/core/store/sqlite/database.js'
import {catalogFieldKeys, catalogInfo, catalogMeasurements, catalogTagKeys, catalogTagValues} from '../../src/core/store/sqlite/catalog.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {fixedClock} from '../../src/core/clock.js'
import {compileSeriesSql, sqlString} from '../../src/core/store/sqlite/series-sql.js'

describe('embedded store seams: opening, series SQL, catalog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mon-sqlite-seams-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('database.ts creates mon.db with the current schema, and a reader of a missing file is told to collect first', () => {
    const path = join(dir, 'sub', 'mon.db')
    assert.throws(() => openDatabase(path, true), /no embedded store at .*mon\.db/)
    const db = openDatabase(path, false)
    try {
      assert.equal(db.pragma('user_version', {simple: true}), SCHEMA_VERSION)
    } finally {
      db.close()
    }
  })

  it('series-sql.ts compiles matchers to SQL and leaves names it cannot quote to JavaScript', () => {
    const {sql, params, jsMatchers} = compileSeriesSql('cpu', [
      {name: 'host', op: '=~', value: 'web-.*'},
      {name: 'we"ird', op: '=', value: 'x'},
    ])
    assert.match(sql, /^SELECT id, tags FROM series WHERE measurement = \? AND coalesce\(json_extract\(tags, '\$\."host"'\), ''\) REGEXP \? ORDER BY key$/)
    assert.deepEqual(params, ['cpu', '^(?:web-.*)$'])
    assert.deepEqual(jsMatchers, [{name: 'we"ird', op: '=', value: 'x'}])
    assert.equal(sqlString("it's"), "'it''s'")
  })

  it('catalog.ts answers from the database the store wrote, and the store answers the same through it', async () => {
    const path = join(dir, 'catalog.db')
    const t = 1_700_000_000_000
    const store = new SqliteStore({path, autoCompactEvery: 0, clock: fixedClock(t)})
    try {
      await store.write([
        {measurement: 'cpu', tags: {host: 'a', cpu: 'cpu0'}, fields: {usage_user: 1.5, busy: true}, ts: t - 2000},
        {measurement: 'cpu', tags: {host: 'b'}, fields: {usage_user: 2.5}, ts: t - 1000},
        {measurement: 'mem', tags: {host: 'a'}, fields: {used_percent: 40}, ts: t},
      ])
      assert.deepEqual(catalogMeasurements(store.database), ['cpu', 'mem'])
      assert.deepEqual(catalogFieldKeys(store.database, 'cpu'), [{name: 'busy', type: 'boolean'}, {name: 'usage_user', type: 'float'}])
      assert.deepEqual(catalogTagKeys(store.database, 'cpu'), ['cpu', 'host'])
      assert.deepEqual(catalogTagValues(store.database, 'cpu', 'host'), ['a', 'b'])
      const info = catalogInfo(store.database, path)
      assert.equal(info.series, 3)
      assert.equal(info.points, 4)
      assert.equal(info.oldest, t - 2000)
      assert.equal(info.newest, t)
      assert.deepEqual(await store.info(), info)
      assert.deepEqual(await store.tagValues('cpu', 'host'), ['a', 'b'])
    } finally {
      await store.close()
    }
  })
})
