/**
 * Real servers for integration tests, each started on loopback in its own temp dir on a free port
 * and stopped afterwards. No mocks: if a binary is missing the test fails with how to install it
 * (`npm run setup:test` installs them all from Debian's archive).
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export function requireBinary(name: string, pkg: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], {encoding: 'utf8'})
  const path = found.stdout.trim()
  if (found.status !== 0 || !path) {
    throw new Error(`${name} is not installed: this test needs a real ${name}. Run \`npm run setup:test\` (apt-get install -y ${pkg}) and try again.`)
  }

  return path
}

/** A free loopback TCP port (bind to 0, read it back, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as {port: number}
      srv.close(() => resolve(port))
    })
  })
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000, proc?: ChildProcess, log?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`${what}: process exited with ${proc.exitCode}\n${log?.() ?? ''}`)
    try {
      if (await check()) return
    } catch {
      // not up yet
    }

    await new Promise((r) => setTimeout(r, 100))
  }

  throw new Error(`${what}: not ready after ${timeoutMs} ms\n${log?.() ?? ''}`)
}

export interface RunningServer {
  url: string
  port: number
  dir: string
  proc: ChildProcess
  /** output so far, for failure messages */
  output(): string
  /** SIGTERM and wait; the data dir is kept (restart() reuses it) */
  stop(): Promise<void>
  /** start again on the same port and data dir */
  restart(): Promise<void>
  /** stop and remove the temp dir */
  destroy(): Promise<void>
}

/** starts tried before a port taken in between is an error */
export const PORT_ATTEMPTS = 5

async function startProcess(opts: {
  name: string
  bin: string
  args: (port: number, dir: string) => string[]
  env?: (port: number, dir: string) => NodeJS.ProcessEnv
  ready: (url: string) => Promise<boolean>
  extraPorts?: number
  /** picks the server's other ports again (a start that found one taken is tried again on new ones) */
  repick?: () => Promise<void>
}): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), `mon-${opts.name}-`))
  let port = await freePort()
  let url = `http://127.0.0.1:${port}`
  let out = ''
  let proc!: ChildProcess
  const launch = async () => {
    proc = spawn(opts.bin, opts.args(port, dir), {env: {...process.env, ...opts.env?.(port, dir)}, stdio: ['ignore', 'pipe', 'pipe']})
    proc.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)))
    proc.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)))
    await waitFor(() => opts.ready(url), `${opts.name} on ${url}`, 30_000, proc, () => out)
  }

  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }

  // a free port is released before the server binds it, and in between any process (another
  // test's outgoing connection) may take it: a start that failed on that is tried on new ports
  for (let attempt = 1; ; attempt++) {
    try {
      await launch()
      break
    } catch (error) {
      if (attempt === PORT_ATTEMPTS || !/address already in use/i.test(out)) throw error
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      out = ''
      port = await freePort()
      url = `http://127.0.0.1:${port}`
      await opts.repick?.()
    }
  }

  return {
    url,
    port,
    dir,
    get proc() {
      return proc
    },
    output: () => out,
    stop,
    restart: launch,
    async destroy() {
      await stop()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/**
 * InfluxDB 1.x (Debian's influxdb package), HTTP API on loopback, everything in a temp dir.
 * `settings`: more INFLUXDB_* environment settings (e.g. short cold-compaction durations).
 */
export async function startInfluxd(settings: Record<string, string> = {}): Promise<RunningServer> {
  const bin = requireBinary('influxd', 'influxdb')
  let rpcPort = await freePort()
  return startProcess({
    name: 'influxd',
    repick: async () => {
      rpcPort = await freePort()
    },
    bin,
    args: () => ['run', '-config', '/dev/null'],
    env: (port, dir) => ({
      INFLUXDB_META_DIR: join(dir, 'meta'),
      INFLUXDB_DATA_DIR: join(dir, 'data'),
      INFLUXDB_DATA_WAL_DIR: join(dir, 'wal'),
      INFLUXDB_HTTP_BIND_ADDRESS: `127.0.0.1:${port}`,
      INFLUXDB_BIND_ADDRESS: `127.0.0.1:${rpcPort}`,
      INFLUXDB_REPORTING_DISABLED: 'true',
      INFLUXDB_DATA_QUERY_LOG_ENABLED: 'false',
      INFLUXDB_HTTP_LOG_ENABLED: 'false',
      INFLUXDB_LOGGING_LEVEL: 'warn',
      INFLUXDB_MONITOR_STORE_ENABLED: 'false',
      ...settings,
    }),
    ready: async (url) => (await fetch(`${url}/ping`)).status === 204,
  })
}

/** VictoriaMetrics: accepts InfluxDB line protocol on /write and /api/v2/write, exports on /api/v1/export. `extraArgs`: more flags (limits). */
export async function startVictoriaMetrics(extraArgs: string[] = []): Promise<RunningServer> {
  const bin = requireBinary('victoria-metrics', 'victoria-metrics')
  return startProcess({
    name: 'victoria-metrics',
    bin,
    args: (port, dir) => [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=100y', '-search.disableCache', '-loggerLevel=ERROR', ...extraArgs],
    ready: async (url) => (await fetch(`${url}/health`)).ok,
  })
}

/** Prometheus Alertmanager with the given config YAML. */
export async function startAlertmanager(configYaml: string): Promise<RunningServer> {
  const bin = requireBinary('prometheus-alertmanager', 'prometheus-alertmanager')
  const {writeFileSync} = await import('node:fs')
  let clusterPort = await freePort()
  return startProcess({
    name: 'alertmanager',
    repick: async () => {
      clusterPort = await freePort()
    },
    bin,
    args: (port, dir) => {
      writeFileSync(join(dir, 'alertmanager.yml'), configYaml)
      return [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${dir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--cluster.listen-address=127.0.0.1:${clusterPort}`,
        '--log.level=warn',
      ]
    },
    ready: async (url) => (await fetch(`${url}/-/ready`)).ok,
  })
}

/**
 * Prometheus (Debian's 2.42) serving exactly the samples of an OpenMetrics text (timestamps in
 * seconds, `# EOF` last), backfilled into its TSDB with `promtool tsdb create-blocks-from
 * openmetrics` before it starts; nothing is scraped.
 */
export async function startPrometheus(openMetrics: string): Promise<RunningServer> {
  const bin = requireBinary('prometheus', 'prometheus')
  const promtool = requireBinary('promtool', 'prometheus')
  const {existsSync, writeFileSync} = await import('node:fs')
  return startProcess({
    name: 'prometheus',
    bin,
    args: (port, dir) => {
      const data = join(dir, 'data')
      // restart() reuses the blocks: backfilling twice would give overlapping blocks
      if (!existsSync(data)) {
        writeFileSync(join(dir, 'fixture.om'), openMetrics)
        const made = spawnSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'fixture.om'), data], {encoding: 'utf8'})
        if (made.status !== 0) throw new Error(`promtool could not backfill the fixture:\n${made.stdout}${made.stderr}`)
      }

      writeFileSync(join(dir, 'prometheus.yml'), 'global: {}\n')
      return [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${data}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // the fixture's blocks are old: keep them whatever their age
        '--storage.tsdb.retention.time=100y',
        '--log.level=warn',
      ]
    },
    ready: async (url) => (await fetch(`${url}/-/ready`)).ok,
  })
}

/** Convenience for tests: a temp dir removed by the returned function. */
export function tempDir(prefix = 'mon-test-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** Debian's prometheus-node-exporter on loopback: this machine's metrics under node_exporter's names. */
export async function startNodeExporter(): Promise<RunningServer> {
  const bin = requireBinary('prometheus-node-exporter', 'prometheus-node-exporter')
  return startProcess({
    name: 'node-exporter',
    bin,
    args: (port) => [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    ready: async (url) => (await fetch(`${url}/metrics`)).ok,
  })
}

/** Prometheus scraping `targets` (host:port) every `interval` as job `node`, from an empty TSDB; `jobExtra`: more YAML of the job (indented 4), e.g. relabel_configs. */
export async function startScrapingPrometheus(targets: string[], interval = '1s', jobExtra = ''): Promise<RunningServer> {
  const bin = requireBinary('prometheus', 'prometheus')
  const {writeFileSync} = await import('node:fs')
  return startProcess({
    name: 'prometheus',
    bin,
    args: (port, dir) => {
      writeFileSync(join(dir, 'prometheus.yml'), `global: {scrape_interval: ${interval}, evaluation_interval: ${interval}}\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ${JSON.stringify(targets)}\n${jobExtra}`)
      return [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']
    },
    ready: async (url) => (await fetch(`${url}/-/ready`)).ok,
  })
}
