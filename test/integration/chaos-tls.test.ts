/**
 * TLS on every server socket, with a CA made by the real openssl at test time (test/helpers/tls.ts):
 * the push listener (inputs.listener.tls_cert/tls_key, and tls_client_ca requiring a client
 * certificate) over real HTTPS on loopback, and the daemon API in its own process with
 * `mon alerts list --remote https://… --ca FILE` (or MON_CA; --cert/--key for a client CA).
 * A client that does not trust the CA, plain HTTP to a TLS port and a missing client certificate
 * are refused; bad TLS files are one message naming the field.
 */
import assert from 'node:assert/strict'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {join} from 'node:path'
import {connect as tlsConnect} from 'node:tls'
import {after, before, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {UserError} from '../../src/core/errors.js'
import {createAgent, type Agent} from '../../src/core/pipeline/agent.js'
import {createServerSocket, serverSocketOptions} from '../../src/core/server/socket.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {spawn} from 'node:child_process'
import {BIN, runMon} from '../helpers/cli.js'
import {startIncidentApi, type RunningApi} from '../helpers/incident-api.js'
import {tempDir, waitFor} from '../helpers/servers.js'
import {makeTestPki, type TestPki} from '../helpers/tls.js'

const TOKEN = 'tls-test-token-7c1e'
let tmp: ReturnType<typeof tempDir>
let pki: TestPki

before(() => {
  tmp = tempDir('mon-chaos-tls-')
  pki = makeTestPki(tmp.dir)
})
after(() => tmp?.cleanup())

interface Reply {
  status: number
  body: string
}

function post(url: string, body: string, tls: {ca?: string; cert?: string; key?: string} = {}): Promise<Reply> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest
  const pem = (f?: string) => (f ? readFileSync(f) : undefined)
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'POST', agent: false, ca: pem(tls.ca), cert: pem(tls.cert), key: pem(tls.key), headers: {Authorization: `Token ${TOKEN}`}}, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode!, body: text}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function startListenerAgent(name: string, extra: string): Promise<{agent: Agent; store: SqliteStore; port: number; close: () => Promise<void>}> {
  const dir = join(tmp.dir, name)
  const {config} = parseConfigText(
    `data_dir: ${dir}
host: collector-1
agent: {self_metrics: false, flush_interval: 50ms}
inputs:
  host: {enabled: false}
  listener:
    enabled: true
    listen: 127.0.0.1:0
    token: ${TOKEN}
    tls_cert: ${pki.serverCert}
    tls_key: ${pki.serverKey}
${extra}`,
    '<test>',
    {},
  )
  mkdirSync(dir, {recursive: true})
  const store = new SqliteStore({path: join(dir, 'mon.db')})
  const agent = await createAgent({config, dataDir: dir, store, clock: systemClock})
  await agent.start()
  return {
    agent,
    store,
    port: agent.listenerAddress!.port,
    async close() {
      await agent.stop(5000)
      await store.close()
    },
  }
}

describe('chaos: TLS on the push listener', () => {
  it('serves HTTPS with tls_cert/tls_key: a client trusting the test CA writes; others are refused', async (t) => {
    const l = await startListenerAgent('listener-tls', '    header_timeout: 1s\n')
    try {
      const url = `https://127.0.0.1:${l.port}/api/v2/write?precision=s`
      assert.equal((await post(url, 'tls_test v=1 1767614400\n', {ca: pki.caCert})).status, 204)
      await assert.rejects(post(url, 'tls_test v=2 1767614401\n', {ca: pki.otherCaCert}), /self-signed certificate|unable to verify/i, 'a CA that did not sign it is not trusted')
      await assert.rejects(post(`http://127.0.0.1:${l.port}/api/v2/write`, 'tls_test v=3 1767614402\n'), /socket hang up|ECONNRESET|parse error|HPE_/i, 'plain HTTP to the TLS port gets no answer')
      assert.equal(l.agent.status().listener!.writes, 1)
      // a client that completes the handshake and then says nothing is closed by header_timeout
      const silent = tlsConnect({host: '127.0.0.1', port: l.port, ca: readFileSync(pki.caCert)})
      silent.on('error', () => {})
      let closed = false
      silent.once('close', () => (closed = true))
      await new Promise((r) => silent.once('secureConnect', r))
      await waitFor(async () => closed, 'a silent TLS connection closed by header_timeout', 15_000)
      t.diagnostic(`listener https: 1 write over TLS; another CA, plain HTTP and a silent TLS client refused or closed`)
    } finally {
      await l.close()
    }
  })

  it('with tls_client_ca: only a client certificate the CA signed gets in', async () => {
    const l = await startListenerAgent('listener-mtls', `    tls_client_ca: ${pki.caCert}\n`)
    try {
      const url = `https://127.0.0.1:${l.port}/api/v2/write?precision=s`
      assert.equal((await post(url, 'mtls_test v=1 1767614400\n', {ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey})).status, 204)
      await assert.rejects(post(url, 'mtls_test v=2 1767614401\n', {ca: pki.caCert}), /certificate required|socket hang up|ECONNRESET|alert/i, 'no client certificate, no write')
      await assert.rejects(post(url, 'mtls_test v=3 1767614402\n', {ca: pki.caCert, cert: pki.serverCert, key: pki.serverKey}), /unsupported certificate|certificate|socket hang up|ECONNRESET/i, 'a server certificate is not a client certificate')
      assert.equal(l.agent.status().listener!.writes, 1)
    } finally {
      await l.close()
    }
  })

  it('a reload with a missing TLS file is refused and the running listener keeps serving', async () => {
    const l = await startListenerAgent('listener-reload', '')
    try {
      const url = `https://127.0.0.1:${l.port}/api/v2/write?precision=s`
      const {config} = parseConfigText(
        `data_dir: ${join(tmp.dir, 'listener-reload')}\nhost: collector-1\nagent: {self_metrics: false, flush_interval: 50ms}\ninputs:\n  host: {enabled: false}\n  listener:\n    enabled: true\n    listen: 127.0.0.1:0\n    token: ${TOKEN}\n    tls_cert: ${join(tmp.dir, 'renewed.pem')}\n    tls_key: ${pki.serverKey}\n`,
        '<test>',
        {},
      )
      await assert.rejects(l.agent.reload(config), (err: UserError) => err instanceof UserError && err.message.startsWith('cannot read inputs.listener.tls_cert'))
      assert.equal(l.agent.listenerAddress?.port, l.port, 'the listener was not stopped')
      assert.equal((await post(url, 'reload_test v=1 1767614400\n', {ca: pki.caCert})).status, 204)
    } finally {
      await l.close()
    }
  })

  it('a missing or mismatched TLS file is one message naming the field, before anything listens', () => {
    const base = parseConfigText('inputs:\n  listener:\n    enabled: true\n', '<test>', {}).config.inputs.listener
    const missing = serverSocketOptions('inputs.listener', {...base, tls_cert: join(tmp.dir, 'nope.pem'), tls_key: pki.serverKey})
    assert.throws(() => createServerSocket(missing, () => {}), (err: UserError) => err instanceof UserError && err.exitCode === 2 && err.message.startsWith(`cannot read inputs.listener.tls_cert ${join(tmp.dir, 'nope.pem')}: ENOENT`))
    const mismatched = serverSocketOptions('inputs.listener', {...base, tls_cert: pki.serverCert, tls_key: pki.clientKey})
    assert.throws(() => createServerSocket(mismatched, () => {}), (err: UserError) => err instanceof UserError && err.exitCode === 2 && /^inputs\.listener\.tls_cert \/ tls_key cannot be used: .*key values mismatch/.test(err.message))
  })
})

describe('chaos: TLS on the daemon API, mon alerts --remote https:// with a private CA', () => {
  const apis: RunningApi[] = []
  const startApi = async (name: string, extra: string) => {
    const dir = join(tmp.dir, name)
    const configPath = join(tmp.dir, `${name}.yaml`)
    writeFileSync(configPath, `data_dir: ${dir}\napi:\n  listen: 127.0.0.1:0\n  token: ${TOKEN}\n  tls_cert: ${pki.serverCert}\n  tls_key: ${pki.serverKey}\n${extra}`)
    const api = await startIncidentApi(configPath)
    apis.push(api)
    return api
  }
  const remote = (url: string, args: string[], env: NodeJS.ProcessEnv = {}) => runMon(['alerts', 'list', '--json', '--remote', url, ...args], {env: {MON_API_TOKEN: TOKEN, ...env}})
  after(async () => {
    for (const api of apis) await api.stop()
  })

  it('--ca FILE or MON_CA trusts the daemon; without it the certificate is not trusted (exit 1, no stack)', async (t) => {
    const api = await startApi('api-tls', '')
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    const withCa = await remote(api.url, ['--ca', pki.caCert])
    assert.equal(withCa.code, 0, withCa.stderr)
    assert.deepEqual(JSON.parse(withCa.stdout), [])
    const fromEnv = await remote(api.url, [], {MON_CA: pki.caCert})
    assert.equal(fromEnv.code, 0, fromEnv.stderr)

    const untrusted = await remote(api.url, [])
    assert.equal(untrusted.code, 1)
    assert.match(untrusted.stderr, /its TLS certificate is not trusted/)
    t.diagnostic(`without --ca: ${untrusted.stderr.trim().split('\n').join(' | ')}`)
    assert.match(untrusted.stderr, /--ca FILE \(or set MON_CA\)/)
    assert.doesNotMatch(untrusted.stderr, /^\s+at /m)
    const wrongCa = await remote(api.url, ['--ca', pki.otherCaCert])
    assert.equal(wrongCa.code, 1)
    assert.match(wrongCa.stderr, /not trusted/)
    const plain = await remote(api.url.replace('https:', 'http:'), ['--ca', pki.caCert])
    assert.equal(plain.code, 1, 'plain HTTP to the TLS API fails')
    const missingCa = await remote(api.url, ['--ca', join(tmp.dir, 'missing-ca.pem')])
    assert.equal(missingCa.code, 2)
    assert.match(missingCa.stderr, /cannot read --ca .*missing-ca\.pem: ENOENT/)
    t.diagnostic('api https: --ca and MON_CA accepted; no CA, another CA, plain http, a missing --ca file refused')
  })

  it('api.tls_client_ca: --cert/--key get in, no client certificate does not', async (t) => {
    const api = await startApi('api-mtls', `  tls_client_ca: ${pki.caCert}\n`)
    const withCert = await remote(api.url, ['--ca', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey])
    assert.equal(withCert.code, 0, withCert.stderr)
    const without = await remote(api.url, ['--ca', pki.caCert])
    assert.equal(without.code, 1)
    assert.match(without.stderr, /cannot reach the mon daemon at https:.*: it refused our TLS client certificate/)
    t.diagnostic(`without a client certificate: ${without.stderr.trim().split('\n').join(' | ')}`)
    assert.doesNotMatch(without.stderr, /^\s+at /m)
  })
})

describe('chaos: mon status against a daemon whose API serves TLS', () => {
  it('asks the API when MON_CA trusts its certificate; otherwise shows the status file and says what to set', {timeout: 90_000}, async (t) => {
    const dir = join(tmp.dir, 'daemon')
    const config = join(tmp.dir, 'daemon.yaml')
    writeFileSync(config, `data_dir: ${dir}\ninputs:\n  host: {enabled: false}\napi:\n  listen: 127.0.0.1:0\n  token: ${TOKEN}\n  tls_cert: ${pki.serverCert}\n  tls_key: ${pki.serverKey}\n`)
    const env = {...process.env, MON_CONFIG: '', NO_COLOR: '1', MON_API_TOKEN: TOKEN}
    const daemon = spawn(process.execPath, [BIN, 'daemon', '--config', config], {env, stdio: ['ignore', 'ignore', 'pipe']})
    let err = ''
    daemon.stderr.on('data', (d) => (err += d))
    try {
      await waitFor(async () => /"url":\s*"https:/.test(readFileSync(join(dir, 'daemon.json'), 'utf8')), 'daemon.json with the https API URL', 30_000, daemon, () => err)
      const status = (extra: NodeJS.ProcessEnv) => runMon(['status', '--config', config, '--json'], {env: {MON_API_TOKEN: TOKEN, ...extra}})
      const trusted = await status({MON_CA: pki.caCert})
      assert.equal(trusted.code, 0, trusted.stderr)
      assert.equal((JSON.parse(trusted.stdout) as {daemon: {source: string}}).daemon.source, 'api')
      const untrusted = await status({})
      assert.equal(untrusted.code, 0, untrusted.stderr)
      const report = JSON.parse(untrusted.stdout) as {daemon: {source: string}; notes: string[]}
      assert.equal(report.daemon.source, 'snapshot')
      assert.match(report.notes.join('\n'), /cannot ask the daemon's API at https:.*set MON_CA to the CA that signed api\.tls_cert/)
      t.diagnostic(`mon status without MON_CA: ${report.notes[0]}`)
    } finally {
      daemon.kill('SIGTERM')
      await new Promise((r) => (daemon.exitCode === null ? daemon.once('exit', r) : r(null)))
    }
  })
})
