/**
 * InfluxQL through the daemon's /query (issue 21, "Speed"): the statement Grafana's InfluxDB data
 * source sends for a 24 h CPU panel grouped by host,
 *
 *   SELECT mean("usage_user") FROM "cpu" WHERE time >= now() - 24h GROUP BY time(1m), "host" fill(null)
 *
 * on a `mon daemon` over the embedded store, beside the same statement on a real influxd (Debian's
 * 1.6) holding the same points, in the same run. Fixture: 10 hosts, `cpu` with usage_user and
 * usage_system every 10 s over the 24 h ending now (86,400 points, 172,800 values), written to mon
 * with `mon write` and to influxd with /write. Each side is timed as the median of ctx.reps GET
 * /query requests (epoch=ms, until the JSON is parsed) after one warm-up; both answers must have
 * the same 10 series and the same number of rows (1441 or 1442: now() moves between the two).
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {startMonDaemon, type RunningDaemon} from '../test/helpers/mon-daemon.js'
import {startInfluxd, type RunningServer} from '../test/helpers/servers.js'
import {repeat, type Bench, type BenchResult} from './lib.js'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..')
const bin = join(root, 'bin', 'run.js')

const HOSTS = 10
const STEP = 10_000
const DAY = 24 * 3600_000
const STATEMENT = 'SELECT mean("usage_user") FROM "cpu" WHERE time >= now() - 24h GROUP BY time(1m), "host" fill(null)'

function fixture(end: number): string[] {
  const lines: string[] = []
  const first = end - DAY
  for (let h = 0; h < HOSTS; h++) {
    const host = `host-${String(h).padStart(2, '0')}`
    for (let t = first, i = 0; t <= end; t += STEP, i++) {
      const user = ((i * 7 + h * 13) % 900) / 10
      const system = ((i * 3 + h * 5) % 200) / 10
      lines.push(`cpu,host=${host},cpu=cpu-total usage_user=${user},usage_system=${system} ${t}`)
    }
  }
  return lines
}

interface Answer {
  results?: Array<{error?: string; series?: Array<{tags?: Record<string, string>; values?: unknown[][]}>}>
  error?: string
}

async function query(url: string): Promise<Answer> {
  const res = await fetch(`${url}/query?${new URLSearchParams({q: STATEMENT, db: 'mon', epoch: 'ms'})}`)
  const body = (await res.json()) as Answer
  if (res.status !== 200 || body.error || body.results?.[0]?.error) throw new Error(`${url}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`)
  return body
}

function shape(a: Answer): {series: number; rows: number[]} {
  const series = a.results?.[0]?.series ?? []
  return {series: series.length, rows: series.map((s) => s.values?.length ?? 0)}
}

const bench: Bench = {
  name: 'influxql',
  issue: '#21',
  async run(ctx): Promise<BenchResult[]> {
    const end = Math.floor(Date.now() / STEP) * STEP
    const lines = fixture(end)
    const dir = join(ctx.tmp, 'mon')
    mkdirSync(dir, {recursive: true})
    const config = `host: bench
agent: {interval: 1h, self_metrics: false}
inputs:
  host: {enabled: false}
api: {listen: "127.0.0.1:0"}
`
    writeFileSync(join(dir, 'mon.yaml'), `data_dir: ${join(dir, 'data')}\n${config}`)
    writeFileSync(join(dir, 'fixture.lp'), lines.join('\n') + '\n')
    ctx.progress(`writing ${lines.length} points to mon and influxd`)
    const w = spawnSync(process.execPath, [bin, 'write', join(dir, 'fixture.lp'), '--precision', 'ms', '--config', join(dir, 'mon.yaml')], {encoding: 'utf8', env: {...process.env, MON_CONFIG: ''}})
    if (w.status !== 0) throw new Error(`mon write failed: ${w.stderr}`)
    let daemon: RunningDaemon | undefined
    let influxd: RunningServer | undefined
    try {
      ;[daemon, influxd] = await Promise.all([startMonDaemon(dir, config), startInfluxd()])
      await fetch(`${influxd.url}/query`, {method: 'POST', body: new URLSearchParams({q: 'CREATE DATABASE mon'})})
      for (let i = 0; i < lines.length; i += 20_000) {
        const res = await fetch(`${influxd.url}/write?db=mon&precision=ms`, {method: 'POST', body: lines.slice(i, i + 20_000).join('\n')})
        if (res.status !== 204) throw new Error(`influxd /write: ${res.status} ${await res.text()}`)
      }
      const ours = shape(await query(daemon.url))
      const theirs = shape(await query(influxd.url))
      if (ours.series !== HOSTS || theirs.series !== HOSTS) throw new Error(`expected ${HOSTS} series: mon ${ours.series}, influxd ${theirs.series}`)
      for (const [i, n] of ours.rows.entries()) {
        if (Math.abs(n - theirs.rows[i]!) > 1) throw new Error(`series ${i}: mon ${n} rows, influxd ${theirs.rows[i]}`)
      }
      ctx.progress('timing mon /query')
      const mon = await repeat(ctx.reps, async () => {
        const t = performance.now()
        await query(daemon!.url)
        return performance.now() - t
      }, 1)
      ctx.progress('timing influxd /query')
      const peer = await repeat(ctx.reps, async () => {
        const t = performance.now()
        await query(influxd!.url)
        return performance.now() - t
      }, 1)
      return [
        {
          name: 'InfluxQL 24 h mean by time(1m), host (10 hosts, 10 s data) via /query',
          unit: 'ms',
          higherIsBetter: false,
          value: mon,
          baseline: {name: 'influxd 1.6, same data', value: peer},
          notes: `mon: the daemon on the embedded store; both answer ${HOSTS} series of ~1441 rows (${ours.rows[0]} and ${theirs.rows[0]} here)`,
        },
      ]
    } finally {
      await Promise.all([daemon?.stop(), influxd?.destroy()])
    }
  },
}

export default bench
