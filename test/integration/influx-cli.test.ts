/**
 * The real `mon` (bin/run.js) against a real influxd, configured with `store: {type: influxdb}`:
 * store init, collect --once, query (expression and --influxql), store info, and discovery.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runMon} from '../helpers/cli.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

describe('mon against InfluxDB 1.x', () => {
  let influxd: RunningServer
  const tmp = tempDir('mon-influx-cli-')
  const config = join(tmp.dir, 'mon.yaml')
  const env = {MON_DATA_DIR: join(tmp.dir, 'data')}
  const mon = (...args: string[]) => runMon([...args, '--config', config], {env})
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await mon(...args, '--json')
    assert.equal(r.code, 0, `mon ${args.join(' ')} --json failed:\n${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }

  before(async () => {
    influxd = await startInfluxd()
    writeFileSync(config, `host: cli-host\nstore:\n  type: influxdb\n  url: ${influxd.url}\n  database: clitest\n`)
  })

  after(async () => {
    await influxd?.destroy()
    tmp.cleanup()
  })

  it('store init creates the database, then finds it', async () => {
    const first = await json<{created: boolean; database: string; serverVersion: string}>('store', 'init')
    assert.equal(first.created, true)
    assert.equal(first.database, 'clitest')
    assert.match(first.serverVersion, /^1\./)
    const again = await mon('store', 'init')
    assert.equal(again.code, 0)
    assert.match(again.stdout, new RegExp(`"clitest" on ${influxd.url} \\(InfluxDB 1\\.[^)]*\\) already exists`))
  })

  it('collect --once writes host metrics into InfluxDB', async () => {
    const r = await json<{points: number; failed: number; store: string}>('collect', '--once', '--input', 'host')
    assert.ok(r.points > 10, `only ${r.points} points`)
    assert.equal(r.failed, 0)
    assert.equal(r.store, `influxdb:${influxd.url}/clitest`)
  })

  it('store measurements / fields / tags list what was written', async () => {
    const measurements = await json<string[]>('store', 'measurements')
    for (const m of ['mem', 'system', 'disk']) assert.ok(measurements.includes(m), `${m} missing from ${measurements}`)
    const fields = await json<Array<{name: string; type: string}>>('store', 'fields', 'mem')
    assert.deepEqual(fields.find((f) => f.name === 'used_percent'), {name: 'used_percent', type: 'float'})
    assert.deepEqual(fields.find((f) => f.name === 'total'), {name: 'total', type: 'integer'})
    const keys = await json<string[]>('store', 'tags', 'mem')
    assert.deepEqual(keys, ['host'])
    assert.deepEqual(await json<string[]>('store', 'tags', 'mem', 'host'), ['cli-host'])
    const plain = await mon('store', 'tags', 'mem', 'host')
    assert.equal(plain.stdout.trim(), 'cli-host')
  })

  it('an unknown measurement is a clear usage error with a suggestion', async () => {
    const r = await mon('store', 'fields', 'memm')
    assert.equal(r.code, 2)
    assert.equal(r.stderr.trim(), `error: no measurement "memm" in influxdb:${influxd.url}/clitest\nhint: did you mean "mem"?`)
  })

  it('query runs expressions on InfluxDB', async () => {
    const r = await json<{series: Array<{name: string; tags: Record<string, string>; columns: string[]; values: unknown[][]}>}>('query', 'max(mem.used_percent[1h]) by host')
    assert.equal(r.series.length, 1)
    assert.deepEqual(r.series[0].tags, {host: 'cli-host'})
    assert.deepEqual(r.series[0].columns, ['time', 'value'])
    const v = r.series[0].values[0][1] as number
    assert.ok(v > 0 && v <= 100, `used_percent ${v}`)
    const table = await mon('query', 'mem.used_percent', '--since', '1h')
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /mem\.used_percent\s+cli-host\s+\d/)
  })

  it('query --influxql passes InfluxQL through', async () => {
    const r = await json<{language: string; series: Array<{name: string; values: unknown[][]}>}>('query', '--influxql', 'SHOW MEASUREMENTS')
    assert.equal(r.language, 'influxql')
    assert.ok(r.series[0].values.some((v) => v[0] === 'mem'))
    const table = await mon('query', '--influxql', `SELECT last("used_percent") FROM "mem" WHERE "host" = 'cli-host'`)
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /^name\s+time\s+last\nmem\s+\d{4}-\d\d-\d\dT/)
  })

  it('query --flux on 1.x says it needs 2.x', async () => {
    const r = await mon('query', '--flux', 'buckets()')
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`^error: --flux needs InfluxDB 2\\.x; ${influxd.url} is InfluxDB 1\\.`))
  })

  it('store info describes the InfluxDB store', async () => {
    const info = await json<{backend: string; location: string; series: number; bytesOnDisk?: number; details: Record<string, unknown>}>('store', 'info')
    assert.equal(info.backend, 'influxdb')
    assert.equal(info.location, `${influxd.url} database clitest`)
    assert.ok(info.series > 5, `series ${info.series}`)
    assert.ok((info.details.measurements as number) >= 3)
    assert.equal(info.details.api, '1.x')
  })

  it('store info gives the time range, and with --count the points, the same as the embedded store', async () => {
    // known data in a database of its own, and the same lines in an embedded store
    const lp = join(tmp.dir, 'known.lp')
    writeFileSync(lp, ['cpu,host=a usage=1,sys=2 1700000000000', 'cpu,host=b usage=3 1700000060000', 'disk,host=a,path=/ used=5i 1699999990000', 'disk,host=a,path=/ used=6i 1700000120000', 'net,host=b up=true,name="eth0" 1700000030000'].join('\n') + '\n')
    const known = join(tmp.dir, 'known.yaml')
    writeFileSync(known, `store:\n  type: influxdb\n  url: ${influxd.url}\n  database: infotest\n`)
    const embedded = join(tmp.dir, 'embedded.yaml')
    writeFileSync(embedded, `data_dir: ${join(tmp.dir, 'embedded')}\n`)
    for (const cfg of [known, embedded]) {
      if (cfg === known) assert.equal((await runMon(['store', 'init', '--config', cfg], {env})).code, 0)
      const w = await runMon(['write', lp, '--precision', 'ms', '--config', cfg], {env})
      assert.equal(w.code, 0, w.stderr)
    }
    type Info = {points?: number; oldest?: number; newest?: number; series?: number}
    const info = async (cfg: string, ...extra: string[]): Promise<Info> => {
      const r = await runMon(['store', 'info', '--json', '--config', cfg, ...extra], {env})
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout) as Info
    }
    const quick = await info(known)
    assert.deepEqual([quick.points, quick.oldest, quick.newest, quick.series], [undefined, 1_699_999_990_000, 1_700_000_120_000, 4])
    const counted = await info(known, '--count')
    const local = await info(embedded, '--count')
    assert.equal(counted.points, 7, 'one per field value: cpu 2 + 1, disk 1 + 1, net 2')
    assert.deepEqual([counted.points, counted.oldest, counted.newest, counted.series], [local.points, local.oldest, local.newest, local.series])
    const table = await runMon(['store', 'info', '--config', known], {env})
    assert.match(table.stdout, /points +- \(--count to count them\)/)
    assert.match(table.stdout, /oldest +2023-11-14T22:13:10\.000Z/)
  })

  it('every new command has help with examples', async () => {
    for (const cmd of [['store', 'init'], ['store', 'measurements'], ['store', 'fields'], ['store', 'tags'], ['query']]) {
      const r = await runMon([...cmd, '--help'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /EXAMPLES/, `${cmd.join(' ')} --help`)
    }

    assert.match((await runMon(['query', '--help'])).stdout, /--influxql=<value>[\s\S]*--flux=<value>|--flux=<value>[\s\S]*--influxql=<value>/)
  })
})
