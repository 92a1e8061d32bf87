/**
 * A real `mon daemon` (bin/run.js) for a config written by the test: started in its own data dir,
 * its API URL read back from daemon.json (the config may say port 0), stopped with SIGTERM.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {DaemonStatusView} from '../../src/core/daemon/status.js'
import {BIN} from './cli.js'
import {waitFor} from './servers.js'

export interface RunningDaemon {
  url: string
  config: string
  dataDir: string
  proc: ChildProcess
  output(): string
  stop(): Promise<void>
}

/** `configYaml` must not set data_dir (the helper adds it under `dir`). */
export async function startMonDaemon(dir: string, configYaml: string, env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
  const dataDir = join(dir, 'data')
  const config = join(dir, 'mon.yaml')
  writeFileSync(config, `data_dir: ${dataDir}\n${configYaml}`)
  let out = ''
  const proc = spawn(process.execPath, [BIN, 'daemon', '--config', config], {env: {...process.env, MON_CONFIG: '', MON_API_TOKEN: '', NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  proc.stdout!.on('data', (d) => (out = (out + d).slice(-50_000)))
  proc.stderr!.on('data', (d) => (out = (out + d).slice(-50_000)))
  const statusFile = join(dataDir, 'daemon.json')
  const snapshot = () => JSON.parse(readFileSync(statusFile, 'utf8')) as DaemonStatusView
  await waitFor(async () => existsSync(statusFile) && snapshot().state === 'running' && Boolean(snapshot().api?.url), 'mon daemon started', 60_000, proc, () => out)
  const url = snapshot().api!.url
  return {
    url,
    config,
    dataDir,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}
