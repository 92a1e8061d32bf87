/**
 * InfluxDB 1.x's HTTP API on `mon daemon` (src/core/daemon/api-influx.ts): /ping, the auth forms
 * InfluxDB's clients send (Token, Bearer, Basic with the token as password, u/p), and the status
 * codes and `{"error": …}` bodies of bad requests — side by side with a real influxd where both
 * answer the same request, never a 500. A second daemon without a token shows /query open on
 * loopback.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {runMon} from '../helpers/cli.js'
import {startMonDaemon, type RunningDaemon} from '../helpers/mon-daemon.js'
import {requireBinary, startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

const TOKEN = 'influx-api-t0ken-3c9e'
const T0 = Date.UTC(2026, 0, 1) // ms
/** three cpu points, and one series of 10,005 points (`big`: past influxd's default chunk of 10,000 rows) */
const BIG = 10_005
const FIXTURE =
  ['cpu,host=a usage_user=10', 'cpu,host=a usage_user=20', 'cpu,host=b usage_user=30'].map((l, i) => `${l} ${(T0 + i * 10_000) * 1e6}`).join('\n') +
  '\n' +
  Array.from({length: BIG}, (_, i) => `big v=${i} ${(T0 + i * 1000) * 1e6}`).join('\n') +
  '\n'

const CONFIG = (token?: string) => `host: testbox
agent: {interval: 1h, self_metrics: false}
inputs:
  host: {enabled: false}
api:
  listen: "127.0.0.1:0"
${token ? `  token: ${token}\n` : ''}`

let tmp: ReturnType<typeof tempDir>
let withToken: RunningDaemon
let open: RunningDaemon
let influxd: RunningServer
let onInflux: RunningDaemon

before(async () => {
  tmp = tempDir('mon-api-influx-')
  const dirA = join(tmp.dir, 'a')
  const dirB = join(tmp.dir, 'b')
  for (const d of [dirA, dirB]) {
    mkdirSync(d, {recursive: true})
    writeFileSync(join(d, 'fixture.lp'), FIXTURE)
    writeFileSync(join(d, 'mon.yaml'), `data_dir: ${join(d, 'data')}\n${CONFIG()}`)
    const w = await runMon(['write', join(d, 'fixture.lp'), '--config', join(d, 'mon.yaml'), '--json'], {env: {MON_CONFIG: ''}})
    assert.equal(w.code, 0, w.stderr)
  }
  ;[withToken, open, influxd] = await Promise.all([startMonDaemon(dirA, CONFIG(TOKEN)), startMonDaemon(dirB, CONFIG()), startInfluxd()])
  const created = await fetch(`${influxd.url}/query`, {method: 'POST', body: new URLSearchParams({q: 'CREATE DATABASE mon'})})
  assert.equal(created.status, 200)
  const wrote = await fetch(`${influxd.url}/write?db=mon`, {method: 'POST', body: FIXTURE})
  assert.equal(wrote.status, 204, await wrote.text())
  // a daemon whose store is that influxd's database "telegraf"
  assert.equal((await fetch(`${influxd.url}/query`, {method: 'POST', body: new URLSearchParams({q: 'CREATE DATABASE telegraf'})})).status, 200)
  assert.equal((await fetch(`${influxd.url}/write?db=telegraf`, {method: 'POST', body: FIXTURE})).status, 204)
  const dirC = join(tmp.dir, 'c')
  mkdirSync(dirC, {recursive: true})
  onInflux = await startMonDaemon(dirC, `${CONFIG()}store: {type: influxdb, url: "${influxd.url}", database: telegraf}\n`)
})

after(async () => {
  await Promise.all([withToken?.stop(), open?.stop(), onInflux?.stop()])
  await influxd?.destroy()
  tmp?.cleanup()
})

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

async function query(base: string, params: Record<string, string>, init: RequestInit = {}): Promise<{status: number; body: Record<string, unknown>; headers: Headers}> {
  const res = await fetch(`${base}/query?${new URLSearchParams(params)}`, init)
  const text = await res.text()
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new Error(`not JSON (${res.status}): ${text}`)
  }
  return {status: res.status, body, headers: res.headers}
}

describe('/ping', () => {
  it('answers 204 with the InfluxDB version headers (GET and HEAD), 200 JSON with verbose=true, no token needed', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${withToken.url}/ping`, {method})
      assert.equal(res.status, 204, method)
      assert.equal(res.headers.get('x-influxdb-version'), '1.8.10')
      assert.equal(res.headers.get('x-influxdb-build'), 'mon')
      // no body, and no length said for it (RFC 9110: not on a 204)
      assert.equal(res.headers.get('content-length'), null, method)
      assert.equal(await res.text(), '')
    }
    const verbose = await fetch(`${withToken.url}/ping?verbose=true`)
    assert.equal(verbose.status, 200)
    assert.deepEqual(await verbose.json(), {version: '1.8.10'})
    // influxd answers the same (its 1.6 has no verbose form; 1.7+ answers {"version": …})
    const theirs = await fetch(`${influxd.url}/ping`)
    assert.equal(theirs.status, 204)
    assert.match(theirs.headers.get('x-influxdb-version') ?? '', /^1\./)
  })
})

describe('auth (api.token set)', () => {
  const q = {q: 'SHOW DATABASES'}
  it('refuses a request without credentials: 401 with InfluxDB\'s words and a Basic challenge', async () => {
    const r = await query(withToken.url, q)
    assert.equal(r.status, 401)
    assert.deepEqual(r.body, {error: 'unable to parse authentication credentials'})
    assert.equal(r.headers.get('www-authenticate'), 'Basic realm="InfluxDB"')
  })

  it('refuses a wrong token in every form: 401 {"error": "authorization failed"}', async () => {
    for (const init of [{headers: {Authorization: 'Bearer nope'}}, {headers: {Authorization: 'Token nope'}}, {headers: {Authorization: basic('grafana', 'nope')}}]) {
      const r = await query(withToken.url, q, init)
      assert.equal(r.status, 401, JSON.stringify(init))
      assert.deepEqual(r.body, {error: 'authorization failed'})
    }
    const up = await query(withToken.url, {...q, u: 'grafana', p: 'nope'})
    assert.equal(up.status, 401)
    assert.deepEqual(up.body, {error: 'authorization failed'})
  })

  it('takes the token as Token, Token user:token, Bearer, Basic (any user) and u/p', async () => {
    const forms: Array<[string, Record<string, string>, RequestInit]> = [
      ['Token', q, {headers: {Authorization: `Token ${TOKEN}`}}],
      ['Token user:token', q, {headers: {Authorization: `Token admin:${TOKEN}`}}],
      ['Bearer', q, {headers: {Authorization: `Bearer ${TOKEN}`}}],
      ['Basic', q, {headers: {Authorization: basic('grafana', TOKEN)}}],
      ['u/p', {...q, u: 'anyone', p: TOKEN}, {}],
    ]
    for (const [name, params, init] of forms) {
      const r = await query(withToken.url, params, init)
      assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`)
      const results = r.body.results as Array<{series?: Array<{values: string[][]}>}>
      assert.deepEqual(results[0]!.series![0]!.values, [['mon']], name)
    }
  })

  it('the influx CLI logs in with -username any -password <token>, and prints InfluxDB\'s refusal otherwise', async () => {
    const influx = requireBinary('influx', 'influxdb-client')
    const {hostname, port} = new URL(withToken.url)
    const run = (password: string) => spawnSync(influx, ['-host', hostname, '-port', port, '-username', 'ops', '-password', password, '-execute', 'SHOW DATABASES'], {encoding: 'utf8', env: {...process.env, HOME: tmp.dir}, timeout: 30_000})
    const ok = run(TOKEN)
    assert.equal(ok.status, 0, ok.stdout + ok.stderr)
    assert.equal(ok.stdout, 'name: databases\nname\n----\nmon\n')
    const refused = run('wrong')
    assert.notEqual(refused.status, 0)
    assert.match(refused.stdout + refused.stderr, /authorization failed/)
  })

  it('needs no token when the daemon has none (loopback)', async () => {
    const r = await query(open.url, q)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.headers.get('x-influxdb-version'), '1.8.10')
  })
})

describe('on an InfluxDB store', () => {
  it("answers to api.influxdb.database and to the store's own database, both reading the store", async () => {
    const shows = await query(onInflux.url, {q: 'SHOW DATABASES'})
    assert.equal(shows.status, 200)
    const results = shows.body.results as Array<{series: Array<{values: string[][]}>}>
    assert.deepEqual(results[0]!.series[0]!.values, [['mon'], ['telegraf']])
    const statement = `SELECT sum("usage_user") FROM "cpu" WHERE time >= ${T0}ms AND time < ${T0 + 60_000}ms GROUP BY "host"`
    const theirs = await query(influxd.url, {q: statement, db: 'telegraf', epoch: 'ms'})
    for (const db of ['mon', 'telegraf']) {
      const ours = await query(onInflux.url, {q: statement, db, epoch: 'ms'})
      assert.equal(ours.status, 200, db)
      assert.deepEqual(ours.body, theirs.body, db)
    }
  })
})

describe('requests and bad input (no token)', () => {
  it('reads q, db and epoch from a POSTed form as well as from the query string', async () => {
    const statement = `SELECT sum("usage_user") FROM "cpu" WHERE time >= ${T0}ms AND time < ${T0 + 60_000}ms GROUP BY "host"`
    const viaGet = await query(open.url, {q: statement, db: 'mon', epoch: 'ms'})
    const res = await fetch(`${open.url}/query`, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams({q: statement, db: 'mon', epoch: 'ms'})})
    assert.equal(res.status, 200)
    const viaPost = await res.json()
    assert.deepEqual(viaPost, viaGet.body)
    const theirs = await query(influxd.url, {q: statement, db: 'mon', epoch: 'ms'})
    assert.deepEqual(viaGet.body, theirs.body)
    // the form wins over the query string, as Go's FormValue has it
    const both = await fetch(`${open.url}/query?db=elsewhere`, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams({q: statement, db: 'mon', epoch: 'ms'})})
    assert.deepEqual(await both.json(), viaGet.body)
  })

  it('chunked=true is answered in influxd\'s chunks: one JSON object per series, long series cut by chunk_size', async () => {
    const text = async (base: string, params: Record<string, string>) => {
      const res = await fetch(`${base}/query?${new URLSearchParams(params)}`)
      assert.equal(res.status, 200)
      return (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as unknown)
    }
    const statements = [
      `SELECT usage_user FROM "cpu" WHERE time >= ${T0}ms AND time < ${T0 + 60_000}ms GROUP BY "host"`,
      `SELECT count("usage_user") FROM "cpu" WHERE time >= ${T0}ms AND time < ${T0 + 60_000}ms; SELECT usage_user FROM "cpu" WHERE time >= ${T0}ms AND time < ${T0 + 60_000}ms GROUP BY "host"`,
    ]
    for (const q of statements) {
      for (const extra of [{}, {chunk_size: '1'}] as Array<Record<string, string>>) {
        const params = {q, db: 'mon', epoch: 'ms', chunked: 'true', ...extra}
        const ours = await text(open.url, params)
        assert.deepEqual(ours, await text(influxd.url, params), `${q} ${JSON.stringify(extra)}`)
        assert.ok(ours.length > 1)
      }
    }
  })

  it("a series past 10,000 rows: influxd's chunks when chunked, its merged answer otherwise", async () => {
    const q = `SELECT v FROM "big" WHERE time >= ${T0}ms AND time < ${T0 + BIG * 1000}ms`
    for (const chunked of ['true', 'false']) {
      const params = {q, db: 'mon', epoch: 'ms', chunked}
      const [ours, theirs] = await Promise.all([fetch(`${open.url}/query?${new URLSearchParams(params)}`), fetch(`${influxd.url}/query?${new URLSearchParams(params)}`)])
      const parse = async (r: Response) => (await r.text()).trim().split('\n').map((l) => JSON.parse(l) as unknown)
      const [a, b] = [await parse(ours), await parse(theirs)]
      assert.equal(a.length, chunked === 'true' ? 2 : 1)
      assert.deepEqual(a, b, `chunked=${chunked}`)
    }
  })

  it("answers bad requests with influxd's status and error (same request to both)", async () => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['no q', {db: 'mon'}, /^missing required parameter "q"$/],
      ['empty q', {q: '  ', db: 'mon'}, /^missing required parameter "q"$/],
      ['params not JSON', {q: 'SELECT * FROM cpu WHERE host = $h', db: 'mon', params: '{h:'}, /^error parsing query parameters: /],
      ['syntax error', {q: 'SELEC 1', db: 'mon'}, /^error parsing query: /],
      ['unfinished statement', {q: 'SELECT mean("usage_user") FROM', db: 'mon'}, /^error parsing query: /],
    ]
    for (const [name, params, error] of cases) {
      const ours = await query(open.url, params)
      const theirs = await query(influxd.url, params)
      assert.equal(ours.status, theirs.status, `${name}: status (influxd: ${JSON.stringify(theirs.body)})`)
      assert.equal(ours.status, 400, name)
      assert.match(String(ours.body.error), error, name)
      assert.match(String(theirs.body.error), error, `${name} (influxd)`)
    }
  })

  it('an unknown database is a statement error inside a 200, as influxd has it', async () => {
    const params = {q: 'SELECT mean("usage_user") FROM "cpu"', db: 'nope'}
    const ours = await query(open.url, params)
    const theirs = await query(influxd.url, params)
    assert.equal(ours.status, theirs.status)
    assert.deepEqual(ours.body, theirs.body)
  })

  it('/write points at the listener input (InfluxDB shape, no 500)', async () => {
    const res = await fetch(`${open.url}/write?db=mon`, {method: 'POST', body: 'cpu usage_user=1'})
    assert.equal(res.status, 404)
    const body = (await res.json()) as {error: string}
    assert.match(body.error, /listener input/)
  })

  it('never answers 500 to hostile input', async () => {
    const hostile = [
      'SELECT * FROM "cpu" WHERE "host" =~ /(/',
      'SELECT mean("usage_user") FROM "cpu" GROUP BY time(0s)',
      'SELECT mean("usage_user") FROM "cpu" GROUP BY time(-1m)',
      'SHOW TAG VALUES WITH KEY',
      'SELECT \u0000 FROM cpu',
      'SELECT "x" FROM "' + 'a'.repeat(20_000) + '"',
      '"'.repeat(1000),
      'SELECT mean(mean(mean("a"))) FROM cpu',
      'SELECT * FROM cpu; DROP DATABASE mon',
      'SELECT * FROM cpu WHERE time > 99999999999999999999999ms',
      ';;;',
      '🙂',
    ]
    for (const q of hostile) {
      for (const db of ['mon', 'nope']) {
        const res = await fetch(`${open.url}/query`, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams({q, db})})
        const text = await res.text()
        assert.ok(res.status < 500, `${res.status} for ${q.slice(0, 60)}: ${text}`)
        const body = JSON.parse(text) as Record<string, unknown>
        assert.ok('results' in body || typeof body.error === 'string', JSON.stringify(body).slice(0, 200))
      }
    }
    // the daemon is still there
    assert.equal((await fetch(`${open.url}/ping`)).status, 204)
  })
})
