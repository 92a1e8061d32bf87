/**
 * CLI cold start (issue #2): `mon --version` and `mon query` on the embedded store, each a fresh
 * process, beside the floor any Node CLI pays — `node -e 0`, and a bare better-sqlite3 script that
 * opens the same database and runs one aggregate — measured in the same run.
 */
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {SqliteStore} from '../src/core/store/sqlite/store.js'
import {repeat, type Bench} from './lib.js'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..')
const bin = join(root, 'bin', 'run.js')

function timeRun(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const t = performance.now()
  const r = spawnSync(process.execPath, args, {env: {...process.env, NO_COLOR: '1', ...env}, encoding: 'utf8'})
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`)
  return ms
}

const bench: Bench = {
  name: 'cli-cold-start',
  issue: '#2',
  async run(ctx) {
    const reps = Math.max(ctx.reps, 10)
    ctx.progress('mon --version')
    const version = await repeat(reps, () => timeRun([bin, '--version']), 2)
    const nodeBare = await repeat(reps, () => timeRun(['-e', '0']), 2)

    ctx.progress('preparing a store with 8,640 points per host for 10 hosts')
    const dataDir = join(ctx.tmp, 'data')
    const store = new SqliteStore({path: join(dataDir, 'mon.db'), autoCompactEvery: 0})
    const now = Date.now()
    for (let h = 0; h < 10; h++) {
      store.writeSync(
        Array.from({length: 8640}, (_, i) => ({measurement: 'cpu', tags: {host: `web-${h}`, cpu: 'cpu-total'}, fields: {usage_user: (i % 100) + 0.5}, ts: now - (8640 - i) * 10_000})),
      )
    }

    await store.close()
    ctx.progress('mon query')
    const env = {MON_DATA_DIR: dataDir, MON_CONFIG: '', XDG_CONFIG_HOME: ctx.tmp}
    const query = await repeat(reps, () => timeRun([bin, 'query', 'mean(cpu.usage_user{cpu="cpu-total"}) by host', '--since', '24h', '--every', '1h'], env), 2)
    const script = `const D=require(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3'))});const db=new D(${JSON.stringify(join(dataDir, 'mon.db'))},{readonly:true});db.prepare('SELECT count(*) FROM chunks').get()`
    const bareQuery = await repeat(reps, () => timeRun(['-e', script]), 2)
    return [
      {name: 'mon --version', unit: 'ms', higherIsBetter: false, value: version, baseline: {name: 'node -e 0', value: nodeBare}, goal: '≤ 250 ms', met: version.median <= 250},
      {
        name: "mon query 'mean(cpu.usage_user) by host' over 24 h, 1 h buckets, 10 hosts",
        unit: 'ms',
        higherIsBetter: false,
        value: query,
        baseline: {name: 'node + better-sqlite3 opening the same file, one SELECT', value: bareQuery},
      },
    ]
  },
}

export default bench
