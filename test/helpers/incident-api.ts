/**
 * Starts the process that serves the daemon API for a config (test/helpers/incident-api-child.ts)
 * and returns its URL. When `mon daemon` exists, this is the one function to change: spawn
 * `bin/run.js daemon --config <file>` instead and read the URL from its "api: listening" log line.
 */
import {spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'incident-api-child.js')

export interface RunningApi {
  url: string
  output(): string
  stop(): Promise<void>
}

export async function startIncidentApi(configPath: string, env: NodeJS.ProcessEnv = {}): Promise<RunningApi> {
  const proc = spawn(process.execPath, [CHILD, configPath], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  proc.stderr.on('data', (d) => (out = (out + d).slice(-20_000)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API process did not start within 30 s:\n${out}`)), 30_000)
    let buf = ''
    proc.stdout.on('data', (d) => {
      buf += d
      const m = /\{"listening":"([^"]+)"\}/.exec(buf)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the API process exited with ${code}:\n${out}`))
    })
  })
  return {
    url,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}
