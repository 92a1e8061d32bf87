/**
 * Every gathered point is written or counted as dropped with a reason (pipeline/drops.ts), with
 * the real CLI as cron runs it: `mon collect --once` over exec inputs, then the store and
 * `mon_internal` read back with `mon query`.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {OnceSummary} from '../../src/core/pipeline/once.js'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

interface QueryOut {
  series: Array<{name: string; tags: Record<string, string>; columns: string[]; values: Array<[string, number]>}>
}

/** An exec input that prints `output` (built in the child, so no quoting gets in the way). */
const printing = (name: string, expression: string, format: string, extra = '') =>
  `    - {name: ${name}, command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(`console.log(${expression})`)}], data_format: ${format}${extra}}`

describe('mon collect --once: every gathered point is written or dropped with a reason', () => {
  const tmp = tempDir('mon-drops-')
  let config: string
  const query = async (expr: string) => {
    const r = await runMon(['query', expr, '--since', '1h', '--config', config, '--json'])
    assert.equal(r.code, 0, r.stderr)
    return (JSON.parse(r.stdout) as QueryOut).series
  }
  const internal = async (input: string, field: string) => (await query(`mon_internal.${field}{input="${input}"}`))[0]?.values.at(-1)?.[1]

  before(() => {
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(
      config,
      `data_dir: ${join(tmp.dir, 'data')}
host: test-host
agent: {self_metrics: true}
inputs:
  host: {enabled: false}
  exec:
${printing('page', `'name{a="y' + String.fromCharCode(92) + 'nz"} 0.5'`, 'prometheus')}
${printing('paths', `JSON.stringify([{path: 'C:' + String.fromCharCode(92), free: 1}, {path: 'D:', free: 2}])`, 'json', ', name_override: disk, tag_keys: [path]')}
`,
    )
  })
  after(() => tmp.cleanup())

  it('a label value with a newline (Prometheus allows it) is stored, spelled \\n as Telegraf does, and counted as written', async () => {
    const r = await runMon(['collect', '--once', '--config', config, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as OnceSummary
    assert.equal(out.runs.find((x) => x.input === 'exec:page')?.points, 1)
    assert.equal(out.droppedBy['exec:page'], undefined, 'nothing of that input was dropped')

    const series = await query('name.value')
    assert.deepEqual(
      series.map((s) => [s.tags, s.values.map((v) => v[1])]),
      [[{a: 'y\\nz', host: 'test-host'}, [0.5]]],
    )
    // mon_internal agrees: gathered 1, written 1, dropped 0
    assert.deepEqual(
      [await internal('exec:page', 'gathered'), await internal('exec:page', 'written'), await internal('exec:page', 'dropped')],
      [1, 1, 0],
    )
  })

  it('a point line protocol cannot carry is counted as dropped, by reason, in --json, on stderr and in mon_internal', async () => {
    const r = await runMon(['collect', '--once', '--config', config, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as OnceSummary
    // the tag value "C:\" ends with a backslash: line protocol has no spelling for it
    assert.equal(out.runs.find((x) => x.input === 'exec:paths')?.points, 2)
    assert.equal(out.dropped, 1)
    assert.deepEqual(out.droppedBy, {'exec:paths': {unserializable: 1}})
    assert.match(r.stderr, /^input exec:paths: points dropped: 1 unserializable/m)

    assert.deepEqual((await query('disk.free')).map((s) => s.tags.path), ['D:'])
    assert.deepEqual(
      [await internal('exec:paths', 'gathered'), await internal('exec:paths', 'written'), await internal('exec:paths', 'dropped'), await internal('exec:paths', 'dropped_unserializable')],
      [2, 1, 1, 1],
      'gathered = written + dropped',
    )
  })
})
