import assert from 'node:assert/strict'
import {createServer, type AddressInfo, type Server, type Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {runTcpCheck, tcpCheckPoint, type TcpCheckOptions} from '../../src/core/collectors/tcp.js'

let server: Server
let port: number
const sockets = new Set<Socket>()

before(async () => {
  // a tiny redis-like server: PING → +PONG, QUIT → closes without a reply, SILENT → says nothing
  server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('data', (d) => {
      const cmd = d.toString().trim()
      if (cmd === 'PING') socket.write('+PONG\r\n')
      else if (cmd === 'QUIT') socket.end()
      else if (cmd === 'HELLO') socket.write('-ERR unknown\r\n')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as AddressInfo).port
})

after(async () => {
  for (const s of sockets) s.destroy()
  await new Promise((r) => server.close(r))
})

const check = (o: Partial<TcpCheckOptions>) => runTcpCheck({host: '127.0.0.1', port, timeoutMs: 1000, ...o}, new AbortController().signal)

describe('tcp check', () => {
  const table: Array<[string, Partial<TcpCheckOptions>, string]> = [
    ['connect only', {}, 'success'],
    ['send and expect', {send: 'PING\r\n', expect: '+PONG'}, 'success'],
    ['unexpected reply', {send: 'HELLO\r\n', expect: '+PONG'}, 'string_mismatch'],
    ['closed without a reply', {send: 'QUIT\r\n', expect: '+PONG'}, 'read_failed'],
    ['no reply in time', {send: 'SILENT\r\n', expect: '+PONG', timeoutMs: 200}, 'read_failed'],
    ['nothing listening', {port: 1}, 'connection_failed'],
  ]
  for (const [what, opts, result] of table) {
    it(`${what}: ${result}`, async () => {
      const o = await check(opts)
      assert.equal(o.result, result, o.error)
      if (result === 'success') assert.ok(o.responseTime! >= 0 && o.responseTime! < 1)
    })
  }

  it('is published as Telegraf net_response', () => {
    const p = tcpCheckPoint({host: 'db', port: 5432, timeoutMs: 1}, {result: 'connection_failed'}, 1000)
    assert.deepEqual(p, {measurement: 'net_response', tags: {server: 'db', port: '5432', protocol: 'tcp', result: 'connection_failed'}, fields: {result_code: 2n, result_type: 'connection_failed'}, ts: 1000})
  })
})
