/**
 * The pure parts of the daemon's InfluxDB API (src/core/daemon/api-influx.ts): credentials as
 * InfluxDB 1.x clients send them, influxd's chunking of an answer, and the database names served.
 * The HTTP side is test/integration/api-influx.test.ts.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {chunkResults, influxCredentials, influxDatabases} from '../../src/core/daemon/api-influx.js'
import {parseConfigText} from '../../src/core/config/parse.js'

const creds = (authorization?: string, query = '') => influxCredentials({headers: authorization === undefined ? {} : {authorization}, query: new URLSearchParams(query)})
const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`

describe('influxCredentials', () => {
  it('reads the token from Token, Token user:token, Bearer, Basic and p', () => {
    assert.equal(creds('Token abc'), 'abc')
    assert.equal(creds('Token admin:abc'), 'abc')
    assert.equal(creds('token abc'), 'abc', 'the scheme is case-insensitive')
    assert.equal(creds('Bearer abc'), 'abc')
    assert.equal(creds(basic('grafana:abc')), 'abc')
    assert.equal(creds(basic('grafana:a:b:c')), 'a:b:c', 'a password may hold colons')
    assert.equal(creds(undefined, 'u=x&p=abc'), 'abc')
    assert.equal(creds('Bearer other', 'u=x&p=abc'), 'abc', 'u/p first, as influxd reads them')
  })

  it('gives nothing for what is not a credential', () => {
    assert.equal(creds(undefined), undefined)
    assert.equal(creds(''), undefined)
    assert.equal(creds('Digest abc'), undefined)
    assert.equal(creds('Bearer'), undefined)
    assert.equal(creds(basic('no-colon')), undefined)
    assert.equal(creds(undefined, 'u=x&p='), undefined)
  })
})

describe('chunkResults', () => {
  const series = (host: string, rows: number) => ({name: 'cpu', tags: {host}, columns: ['time', 'v'], values: Array.from({length: rows}, (_, i) => [i, i])})

  it('one chunk per series, every chunk of a statement but the last partial', () => {
    const chunks = chunkResults([{statement_id: 0, series: [series('a', 2), series('b', 1)]}], 10_000)
    assert.deepEqual(chunks, [{results: [{statement_id: 0, series: [series('a', 2)], partial: true}]}, {results: [{statement_id: 0, series: [series('b', 1)]}]}])
  })

  it('cuts a long series by chunk size, the pieces but the last marked partial', () => {
    const chunks = chunkResults([{statement_id: 3, series: [series('a', 5)]}], 2)
    assert.deepEqual(
      chunks.map((c) => [c.results![0]!.series![0]!.values!.length, c.results![0]!.series![0]!.partial, c.results![0]!.partial, c.results![0]!.statement_id]),
      [
        [2, true, true, 3],
        [2, true, true, 3],
        [1, undefined, undefined, 3],
      ],
    )
  })

  it("ignores the merged answer's partial mark on a long series (the chunks say it themselves)", () => {
    const chunks = chunkResults([{statement_id: 0, series: [{...series('a', 3), partial: true}]}], 2)
    assert.deepEqual(
      chunks.map((c) => c.results![0]!.series![0]!.partial),
      [true, undefined],
    )
    assert.equal(chunkResults([{statement_id: 0, series: [{...series('a', 3), partial: true}]}], 10)[0]!.results![0]!.series![0]!.partial, undefined)
  })

  it('passes errors and empty results through, one chunk each', () => {
    const results = [{statement_id: 0, error: 'database not found: x'}, {statement_id: 1}, {statement_id: 2, series: []}]
    assert.deepEqual(
      chunkResults(results, 1),
      results.map((r) => ({results: [r]})),
    )
  })
})

describe('influxDatabases', () => {
  it('api.influxdb.database, plus an InfluxDB store\'s own database or bucket', () => {
    const names = (yaml: string) => influxDatabases(parseConfigText(yaml, '/etc/mon/mon.yaml', {}).config)
    assert.deepEqual(names(''), ['mon'])
    assert.deepEqual(names('api: {influxdb: {database: metrics}}'), ['metrics'])
    assert.deepEqual(names('store: {type: influxdb, url: "http://127.0.0.1:8086", database: telegraf}'), ['mon', 'telegraf'])
    assert.deepEqual(names('store: {type: influxdb, url: "http://127.0.0.1:8086", database: mon}'), ['mon'])
    assert.deepEqual(names('store: {type: influxdb, url: "http://127.0.0.1:8086", version: 2, org: o, bucket: b, token: t}'), ['mon', 'b'])
  })
})
