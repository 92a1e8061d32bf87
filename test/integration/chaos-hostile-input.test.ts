/**
 * Hostile input (issue 15, items 7, 8 and 10), through the real `mon` and the real embedded store:
 * a catastrophic-backtracking regex answers within the query timeout, a query or file nested
 * thousands of levels deep is one located error, `${file:/dev/zero}` is refused at 64 KiB, an
 * unresolved YAML alias names its line and column, and a secret from `${…}` never appears in any
 * form in validation errors or `config show`. Each part prints what it counted.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {createServer, type AddressInfo, type Socket} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createRuleEngine} from '../../src/core/alerting/engine.js'
import {parseRuleText} from '../../src/core/alerting/rules.js'
import type {Clock} from '../../src/core/clock.js'
import {ManualClock} from '../../src/core/clock.js'
import {MAX_SECRET_FILE_BYTES} from '../../src/core/config/interpolate.js'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import {QueryTimeoutError} from '../../src/core/query/deadline.js'
import {prepareQuery} from '../../src/core/query/run.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {runMon, type CliResult} from '../helpers/cli.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const T0 = Date.UTC(2026, 10, 25, 9, 0, 0)
const tmp = tempDir('mon-chaos-')
after(() => tmp.cleanup())
let n = 0

/** A config file (and its own data dir) for one case; returns a runner for mon with it. */
function withConfig(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const id = ++n
  const file = join(tmp.dir, `mon-${id}.yaml`)
  writeFileSync(file, yaml)
  return (args: string[], input?: string) => {
    // before a `--` that ends the flags (a query starting with '-')
    const at = args.includes('--') ? args.indexOf('--') : args.length
    return runMon([...args.slice(0, at), '--config', file, ...args.slice(at)], {env: {MON_DATA_DIR: join(tmp.dir, `data-${id}`), ...env}, input})
  }
}

/** A clock that moves on by `stepMs` each time it is read: a query "takes" one step per check. */
class SteppingClock implements Clock {
  constructor(
    private t: number,
    private readonly stepMs: number,
  ) {}

  now(): number {
    this.t += this.stepMs
    return this.t
  }
}

function assertOneLocatedError(r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code\n${r.stdout}${r.stderr}`)
  assert.match(r.stderr.split('\n').find((line) => line.startsWith('error: ')) ?? '', message, r.stderr)
  assert.doesNotMatch(r.stderr, /looks like a bug|\n\s+at .*\.js:\d+|Maximum call stack/i, 'a user error, not a bug report')
}

describe('chaos: ReDoS and the query timeout', () => {
  let influxd: RunningServer
  before(async () => {
    influxd = await startInfluxd()
  })
  after(() => influxd?.destroy())

  const HOSTILE = ['a'.repeat(28), 'a'.repeat(40), 'a'.repeat(64), 'a'.repeat(28) + 'b', 'a'.repeat(29) + 'c', 'Web-01']
  const REDOS_CASES: Array<[string, string[]]> = [
    ['(a|a)*b', ['a'.repeat(28) + 'b']],
    ['(a|a)*', ['a'.repeat(28), 'a'.repeat(40), 'a'.repeat(64)]],
    ['(a|aa)*c', ['a'.repeat(29) + 'c']],
    // RE2 flags and anchoring, the same on both backends
    ['(?i)web-[0-9]+', ['Web-01']],
    ['web', []],
  ]

  /** Writes the hostile series through `mon write`, then runs every pattern with `mon query --timeout 10s`. */
  async function redosAgainst(storeYaml: string): Promise<number> {
    const mon = withConfig(`host: chaos\n${storeYaml}`)
    const init = await mon(['store', 'init'])
    assert.equal(init.code, 0, init.stderr)
    const lines = HOSTILE.map((host, i) => `cpu,host=${host} usage_user=${i + 1} ${T0 * 1e6}`).join('\n') + '\n'
    const wrote = await mon(['write', '-'], lines)
    assert.equal(wrote.code, 0, wrote.stderr)
    const range = ['--since', new Date(T0 - 60_000).toISOString(), '--until', new Date(T0 + 60_000).toISOString()]
    for (const [re, want] of REDOS_CASES) {
      const r = await mon(['query', `cpu.usage_user{host=~"${re}"}`, ...range, '--timeout', '10s', '--json'])
      assert.equal(r.code, 0, `${re}\n${r.stderr}`)
      const hosts = (JSON.parse(r.stdout) as {series: Array<{tags: {host: string}}>}).series.map((s) => s.tags.host).sort()
      assert.deepEqual(hosts, [...want].sort(), re)
    }
    return REDOS_CASES.length
  }

  it('(a|a)*b against 28- to 64-character tag values answers at once on the embedded store, with RE2 (anchored) semantics', async () => {
    const patterns = await redosAgainst('')
    console.log(`# chaos redos (embedded): ${patterns} patterns over ${HOSTILE.length} hostile tag values (28–64 chars) answered within --timeout 10s`)
  })

  it('the same patterns give the same series on a real influxd (Go RE2 there)', async () => {
    const patterns = await redosAgainst(`store:\n  type: influxdb\n  url: ${influxd.url}\n  database: chaos\n`)
    console.log(`# chaos redos (influxd): ${patterns} patterns, same series as the embedded store`)
  })

  it('mon query --timeout rejects a malformed duration naming the flag (exit 2)', async () => {
    const r = await withConfig('host: chaos\n')(['query', 'cpu.usage_user', '--timeout', 'soon'])
    assertOneLocatedError(r, 2, /--timeout: invalid duration "soon"/)
  })

  it('the embedded store stops between series once the budget is spent: "query timed out after 10s"', async () => {
    const store = new SqliteStore({path: join(tmp.dir, 'timeout.db'), clock: new ManualClock(T0), autoCompactEvery: 0})
    try {
      const series = 50
      store.writeSync(Array.from({length: series}, (_, i) => ({measurement: 'cpu', tags: {host: `h${i}`}, fields: {usage_user: i}, ts: T0})))
      // every check of the deadline sees one more second pass: the 10 s budget runs out after ~10 series
      const q = prepareQuery({query: 'mean(cpu.usage_user) by host', now: T0 + 1, timeoutMs: 10_000, clock: new SteppingClock(T0, 1000)})
      await assert.rejects(q.run(store), (err: unknown) => {
        assert.ok(err instanceof QueryTimeoutError, String(err))
        assert.equal(err.message, 'query timed out after 10s')
        assert.equal(err.exitCode, 1)
        return true
      })
      // the same query with the clock standing still answers every series
      const frames = (await prepareQuery({query: 'mean(cpu.usage_user) by host', now: T0 + 1, timeoutMs: 10_000, clock: new ManualClock(T0)}).run(store)).series
      assert.equal(frames.length, series)
      console.log(`# chaos timeout: ${series} series, budget 10s at 1s per check → timed out; ${frames.length} series with time standing still`)
    } finally {
      await store.close()
    }
  })

  it('an InfluxDB that accepts the connection and never answers: the query gives up at its own timeout', async () => {
    // a real socket on loopback that reads the request and says nothing (the store's HTTP timeout is 60 s)
    const sockets = new Set<Socket>()
    const silent = createServer((socket) => {
      sockets.add(socket)
      socket.resume()
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const {port} = silent.address() as AddressInfo
    const store = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: `http://127.0.0.1:${port}`, database: 'chaos', timeout: '60s'}))
    try {
      const q = prepareQuery({query: 'max(cpu.usage_user) by host', since: '5m', now: T0, timeoutMs: 300})
      await assert.rejects(q.run(store), (err: unknown) => err instanceof QueryTimeoutError && err.message === 'query timed out after 300ms')
      assert.ok(sockets.size > 0, 'the query reached the server')
      // the same through the CLI, for an expression and for --influxql passed through as written
      const mon = withConfig(`store:\n  type: influxdb\n  url: http://127.0.0.1:${port}\n  database: chaos\n  timeout: 60s\n`)
      for (const args of [['query', 'cpu.usage_user', '--timeout', '300ms'], ['query', '--influxql', 'SHOW MEASUREMENTS', '--timeout', '300ms']]) {
        const r = await mon(args)
        assert.equal(r.code, 1, `${args.join(' ')}\n${r.stderr}`)
        assert.match(r.stderr, /^error: query timed out after 300ms$/m)
      }
      console.log(`# chaos timeout (silent influxd): ${sockets.size} connection(s) held open; in-process, mon query and mon query --influxql gave up at 300ms (exit 1)`)
    } finally {
      for (const socket of sockets) socket.destroy()
      await store.close()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  it('a rule whose query runs past query.timeout is an evaluation error, and the other rules still run', async () => {
    const store = new SqliteStore({path: join(tmp.dir, 'rules-timeout.db'), clock: new ManualClock(T0), autoCompactEvery: 0})
    try {
      store.writeSync(Array.from({length: 30}, (_, i) => ({measurement: 'cpu', tags: {host: `h${i}`}, fields: {usage_user: 95}, ts: T0})))
      const parsed = parseRuleText(
        'groups:\n  - name: g\n    rules:\n      - alert: Busy\n        expr: max(cpu.usage_user) by host > 90\n      - alert: NoMemory\n        expr: absent(mem.used_percent)\n',
        'rules.yaml',
      )
      assert.deepEqual(parsed.problems, [])
      const engine = createRuleEngine({groups: parsed.groups, store, clock: new SteppingClock(T0, 1000), writeSeries: false, cache: false, defaults: {queryTimeoutMs: 10_000}})
      const [group] = await engine.evaluateAll(T0 + 1)
      assert.equal(group.rules[0].health, 'error')
      assert.equal(group.rules[0].error, 'query timed out after 10s')
      assert.equal(group.rules[1].health, 'ok')
      console.log(`# chaos rule timeout: 2 rules, 1 timed out (${group.rules[0].error}), 1 evaluated`)
    } finally {
      await store.close()
    }
  })
})

describe('chaos: nesting, secret files and YAML aliases', () => {
  it('a query nested 2,000 levels deep is a located error (exit 2), not a stack overflow', async () => {
    const mon = withConfig('host: chaos\n')
    const queries = ['('.repeat(2000) + 'cpu.usage_user' + ')'.repeat(2000), '-'.repeat(2000) + 'cpu.usage_user', Array.from({length: 2000}, () => 'cpu.usage_user').join(' + ')]
    for (const q of queries) assertOneLocatedError(await mon(['query', '--', q]), 2, /^error: query:1:\d+: expression nested too deeply \(more than 100 levels\)/)
    console.log(`# chaos nesting: ${queries.length} queries 2,000 levels deep → exit 2 with line:col`)
  })

  it('config and rule files nested thousands of levels deep are located errors (exit 2)', async () => {
    const flow = withConfig(`global_tags: ${'['.repeat(200)}${']'.repeat(200)}\n`)
    // the top-level map is level 0: the 64th list (column 14 + 63) is one too many
    assertOneLocatedError(await flow(['config', 'validate']), 2, /^error: .*mon-\d+\.yaml:1:77: nested too deeply \(more than 64 levels\)/)
    let block = 'x-deep:\n'
    for (let i = 1; i <= 3000; i++) block += `${'  '.repeat(i)}a:\n`
    assertOneLocatedError(await withConfig(block)(['config', 'validate']), 2, /^error: .*mon-\d+\.yaml:\d+:\d+: nested too deeply/)
    const rules = join(tmp.dir, 'deep-rules.yaml')
    writeFileSync(rules, `groups: ${'['.repeat(2000)}${']'.repeat(2000)}\n`)
    assertOneLocatedError(await withConfig('host: chaos\n')(['rules', 'check', rules]), 2, /deep-rules\.yaml:\d+:\d+: nested too deeply/)
    console.log('# chaos nesting: 3 files (flow 200, block 3,000, rules 2,000 levels) → exit 2 with line:col')
  })

  it('${file:/dev/zero} and a file one byte over 64 KiB are refused; exactly 64 KiB is read', async () => {
    const zero = withConfig('api:\n  token: ${file:/dev/zero}\n')
    assertOneLocatedError(await zero(['config', 'validate']), 2, /^error: .*mon-\d+\.yaml:2:10: api\.token: secret file \/dev\/zero is larger than 64KiB/)
    const over = join(tmp.dir, 'over.secret')
    writeFileSync(over, 'x'.repeat(MAX_SECRET_FILE_BYTES + 1))
    assertOneLocatedError(await withConfig(`api:\n  token: \${file:${over}}\n`)(['config', 'validate']), 2, /:2:10: api\.token: secret file .*over\.secret is larger than 64KiB/)
    const exact = join(tmp.dir, 'exact.secret')
    writeFileSync(exact, 'x'.repeat(MAX_SECRET_FILE_BYTES))
    const ok = await withConfig(`api:\n  token: \${file:${exact}}\n`)(['config', 'validate'])
    assert.equal(ok.code, 0, ok.stderr)
    console.log(`# chaos secret files: /dev/zero and ${MAX_SECRET_FILE_BYTES + 1} bytes refused, ${MAX_SECRET_FILE_BYTES} bytes read`)
  })

  it('an unresolved YAML alias is a file:line:col error in a config, a rule file and a rule test file', async () => {
    const mon = withConfig('host: chaos\nglobal_tags:\n  team: *a\n')
    assertOneLocatedError(await mon(['config', 'validate']), 2, /^error: .*mon-\d+\.yaml:3:9: invalid YAML: unresolved alias \*a/)
    const rules = join(tmp.dir, 'alias-rules.yaml')
    writeFileSync(rules, 'groups:\n  - name: *a\n    rules: []\n')
    assertOneLocatedError(await mon(['rules', 'check', rules]), 2, /alias-rules\.yaml:2:11: invalid YAML: unresolved alias \*a/)
    const tests = join(tmp.dir, 'alias-tests.yaml')
    writeFileSync(tests, `rule_files: [${rules}]\ntests:\n  - interval: *every\n`)
    assertOneLocatedError(await mon(['rules', 'test', tests]), 2, /alias-tests\.yaml:3:15: invalid YAML: unresolved alias \*every/)
    console.log('# chaos aliases: 3 files with an unresolved alias → exit 2 with line:col')
  })
})

describe('chaos: secrets from ${…} never leak from validation or config show', () => {
  // a multi-line secret with quotes, a backslash and more than 60 characters: every form that
  // escaped, shortened or line-split copies could take
  const SECRET = 'hunter2-"quoted"-back\\slash\nsecond-line-of-the-secret\nthird-line-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx('
  const ENVIRON = 'PATH=/usr/bin\0MON_SECRET_TOKEN=s3cr3t-environ-value\0HOME=/root\0'
  const forms = (s: string) => [
    ...s.split(/[\n\0]/).filter((line) => line.length >= 8),
    JSON.stringify(s).slice(1, -1),
    JSON.stringify(s).slice(1, 30),
    s.slice(0, 20),
  ]

  it('validation errors mask interpolated values in every field kind (exit 2)', async () => {
    const environ = join(tmp.dir, 'environ')
    writeFileSync(environ, ENVIRON)
    const yaml = [
      'agent:',
      '  interval: ${SECRET}',
      '  flush_interval: ${file:' + environ + '}',
      '  batch_size: ${SECRET}',
      '  jitter: "prefix ${SECRET} suffix"',
      'store:',
      '  type: influxdb',
      '  url: ${SECRET}',
      'spool:',
      '  fsync: ${SECRET}',
      'inputs:',
      '  http:',
      '    - url: http://127.0.0.1:1/',
      '      body_regex: ${SECRET}',
      '',
    ].join('\n')
    const mon = withConfig(yaml, {SECRET})
    let problems = 0
    for (const args of [['config', 'validate'], ['config', 'validate', '--json'], ['config', 'show'], ['query', 'cpu.usage_user', '--debug']]) {
      const r = await mon(args)
      assert.equal(r.code, 2, `${args.join(' ')}\n${r.stdout}${r.stderr}`)
      const out = r.stdout + r.stderr
      for (const form of [...forms(SECRET), ...forms(ENVIRON)]) assert.ok(!out.includes(form), `${args.join(' ')} printed ${JSON.stringify(form)}:\n${out}`)
      if (args.includes('--json')) problems = (JSON.parse(r.stdout) as {problems: unknown[]}).problems.length
    }
    // every bad field is still reported, at its own line
    assert.equal(problems, 7)
    console.log(`# chaos redaction: ${problems} problems from \${…} values, ${forms(SECRET).length + forms(ENVIRON).length} forms of 2 secrets checked in 4 outputs, none printed`)
  })

  it('config show masks an interpolated multi-line value', async () => {
    const r = await withConfig('global_tags:\n  team: ${SECRET}\nnotify:\n  external_url: https://mon.example.com/${SECRET}\n', {SECRET})(['config', 'show', '--json'])
    assert.equal(r.code, 0, r.stderr)
    for (const form of forms(SECRET)) assert.ok(!(r.stdout + r.stderr).includes(form), `printed ${JSON.stringify(form)}`)
    assert.equal((JSON.parse(r.stdout) as {config: {global_tags: {team: string}}}).config.global_tags.team, '***')
  })
})
