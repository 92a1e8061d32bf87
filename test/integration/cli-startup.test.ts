/**
 * The fast start (docs/startup.md) must not change what `mon` does: every command line here runs
 * three ways — from the bundle with its code cache (the default), from the bundle without a cache
 * (MON_CODE_CACHE=0) and from dist/src as oclif loads it (MON_BUNDLE=0) — and must print the same
 * bytes and exit with the same code each way.
 */
import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ROOT, runMon, type CliResult} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

let tmp: {dir: string; cleanup: () => void}
let env: NodeJS.ProcessEnv
let at: string // queries run at this instant, so their output does not depend on when they run
before(async () => {
  tmp = tempDir('mon-startup-')
  env = {
    MON_DATA_DIR: join(tmp.dir, 'data'),
    XDG_CONFIG_HOME: join(tmp.dir, 'xdg-config'),
    XDG_DATA_HOME: join(tmp.dir, 'xdg-data'),
    XDG_CACHE_HOME: join(tmp.dir, 'xdg-cache'),
  }
  const now = Math.floor(Date.now() / 1000) * 1000
  at = new Date(now).toISOString()
  const lines = Array.from({length: 20}, (_, i) => `mem,host=web-0 used_percent=${40 + i / 4} ${now - (20 - i) * 10_000}`).join('\n')
  const w = await runMon(['write', '-', '--precision', 'ms'], {env, input: lines})
  assert.equal(w.code, 0, w.stderr)
})
after(() => tmp.cleanup())

const WAYS: Record<string, NodeJS.ProcessEnv> = {bundle: {}, 'bundle without code cache': {MON_CODE_CACHE: '0'}, 'dist/src': {MON_BUNDLE: '0'}}

async function sameEveryWay(args: string[], input?: string): Promise<CliResult> {
  const results: Record<string, CliResult> = {}
  for (const [way, extra] of Object.entries(WAYS)) results[way] = await runMon(args, {env: {...env, ...extra}, input})
  const reference = results['dist/src']!
  for (const [way, r] of Object.entries(results)) assert.deepEqual(r, reference, `mon ${args.join(' ')}: ${way} differs from dist/src`)
  return reference
}

describe('mon starts the same from the bundle, with or without its code cache, as from dist/src', () => {
  it('the bundle is built and lists every command but those kept out', () => {
    const info = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', 'info.json'), 'utf8')) as {hash: string; commands: string[]; unbundled: string[]}
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    assert.deepEqual([...info.commands, ...info.unbundled].sort(), Object.keys(manifest.commands).sort())
    assert.ok(info.commands.includes('query'))
    assert.deepEqual(info.unbundled, ['alerts:ack'], 'only the ink picker keeps a command out')
  })

  it('query and status have bundles of their own, from which they run and keep their code cache', async () => {
    const info = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', 'info.json'), 'utf8')) as {hash: string; own: Record<string, {file: string; hash: string}>}
    assert.deepEqual(Object.keys(info.own).sort(), ['query', 'status'])
    for (const own of Object.values(info.own)) {
      assert.ok(existsSync(join(ROOT, 'dist', 'bundle', own.file)), own.file)
      assert.notEqual(own.hash, info.hash)
    }

    const st = await sameEveryWay(['status'])
    assert.match(st.stdout, /spool/)
    const q = await runMon(['query', 'last(mem.used_percent)', '--at', at], {env})
    assert.equal(q.code, 0, q.stderr)
    // the cache of a run of the query's own bundle is named by that bundle's hash, not the main one's
    const where = [join(ROOT, 'dist', 'bundle', '.cache'), join(env.XDG_CACHE_HOME!, 'mon')]
    const files = where.flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : []))
    const name = new RegExp(`^${info.own.query!.hash}-query(\\+config)?(-[0-9a-f]+)?\\.v8$`)
    assert.ok(files.some((f) => name.test(f)), `no code cache ${name} in ${where.join(' or ')}`)
  })

  it('--version: the line oclif prints', async () => {
    const r = await sameEveryWay(['--version'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /^mon\/\d+\.\d+\.\d+ \S+-\S+ node-v\d+\.\d+\.\d+\n$/)
  })

  it('help: root, topic and command', async () => {
    for (const args of [['--help'], ['alerts'], ['query', '--help'], ['alerts', 'ack', '--help']]) {
      const r = await sameEveryWay(args)
      assert.equal(r.code, 0, args.join(' '))
      assert.match(r.stdout, /USAGE/)
    }
  })

  it('a query answers, and a bad one fails the same way', async () => {
    const ok = await sameEveryWay(['query', 'last(mem.used_percent)', '--at', at, '--json'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(JSON.parse(ok.stdout).series.length, 1)
    const bad = await sameEveryWay(['query', 'sum(mem.used_percent'])
    assert.equal(bad.code, 2)
    const flag = await sameEveryWay(['query', 'x', '--bogus'])
    assert.equal(flag.code, 2)
    assert.match(flag.stderr, /Nonexistent flag: --bogus/)
  })

  it('an unknown command, a command kept out of the bundle, and a plugin command', async () => {
    const unknown = await sameEveryWay(['nosuch'])
    assert.notEqual(unknown.code, 0)
    const ack = await sameEveryWay(['alerts', 'ack', 'zz'])
    assert.equal(ack.code, 2)
    const completion = await sameEveryWay(['autocomplete', 'bash'])
    assert.equal(completion.code, 0)
    assert.match(completion.stdout, /mon autocomplete/)
  })

  it('with a config file: the first run validates it, the next ones take what it gave; a bad one fails the same every time', async () => {
    const file = join(tmp.dir, 'mon.yaml')
    writeFileSync(file, `data_dir: ${JSON.stringify(env.MON_DATA_DIR)}\nstore:\n  type: sqlite\ninputs:\n  host:\n    interval: 15s\n`)
    for (let run = 0; run < 2; run++) {
      const r = await sameEveryWay(['query', 'last(mem.used_percent)', '--at', at, '--json', '--config', file])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(JSON.parse(r.stdout).series.length, 1)
      // the config's own commands load zod and yaml from their own files (dist/bundle/pkg/)
      const valid = await sameEveryWay(['config', 'validate', '--config', file])
      assert.equal(valid.code, 0, valid.stderr)
    }
    writeFileSync(file, 'store:\n  type: sqlit\n')
    for (let run = 0; run < 2; run++) {
      const bad = await sameEveryWay(['query', 'last(mem.used_percent)', '--config', file])
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /mon\.yaml:2:9: store\.type: expected one of .*got string "sqlit"/)
    }
  })

  it('a run leaves a code cache for its command', async () => {
    const {hash} = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', 'info.json'), 'utf8')) as {hash: string}
    const r = await runMon(['store', 'info'], {env})
    assert.equal(r.code, 0, r.stderr)
    // <bundle hash>-<command>[+config][-<hash of node's flags>].v8
    const name = new RegExp(`^${hash}-store\\.info(\\+config)?(-[0-9a-f]+)?\\.v8$`)
    const where = [join(ROOT, 'dist', 'bundle', '.cache'), join(env.XDG_CACHE_HOME!, 'mon')]
    const files = where.flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : []))
    assert.ok(files.some((f) => name.test(f)), `no code cache ${name} in ${where.join(' or ')}`)
  })
})
