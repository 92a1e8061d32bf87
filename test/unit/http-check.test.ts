import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {httpCheckOptions, httpCheckPoints, runHttpCheck, type HttpCheckOptions} from '../../src/core/collectors/http.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {ROOT} from '../helpers/cli.js'

let server: Server
let tls: Server
let base: string
let tlsBase: string

before(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case '/ok':
        res.writeHead(200, {'content-type': 'application/json'}).end('{"status": "ok"}')
        return
      case '/hostile':
        // what a hostile (or broken) server may send against a body_regex like (a|a)*b
        res.writeHead(200).end('a'.repeat(64) + '!')
        return
      case '/fail':
        res.writeHead(500).end('boom')
        return
      case '/hang':
        return // never answers
      case '/redirect':
        res.writeHead(302, {location: '/ok'}).end()
        return
      case '/echo': {
        let body = ''
        req.on('data', (d) => (body += d))
        req.on('end', () => res.writeHead(201).end(`${req.method} ${req.headers['x-test']} ${body}`))
        return
      }
      default:
        res.writeHead(404).end()
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const dir = join(ROOT, 'test', 'fixtures', 'tls')
  tls = createHttpsServer({key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem'))}, (_req, res) => res.end('secure'))
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r))
  tlsBase = `https://localhost:${(tls.address() as AddressInfo).port}`
})

after(async () => {
  server.closeAllConnections()
  tls.closeAllConnections()
  await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => tls.close(r))])
})

const check = (url: string, extra: Partial<HttpCheckOptions> = {}): Promise<ReturnType<typeof runHttpCheck> extends Promise<infer T> ? T : never> =>
  runHttpCheck({url, method: 'GET', timeoutMs: 2000, followRedirects: true, tlsVerify: true, ...extra}, new AbortController().signal)

describe('http check', () => {
  it('200 with a matching body: success', async () => {
    const o = await check(`${base}/ok`, {bodyRegex: /"status":\s*"ok"/})
    assert.equal(o.result, 'success')
    assert.equal(o.statusCode, 200)
    assert.equal(o.contentLength, 16)
    assert.equal(o.stringMatch, true)
    assert.ok(o.responseTime! > 0 && o.responseTime! < 2)
  })

  it('body not matching: response_string_mismatch', async () => {
    const o = await check(`${base}/ok`, {bodyRegex: /down/})
    assert.equal(o.result, 'response_string_mismatch')
    assert.equal(o.stringMatch, false)
  })

  it('body_regex runs on RE2: a hostile body cannot stall the check with a pattern such as (a|a)*b', async () => {
    const fromConfig = (path: string, bodyRegex: string) => httpCheckOptions(parseConfigText(`inputs:\n  http:\n    - url: ${base}${path}\n      body_regex: '${bodyRegex}'\n`, '<test>', {}).config.inputs.http[0]!)
    const opts = fromConfig('/hostile', '(a|a)*b')
    // a JavaScript RegExp backtracks 2^64 ways over this body (the event loop would be stuck for good)
    assert.ok(!(opts.bodyRegex instanceof RegExp), 'body_regex is not compiled to a backtracking RegExp')
    const o = await runHttpCheck({...opts, timeoutMs: 2000}, new AbortController().signal)
    assert.deepEqual([o.result, o.stringMatch], ['response_string_mismatch', false])
    const good = fromConfig('/ok', String.raw`"status":\s*"ok"`)
    assert.equal((await runHttpCheck(good, new AbortController().signal)).result, 'success', 'the same search semantics as before (unanchored)')
  })

  it('500: response_status_code_mismatch (default expects 2xx/3xx), or success when 500 is expected', async () => {
    assert.equal((await check(`${base}/fail`)).result, 'response_status_code_mismatch')
    assert.equal((await check(`${base}/fail`, {expectStatus: [500]})).result, 'success')
  })

  it('no answer: timeout', async () => {
    const o = await check(`${base}/hang`, {timeoutMs: 300})
    assert.equal(o.result, 'timeout')
    assert.match(o.error!, /no response within 300 ms/)
  })

  it('connection refused: connection_failed', async () => {
    const o = await check('http://127.0.0.1:1/')
    assert.equal(o.result, 'connection_failed')
    assert.match(o.error!, /ECONNREFUSED/)
  })

  it('unknown host: dns_error', async () => {
    assert.equal((await check('http://no-such-host.invalid/')).result, 'dns_error')
  })

  it('follows redirects unless told not to', async () => {
    assert.equal((await check(`${base}/redirect`)).statusCode, 200)
    const o = await check(`${base}/redirect`, {followRedirects: false, expectStatus: [302]})
    assert.equal(o.statusCode, 302)
    assert.equal(o.result, 'success')
  })

  it('sends the method, headers and body', async () => {
    const o = await check(`${base}/echo`, {method: 'POST', headers: {'x-test': 'yes'}, body: 'ping', bodyRegex: /^POST yes ping$/})
    assert.equal(o.result, 'success')
    assert.equal(o.statusCode, 201)
  })

  it('https with a self-signed certificate: x509 facts, verification on and off', async () => {
    const off = await check(`${tlsBase}/`, {tlsVerify: false})
    assert.equal(off.result, 'success')
    assert.equal(off.certificate?.subjectCN, 'localhost')
    assert.equal(off.certificate?.verified, false)
    const on = await check(`${tlsBase}/`)
    assert.equal(on.result, 'connection_failed')
    assert.match(on.error!, /certificate verification failed/)
    assert.ok(on.certificate, 'the certificate is reported even when it fails verification')
  })

  it('maps outcomes to Telegraf http_response and x509_cert points', async () => {
    const now = Date.UTC(2026, 0, 1)
    const o = await check(`${tlsBase}/`, {tlsVerify: false})
    const [resp, cert] = httpCheckPoints({url: `${tlsBase}/`, method: 'GET'}, o, now)
    assert.deepEqual(resp!.tags, {server: `${tlsBase}/`, method: 'GET', result: 'success', status_code: '200'})
    assert.equal(resp!.fields.http_response_code, 200n)
    assert.equal(resp!.fields.result_code, 0n)
    assert.equal(resp!.fields.result_type, 'success')
    assert.equal(resp!.fields.content_length, 6n)
    assert.equal(typeof resp!.fields.response_time, 'number')
    assert.equal(cert!.measurement, 'x509_cert')
    assert.equal(cert!.tags.verification, 'invalid')
    assert.equal(cert!.tags.common_name, 'localhost')
    assert.equal(cert!.fields.verification_code, 1n)
    assert.equal(cert!.fields.expiry, BigInt(Math.floor((o.certificate!.notAfter - now) / 1000)))
    assert.ok((cert!.fields.days_left as number) > 365 * 90)
    const [timeout] = httpCheckPoints({url: 'http://x/', method: 'GET'}, {result: 'timeout', error: 'x'}, now)
    assert.deepEqual(timeout!.fields, {result_code: 4n, result_type: 'timeout'})
    assert.deepEqual(timeout!.tags, {server: 'http://x/', method: 'GET', result: 'timeout'})
  })
})
