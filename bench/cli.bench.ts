/**
 * CLI cold start (#2, #23): `mon --version` and `mon query` on the embedded store, each a fresh
 * process, beside the floor any Node CLI pays — `node -e 0` — and, for the bigger query, a bare
 * better-sqlite3 script that opens the same database and runs one SELECT. Every command of a round
 * runs once per round, rounds interleaved, so load on the machine hits all alike.
 *
 * The query runs from a bundle of its own (dist/bundle/cmd/query.js: oclif and that command; the
 * notes give its size), without a config file (the defaults npm run build wrote apply, and the
 * config schema is never built), and also with a small one — as it runs again and again (the file validated through
 * the zod schema on its first run, its result kept for the same text after: core/config/validated.ts)
 * and as the first run after each change of the file does (MON_CONFIG_CACHE=0: validated every time)
 * — without the code cache (MON_CODE_CACHE=0) and without the bundle (MON_BUNDLE=0, the compiled
 * files under dist/src as oclif loads them) to show what each costs or gives (docs/startup.md). The
 * notes break one profiled run of the query down by where its CPU went: node --cpu-prof, each
 * function's own time charged to its source file through the source maps of dist/bundle/.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {SourceMap} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {SqliteStore} from '../src/core/store/sqlite/store.js'
import {stats, type Bench, type BenchResult, type Stats} from './lib.js'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..')
const bin = join(root, 'bin', 'run.js')

function spawnNode(args: string[], env: NodeJS.ProcessEnv): {ms: number; stdout: string} {
  const t = performance.now()
  const r = spawnSync(process.execPath, args, {env: {...process.env, NO_COLOR: '1', ...env}, encoding: 'utf8'})
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`)
  return {ms, stdout: r.stdout}
}

/** Runs every case once per round, `reps` rounds after `warmup` unrecorded ones. */
function interleaved(cases: Record<string, () => number>, reps: number, warmup = 2): Record<string, Stats> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  for (let i = -warmup; i < reps; i++) {
    for (const [k, fn] of Object.entries(cases)) {
      const ms = fn()
      if (i >= 0) samples[k]!.push(ms)
    }
  }

  return Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, stats(s)]))
}

interface ProfileNode {
  id: number
  callFrame: {functionName: string; url: string; lineNumber: number; columnNumber: number}
}

/** Where one run's CPU goes, by origin: "zod 24 ms, node internals 40 ms, …" (a profiled run, warm cache). */
function breakdown(args: string[], env: NodeJS.ProcessEnv, tmp: string): string {
  const dir = mkdtempSync(join(tmp, 'prof-'))
  for (let i = 0; i < 2; i++) {
    rmSync(dir, {recursive: true, force: true}) // the first run leaves a code cache under the same flags
    spawnNode(['--cpu-prof', '--cpu-prof-dir', dir, ...args], env)
  }

  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]}
  // the main bundle and the packages bundled on their own (dist/bundle/pkg/), each with its source map
  const bundleDir = join(root, 'dist', 'bundle')
  const maps = new Map<string, SourceMap | undefined>()
  const mapOf = (file: string) => {
    if (!maps.has(file)) {
      try {
        maps.set(file, new SourceMap(JSON.parse(readFileSync(file + '.map', 'utf8'))))
      } catch {
        maps.set(file, undefined)
      }
    }
    return maps.get(file)
  }

  const origin = (node: ProfileNode): string => {
    const {functionName, url, lineNumber, columnNumber} = node.callFrame
    if (functionName === '(garbage collector)') return 'garbage collection'
    if (url === 'node:vm' && functionName === 'Script') return 'loading dist/bundle/ files with their code caches (vm.Script)'
    if (url === '') return functionName.startsWith('(') ? 'V8 and native (program, idle)' : 'node internals (module loader, fs, streams)'
    let path = url.startsWith('file://') ? fileURLToPath(url) : url
    if (path.startsWith(bundleDir + '/') && path.endsWith('.js')) {
      const entry = mapOf(path)?.findEntry(lineNumber, columnNumber)
      if (!entry || !('originalSource' in entry)) return "the bundle's runtime (esbuild's helpers, lazy built-ins)"
      path = resolve(dirname(path), entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource)
    }

    if (!path.startsWith('/')) return 'node internals (module loader, fs, streams)'
    const pkg = /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(path)?.[1]
    if (pkg === 'zod' || pkg === 'yaml' || pkg === 'better-sqlite3') return pkg
    if (pkg?.startsWith('@oclif/')) return 'oclif'
    if (pkg) return 'other packages'
    const src = /dist\/src\/(.*)$/.exec(path)?.[1]
    if (src) {
      if (/^core\/(config|notify|collectors|alerting|template|pipeline|server|scheduler)\//.test(src)) return 'mon: config and the schemas it imports'
      if (src.startsWith('core/store/')) return 'mon: store'
      if (src.startsWith('core/query/')) return 'mon: query'
      return 'mon: other'
    }

    return path.startsWith(join(root, 'bin')) ? 'bin/' : 'other'
  }

  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const totals = new Map<string, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const key = origin(byId.get(profile.samples[i]!)!)
    totals.set(key, (totals.get(key) ?? 0) + profile.timeDeltas[i]!)
    total += profile.timeDeltas[i]!
  }

  // the same samples by what was on the stack (inclusive; these steps do not nest in one another;
  // async functions are left out: after an await their time shows under the event loop, not them)
  const phases: Array<[string, (name: string) => boolean]> = [
    ['importing oclif', (name) => name.endsWith('@oclif/core/lib/index.js')],
    // only with a config file: without one the defaults the build wrote apply (core/config/defaults.ts)
    ['importing the config schema (zod schemas of every section, input and channel; only to validate a file)', (name) => name.endsWith('dist/src/core/config/schema.js')],
    ['loading the config', (name) => name === 'loadConfig'],
    ['opening the store', (name) => name === 'openStore'],
  ]
  const parent = new Map<number, number>()
  for (const n of profile.nodes as Array<ProfileNode & {children?: number[]}>) for (const c of n.children ?? []) parent.set(c, n.id)
  const phaseTotals = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id)!
      const phase = phases.find(([, match]) => match(node.callFrame.functionName))
      if (phase) {
        phaseTotals.set(phase[0], (phaseTotals.get(phase[0]) ?? 0) + profile.timeDeltas[i]!)
        break
      }
    }
  }

  rmSync(dir, {recursive: true, force: true})
  const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`
  const parts = [...totals].sort((a, b) => b[1] - a[1]).map(([k, us]) => `${k} ${ms(us)}`)
  const steps = phases.map(([name]) => `${name} ${ms(phaseTotals.get(name) ?? 0)}`)
  return `one profiled run (${ms(total)} of samples after node's own start), by origin: ${parts.join(', ')}. By step: ${steps.join(', ')}`
}

/** Which bundle a run of `id` loads (docs/startup.md: query and status have their own), its size and its code cache's. */
function bundleNote(id: string): string {
  const dir = join(root, 'dist', 'bundle')
  const info = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8')) as {hash: string; own?: Record<string, {file: string; hash: string}>}
  const own = info.own?.[id]
  const file = own ? own.file : 'mon.js'
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`
  // the cache of a run without node flags (the timed runs); bin/load.cjs writes it in dist/bundle/.cache
  const cache = join(dir, '.cache', `${own ? own.hash : info.hash}-${id.replaceAll(':', '.')}.v8`)
  const cached = existsSync(cache) ? `, its code cache ${mb(statSync(cache).size)}` : ''
  return `Loads dist/bundle/${file} (${mb(statSync(join(dir, file)).size)}${cached})`
}

const bench: Bench = {
  name: 'cli-cold-start',
  issue: '#2, #23',
  async run(ctx) {
    const reps = Math.max(ctx.reps, 10)
    // bin/load.cjs ignores a bundle older than dist/src (tsc run alone): that would measure MON_BUNDLE=0
    const built = (f: string) => statSync(join(root, 'dist', f)).mtimeMs
    if (built('.tsbuildinfo') > built('bundle/mon.js')) throw new Error('dist/bundle/mon.js is older than dist/src: run npm run build')
    const noConfig = {MON_CONFIG: '', XDG_CONFIG_HOME: ctx.tmp}

    ctx.progress('preparing a small store (mem.used_percent of one host every 10 s for an hour) and one of 8,640 points per host for 10 hosts')
    const smallDir = join(ctx.tmp, 'small')
    const small = new SqliteStore({path: join(smallDir, 'mon.db'), autoCompactEvery: 0})
    const now = Date.now()
    small.writeSync(Array.from({length: 360}, (_, i) => ({measurement: 'mem', tags: {host: 'web-0'}, fields: {used_percent: 40 + (i % 17) / 3}, ts: now - (359 - i) * 10_000})))
    await small.close()
    const dataDir = join(ctx.tmp, 'data')
    const store = new SqliteStore({path: join(dataDir, 'mon.db'), autoCompactEvery: 0})
    for (let h = 0; h < 10; h++) {
      store.writeSync(
        Array.from({length: 8640}, (_, i) => ({measurement: 'cpu', tags: {host: `web-${h}`, cpu: 'cpu-total'}, fields: {usage_user: (i % 100) + 0.5}, ts: now - (8640 - i) * 10_000})),
      )
    }

    await store.close()

    const smallEnv = {...noConfig, MON_DATA_DIR: smallDir}
    const last = [bin, 'query', 'last(mem.used_percent)']
    // a small config file: the store, an input and a receiver, so the whole schema is built and applied
    const configFile = join(ctx.tmp, 'mon.yaml')
    writeFileSync(configFile, `data_dir: ${JSON.stringify(smallDir)}\nstore:\n  type: sqlite\ninputs:\n  host:\n    interval: 15s\nnotify:\n  receivers:\n    - name: ops\n      webhook_configs:\n        - url: http://127.0.0.1:9/hook\n  route:\n    receiver: ops\n`)
    const configEnv = {...noConfig, MON_CONFIG: configFile}
    for (const env of [smallEnv, configEnv]) {
      const answer = spawnNode(last, env).stdout
      if (!/^time\s+value\n\S+\s+[\d.]+\n$/.test(answer)) throw new Error(`mon query 'last(mem.used_percent)' answered:\n${answer}`)
    }

    ctx.progress('node -e 0, mon --version and mon query, interleaved')
    const small1 = interleaved(
      {
        node: () => spawnNode(['-e', '0'], {}).ms,
        version: () => spawnNode([bin, '--version'], {}).ms,
        query: () => spawnNode(last, smallEnv).ms,
        withConfig: () => spawnNode(last, configEnv).ms,
        withConfigFirst: () => spawnNode(last, {...configEnv, MON_CONFIG_CACHE: '0'}).ms,
        noCache: () => spawnNode(last, {...smallEnv, MON_CODE_CACHE: '0'}).ms,
        noBundle: () => spawnNode(last, {...smallEnv, MON_BUNDLE: '0'}).ms,
      },
      reps,
    )

    ctx.progress('mon query over 24 h of 10 hosts')
    const env = {...noConfig, MON_DATA_DIR: dataDir}
    const script = `const D=require(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3'))});const db=new D(${JSON.stringify(join(dataDir, 'mon.db'))},{readonly:true});db.prepare('SELECT count(*) FROM chunks').get()`
    const big = interleaved(
      {
        query: () => spawnNode([bin, 'query', 'mean(cpu.usage_user{cpu="cpu-total"}) by host', '--since', '24h', '--every', '1h'], env).ms,
        bare: () => spawnNode(['-e', script], {}).ms,
      },
      reps,
    )

    const nodeBare = {name: 'node -e 0', value: small1.node!}
    const versionRatio = small1.version!.median / nodeBare.value.median
    const queryRatio = small1.query!.median / nodeBare.value.median
    ctx.progress('profiling what is left')
    const rows: BenchResult[] = [
      {
        name: 'mon --version',
        unit: 'ms',
        higherIsBetter: false,
        value: small1.version!,
        baseline: nodeBare,
        goal: '≤ 1.5× node -e 0 (#23); ≤ 250 ms (#2)',
        met: versionRatio <= 1.5 && small1.version!.median <= 250,
        notes: versionRatio <= 1.5 ? undefined : breakdown([bin, '--version'], {}, ctx.tmp),
      },
      {
        name: "mon query 'last(mem.used_percent)' on a small store (360 points)",
        unit: 'ms',
        higherIsBetter: false,
        value: small1.query!,
        baseline: nodeBare,
        goal: '≤ 2× node -e 0 (#23)',
        met: queryRatio <= 2,
        notes: `${bundleNote('query')}. Without a config file (the defaults npm run build wrote apply; the config schema is not built): ${breakdown(last, smallEnv, ctx.tmp)}`,
      },
      {
        name: 'the same, with a small config file (store, one input, one receiver; validated on its first run, its result kept for the same text)',
        unit: 'ms',
        higherIsBetter: false,
        value: small1.withConfig!,
        baseline: nodeBare,
        goal: '≤ 2× node -e 0',
        met: small1.withConfig!.median / nodeBare.value.median <= 2,
      },
      {
        name: 'the same, the first run after each change of the file (MON_CONFIG_CACHE=0: validated through the zod schema)',
        unit: 'ms',
        higherIsBetter: false,
        value: small1.withConfigFirst!,
        baseline: nodeBare,
      },
      {name: 'the same, without the code cache (MON_CODE_CACHE=0)', unit: 'ms', higherIsBetter: false, value: small1.noCache!, baseline: nodeBare},
      {name: 'the same, without the bundle (MON_BUNDLE=0: dist/src loaded by oclif)', unit: 'ms', higherIsBetter: false, value: small1.noBundle!, baseline: nodeBare},
      {
        name: "mon query 'mean(cpu.usage_user) by host' over 24 h, 1 h buckets, 10 hosts",
        unit: 'ms',
        higherIsBetter: false,
        value: big.query!,
        baseline: {name: 'node + better-sqlite3 opening the same file, one SELECT', value: big.bare!},
      },
    ]
    return rows
  },
}

export default bench
