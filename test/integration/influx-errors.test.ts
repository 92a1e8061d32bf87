/**
 * What a user sees when the InfluxDB store is misconfigured, run through the real `mon` against a
 * real influxd (one of them with authentication on): one clear line naming the URL, a hint, an
 * exit code that is not 0, no stack trace, no secret.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runMon, type CliResult} from '../helpers/cli.js'
import {freePort, startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const PASSWORD = 'hunter2-very-secret'

/** Starts influxd with HTTP authentication on (the helper passes our environment through). */
async function startInfluxdWithAuth(): Promise<RunningServer> {
  const before = process.env.INFLUXDB_HTTP_AUTH_ENABLED
  process.env.INFLUXDB_HTTP_AUTH_ENABLED = 'true'
  try {
    return await startInfluxd()
  } finally {
    if (before === undefined) delete process.env.INFLUXDB_HTTP_AUTH_ENABLED
    else process.env.INFLUXDB_HTTP_AUTH_ENABLED = before
  }
}

function assertOneClearError(r: CliResult, code: number, message: RegExp, hint?: RegExp): void {
  assert.equal(r.code, code, `exit code\n${r.stderr}`)
  const lines = r.stderr.trim().split('\n')
  assert.match(lines[0], /^error: /, r.stderr)
  assert.match(lines[0], message)
  if (hint) assert.match(lines.find((l) => l.startsWith('hint: ')) ?? '', hint, r.stderr)
  assert.doesNotMatch(r.stderr, /\n\s+at .*\.js:\d+/, 'no stack trace without --debug')
  assert.doesNotMatch(r.stderr + r.stdout, new RegExp(PASSWORD))
}

describe('InfluxDB store errors, as the user sees them', () => {
  let influxd: RunningServer
  let secured: RunningServer
  const tmp = tempDir('mon-influx-errors-')
  let n = 0
  /** A config file with this store block, and its own data dir (so no spool is shared). */
  const withConfig = (store: string) => {
    const file = join(tmp.dir, `mon-${++n}.yaml`)
    writeFileSync(file, `host: err-host\nstore:\n  type: influxdb\n${store.replace(/^/gm, '  ')}\n`)
    return (...args: string[]) => runMon([...args, '--config', file], {env: {MON_DATA_DIR: join(tmp.dir, `data-${n}`), INFLUX_PASSWORD: PASSWORD}})
  }

  before(async () => {
    // one after the other: the second start changes the environment the first would inherit
    influxd = await startInfluxd()
    secured = await startInfluxdWithAuth()
    // with auth on, InfluxDB lets the first admin user be created without credentials
    const res = await fetch(`${secured.url}/query`, {method: 'POST', body: new URLSearchParams({q: `CREATE USER admin WITH PASSWORD '${PASSWORD}' WITH ALL PRIVILEGES`})})
    assert.equal(res.status, 200, await res.text())
  })

  after(async () => {
    await Promise.all([influxd?.destroy(), secured?.destroy()])
    tmp.cleanup()
  })

  it('unreachable URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const mon = withConfig(`url: ${url}`)
    assertOneClearError(await mon('store', 'info'), 1, new RegExp(`^error: cannot reach InfluxDB at ${url}: connection refused`), /check store\.url and that InfluxDB is running there/)
    // collect keeps the points in its spool and says why the store is unavailable
    const collect = await mon('collect', '--once', '--input', 'host')
    assert.notEqual(collect.code, 0)
    assert.match(collect.stderr, new RegExp(`error: .*cannot reach InfluxDB at ${url}: connection refused`))
  })

  it('wrong credentials, and no credentials, on an auth-enabled server', async () => {
    const wrong = withConfig(`url: ${secured.url}\nusername: admin\npassword: not-the-password`)
    assertOneClearError(await wrong('store', 'init'), 1, new RegExp(`^error: InfluxDB at ${secured.url} refused the credentials for query \\(401: authorization failed\\)`), /store\.username and store\.password/)
    const none = withConfig(`url: ${secured.url}`)
    assertOneClearError(await none('store', 'measurements'), 1, new RegExp(`refused the credentials .*\\(401: unable to parse authentication credentials\\)`), /store\.username/)
    // the right password, from the environment: everything works
    const right = withConfig(`url: ${secured.url}\nusername: admin\npassword: \${INFLUX_PASSWORD}\ndatabase: secure`)
    const init = await right('store', 'init')
    assert.equal(init.code, 0, init.stderr)
    const collect = await right('collect', '--once', '--input', 'host', '--json')
    assert.equal(collect.code, 0, collect.stderr)
    const q = await right('query', 'count(mem.used_percent)', '--json')
    assert.equal(q.code, 0, q.stderr)
    assert.equal((JSON.parse(q.stdout) as {series: Array<{values: unknown[][]}>}).series[0].values[0][1], 1)
  })

  it('missing database: queries and writes say to run mon store init', async () => {
    const mon = withConfig(`url: ${influxd.url}\ndatabase: nosuchdb`)
    const hint = /create it with `mon store init` \(or CREATE DATABASE "nosuchdb"\)/
    assertOneClearError(await mon('query', 'mean(mem.used_percent)'), 1, new RegExp(`^error: database "nosuchdb" does not exist on InfluxDB at ${influxd.url}`), hint)
    assertOneClearError(await mon('store', 'info'), 1, /database "nosuchdb" does not exist/, hint)
  })

  it('wrong version: the 2.x API against InfluxDB 1.6', async () => {
    const mon = withConfig(`url: ${influxd.url}\nversion: 2\norg: acme\nbucket: mon\ntoken: abc`)
    const message = new RegExp(`^error: store\\.version is 2, but InfluxDB at ${influxd.url} is version 1\\.6\\.\\S+, which has no 2\\.x API`)
    assertOneClearError(await mon('store', 'measurements'), 2, message, /set store\.version: 1 \(or auto\) and store\.database/)
  })

  it('a query InfluxDB rejects shows its message; --debug shows the InfluxQL sent; a regex RE2 refuses is refused before sending', async () => {
    const mon = withConfig(`url: ${influxd.url}\ndatabase: errs`)
    assert.equal((await mon('store', 'init')).code, 0)
    // a lookahead is not RE2 (issue 15: matchers run on RE2 in mon too): refused at its column, before InfluxDB sees it
    const query = 'max(cpu.usage_user{cpu=~"(?=cpu)x"})'
    assertOneClearError(await mon('query', query), 2, /^error: query:1:25: invalid regular expression \/\(\?=cpu\)x\/: invalid or unsupported Perl syntax/)
    const debug = await mon('query', 'max(cpu.usage_user{cpu=~"cpu.*"})', '--debug')
    assert.equal(debug.code, 0, debug.stderr)
    // every selector is one read of raw points; max() runs in mon, the same on every backend
    assert.match(debug.stderr, /influxql: SELECT "usage_user"::field FROM "cpu" WHERE time >= \d+ms AND time < \d+ms AND "cpu"::tag =~ \/\^\(\?:cpu\.\*\)\$\/ GROUP BY \*/)
    assertOneClearError(await mon('query', '--influxql', 'SELEC 1'), 2, /rejected the query: error parsing query: found SELEC, expected SELECT/)
  })

  it('--influxql on the embedded store says what it needs', async () => {
    const file = join(tmp.dir, 'sqlite.yaml')
    writeFileSync(file, 'store:\n  type: sqlite\n')
    const r = await runMon(['query', '--influxql', 'SHOW MEASUREMENTS', '--config', file], {env: {MON_DATA_DIR: join(tmp.dir, 'data-sqlite')}})
    assertOneClearError(r, 2, /^error: --influxql needs an InfluxDB store; the configured store is sqlite:/, /store\.type: influxdb/)
  })
})
