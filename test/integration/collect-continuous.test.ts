/**
 * `mon collect` in the foreground, as a user runs it: inputs on their interval, the listener,
 * and SIGTERM → everything spooled is written before it exits 0.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, it} from 'node:test'
import {BIN, runMon} from '../helpers/cli.js'
import {freePort, tempDir, waitFor} from '../helpers/servers.js'

let tmp: ReturnType<typeof tempDir>
before(() => {
  tmp = tempDir('mon-continuous-')
})
after(() => tmp.cleanup())

it('runs inputs and the listener until SIGTERM, then flushes and exits 0', {timeout: 60_000}, async () => {
  const port = await freePort()
  const file = join(tmp.dir, 'mon.yaml')
  writeFileSync(
    file,
    `data_dir: ${tmp.dir}/data
host: box
agent: {interval: 1s, flush_interval: 5s}
inputs:
  host: {interval: 1s}
  listener: {enabled: true, listen: "127.0.0.1:${port}"}
`,
  )
  const child = spawn(process.execPath, [BIN, 'collect', '--config', file, '--json'], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`)).status === 204, 'listener', 30_000, child, () => err)
  assert.match(err, /mon collect: 1 input → sqlite:/)
  assert.match(err, new RegExp(`listener +http://127\\.0\\.0\\.1:${port}/write`))
  const res = await fetch(`http://127.0.0.1:${port}/write?precision=s`, {method: 'POST', body: 'pushed,host=app v=42 1700000000\n'})
  assert.equal(res.status, 204)
  // the host input runs on the next whole second; flush_interval (5s) has not passed when we stop
  await new Promise((r) => setTimeout(r, 2200))
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  assert.equal(code, 0, err)
  assert.match(err, /SIGTERM: stopping; writing what is spooled/)
  const result = JSON.parse(out) as {mode: string; drained: boolean; pending: number; written: number; inputs: Array<{name: string; runs: number; written: number}>}
  assert.equal(result.mode, 'continuous')
  assert.equal(result.drained, true)
  assert.equal(result.pending, 0)
  const host = result.inputs.find((i) => i.name === 'host')!
  assert.ok(host.runs >= 1, JSON.stringify(result.inputs))
  assert.ok(host.written > 0, 'batched points were flushed at exit, before flush_interval')
  assert.equal(result.inputs.find((i) => i.name === 'listener')!.written, 1)

  const q = await runMon(['query', 'last_over_time(pushed.v[3650d])', '--config', file, '--json'])
  assert.equal(q.code, 0, q.stderr)
  assert.match(q.stdout, /42/)
  const m = await runMon(['query', 'mem.used_percent{host="box"}', '--since', '5m', '--config', file, '--json'])
  assert.equal(m.code, 0, m.stderr)
  assert.match(m.stdout, /used_percent|value/)
})
