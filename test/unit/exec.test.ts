import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseCommandOutput, parseJsonMetrics, runCommand, splitCommand} from '../../src/core/collectors/exec.js'

const node = process.execPath
const signal = () => new AbortController().signal

describe('exec: command lines', () => {
  const table: Array<[string, string[]]> = [
    ['df -k', ['df', '-k']],
    ['  a   b  ', ['a', 'b']],
    [`echo 'a b' "c \\"d\\"" e\\ f`, ['echo', 'a b', 'c "d"', 'e f']],
    [`x '' ""`, ['x', '', '']],
    ['/usr/bin/queue-stats --json', ['/usr/bin/queue-stats', '--json']],
  ]
  for (const [line, argv] of table) it(line, () => assert.deepEqual(splitCommand(line), argv))
  it('rejects an unterminated quote', () => assert.throws(() => splitCommand(`echo 'oops`), /unterminated '/))
})

describe('exec: output formats', () => {
  it('json: flattens nested keys, numbers and booleans become fields, tag_keys become tags', () => {
    const {points, errors} = parseJsonMetrics(JSON.stringify([{queue: 'mail', depth: 12, ok: true, lag: {p50: 1.5, p99: 9}, note: 'x', shards: [1, 2]}, {queue: 'sms', depth: 0}]), {
      format: 'json',
      now: 5,
      name: 'queue',
      tagKeys: ['queue'],
    })
    assert.deepEqual(errors, [])
    assert.deepEqual(points, [
      {measurement: 'queue', tags: {queue: 'mail'}, fields: {depth: 12, ok: true, lag_p50: 1.5, lag_p99: 9, shards_0: 1, shards_1: 2}, ts: 5},
      {measurement: 'queue', tags: {queue: 'sms'}, fields: {depth: 0}, ts: 5},
    ])
  })

  it('json: bad input is reported', () => {
    assert.match(parseJsonMetrics('{nope', {format: 'json', now: 0}).errors[0]!, /not valid JSON/)
    assert.match(parseJsonMetrics('[1]', {format: 'json', now: 0}).errors[0]!, /item 1 is not an object/)
  })

  it('influx: line protocol, bad lines located', () => {
    const {points, errors} = parseCommandOutput('a v=1 1000000000\nbad line\n', {format: 'influx', now: 7, file: 'script output'})
    assert.equal(points.length, 1)
    assert.equal(points[0]!.ts, 1000)
    assert.match(errors[0]!, /^script output:2:\d+: /)
  })

  it('prometheus: exposition text', () => {
    const {points} = parseCommandOutput('# TYPE jobs_total counter\njobs_total{kind="a"} 3\n', {format: 'prometheus', now: 7})
    assert.deepEqual(points.map((p) => [p.measurement, p.tags, p.fields]), [['jobs_total', {kind: 'a'}, {counter: 3}]])
  })
})

describe('exec: running commands', () => {
  it('captures stdout and the exit code', async () => {
    const out = await runCommand([node, '-e', 'process.stdout.write("m v=1\\n"); process.stderr.write("warn\\n")'], 5000, signal())
    assert.deepEqual(out, {stdout: 'm v=1\n', stderr: 'warn\n', code: 0, signal: null})
  })

  it('a non-zero exit is reported with stderr', async () => {
    const out = await runCommand([node, '-e', 'console.error("disk gone"); process.exit(3)'], 5000, signal())
    assert.equal(out.code, 3)
    assert.equal(out.stderr.trim(), 'disk gone')
  })

  it('a command that runs too long is killed', async () => {
    await assert.rejects(runCommand([node, '-e', 'setTimeout(() => {}, 60000)'], 300, signal()), /timed out after 300 ms \(killed\)/)
  })

  it('a missing command says so', async () => {
    await assert.rejects(runCommand(['/no/such/command'], 1000, signal()), /\/no\/such\/command: command not found/)
  })
})
