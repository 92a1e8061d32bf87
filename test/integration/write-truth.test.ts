/**
 * `mon write` says what it wrote (exit status and --json), with the real CLI on the embedded store
 * whose raw tier was already pruned: points older than that are refused, the rest is written; and
 * what it wrote below the rollup watermark is seen at once by queries that the rollups answer.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {WriteSummary} from '../../src/core/ingest/write.js'
import {runMon} from '../helpers/cli.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const HOUR = 3_600_000
const MINUTE = 60_000

describe('mon write: exit status and --json tell nothing written from some written', () => {
  const tmp = tempDir('mon-write-truth-')
  let config: string
  // relative to the real clock, in hours: retention apply runs at its real "now"
  const now = Date.now()
  const file = (name: string, text: string) => {
    const path = join(tmp.dir, name)
    writeFileSync(path, text)
    return path
  }
  const write = async (...args: string[]) => {
    const r = await runMon(['write', ...args, '--precision', 'ms', '--config', config])
    return {...r, out: r.stdout.startsWith('{') ? (JSON.parse(r.stdout) as WriteSummary) : undefined}
  }

  before(async () => {
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(config, `data_dir: ${join(tmp.dir, 'data')}\nretention: {raw: 1h, 1m: 30d}\n`)
    // a point 3 h old, rolled up and pruned by a retention pass: raw now starts an hour ago
    const seed = await write(file('seed.lp', `cpu,host=a v=1 ${now - 3 * HOUR}\n`))
    assert.equal(seed.code, 0, seed.stderr)
    const apply = await runMon(['store', 'retention', 'apply', '--config', config])
    assert.equal(apply.code, 0, apply.stderr)
  })
  after(() => tmp.cleanup())

  it('a partial write (some points older than retention.raw) exits 1 and --json counts written and dropped', async () => {
    const lp = file('backfill.lp', `cpu,host=b v=1 ${now - 2 * HOUR}\ncpu,host=b v=2 ${now - 10 * MINUTE}\ncpu,host=b v=3 ${now - 5 * MINUTE}\n`)
    const r = await write(lp, '--json')
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.out?.written, 2)
    assert.equal(r.out?.dropped, 1)
    assert.equal(r.out?.errors.length, 1)
    assert.match(r.out!.errors[0].message, /^partial write: 1 point older than .* dropped/)
    assert.match(r.stderr, /^error: partial write: 1 point older than/m)

    const text = await write(lp)
    assert.equal(text.code, 1)
    assert.match(text.stdout, /^wrote 2 points \(1 refused by the store\) to sqlite:/m)
  })

  it('nothing written because the input is invalid: exit 2, and --json still reports it', async () => {
    const r = await write(file('bad.lp', `cpu,host=c v=1 ${now}\ncpu,host=c v= ${now}\n`), '--json')
    assert.equal(r.code, 2, r.stderr)
    assert.deepEqual([r.out?.written, r.out?.dropped, r.out?.errors.map((e) => [e.line, e.col, e.message])], [0, 2, [[2, 14, 'missing field value']]])
    assert.match(r.stderr, /bad\.lp:2:14: missing field value/)
  })

  it('all points too old: nothing written, exit 2', async () => {
    const r = await write(file('old.lp', `cpu,host=d v=1 ${now - 2 * HOUR}\n`), '--json')
    assert.equal(r.code, 2, r.stderr)
    assert.deepEqual([r.out?.written, r.out?.dropped], [0, 1])
  })

  it('backfilled points count at once in a query reaching past retention.raw (before the next rollup pass)', async () => {
    const w = await write(file('backfill-f.lp', [50, 30, 20].map((m) => `cpu,host=f v=${m} ${now - m * MINUTE}`).join('\n')))
    assert.equal(w.code, 0, w.stderr)
    const q = await runMon(['query', 'count_over_time(cpu.v{host="f"}[2h])', '--config', config, '--json'])
    assert.equal(q.code, 0, q.stderr)
    const series = (JSON.parse(q.stdout) as {series: Array<{values: Array<[string, number]>}>}).series
    assert.equal(series[0]?.values[0][1], 3, q.stdout)
  })

  it('everything written: exit 0, and --json says so', async () => {
    const r = await write(file('good.lp', `cpu,host=e v=1 ${now - MINUTE}\n`), '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual([r.out?.written, r.out?.dropped, r.out?.errors], [1, 0, []])
  })
})

describe('mon write to a real influxd: a partial write exits 1 and counts what InfluxDB refused', () => {
  const tmp = tempDir('mon-write-influx-')
  let influxd: RunningServer
  let config: string
  before(async () => {
    influxd = await startInfluxd()
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(config, `data_dir: ${join(tmp.dir, 'data')}\nstore:\n  type: influxdb\n  url: ${influxd.url}\n  database: truth\n`)
    assert.equal((await runMon(['store', 'init', '--config', config])).code, 0)
  })
  after(async () => {
    await influxd?.destroy()
    tmp.cleanup()
  })

  it('a field type conflict refuses one point; the other two are written', async () => {
    const path = join(tmp.dir, 'mixed.lp')
    writeFileSync(path, 'conflict,host=a v=1 1764000000000\n')
    assert.equal((await runMon(['write', path, '--precision', 'ms', '--config', config])).code, 0)
    writeFileSync(path, 'conflict,host=b v=2 1764000001000\nconflict,host=c v=3i 1764000002000\nconflict,host=d v=4 1764000003000\n')
    const r = await runMon(['write', path, '--precision', 'ms', '--config', config, '--json'])
    assert.equal(r.code, 1, r.stderr)
    const out = JSON.parse(r.stdout) as WriteSummary
    assert.deepEqual([out.written, out.dropped], [2, 1])
    assert.match(out.errors[0].message, /rejected 1 of 3 points \(400\): field type conflict/)
  })
})
