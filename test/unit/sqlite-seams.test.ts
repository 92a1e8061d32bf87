import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {SCHEMA_VERSION} from '../../src/core/store/sqlite/schema.js'
import {openDatabase} from '../../src/core/store/sqlite/database.js'
import {compileSeriesSql, sqlString} from '../../src/core/store/sqlite/series-sql.js'

describe('embedded store seams: opening, series SQL', () => {
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
})
