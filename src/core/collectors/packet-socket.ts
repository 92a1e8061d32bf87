/**
 * The socket under the push inputs that read datagrams (inputs.statsd, inputs.udp): a UDP socket,
 * or a TCP server whose connections carry newline-separated lines. It hands each datagram (or
 * each run of complete TCP lines) to `onText` and counts what it got; it never parses.
 *
 * UDP loss is said, not hidden: what the kernel dropped because the socket's receive buffer was
 * full is read from /proc/net/udp (and udp6), the `drops` column of the socket's local port, and
 * reported beside what was received (`kernel_drops`). Where there is no /proc (not Linux) the
 * field is absent.
 */
import {createSocket, type Socket} from 'node:dgram'
import {readFileSync} from 'node:fs'
import {createServer, type Server, type Socket as TcpSocket} from 'node:net'
import {isIP} from 'node:net'
import type {Logger} from '../log.js'

export interface PacketSocketOptions {
  protocol: 'udp' | 'tcp'
  /** host and port; port 0 picks a free one */
  host: string
  port: number
  /** SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max) */
  readBuffer?: number
  /** TCP connections at once; more are closed at once (counted) */
  maxConnections?: number
  /** longest TCP line kept; a longer one is cut off and counted */
  maxLineBytes?: number
  onText(text: string): void
  log: Logger
}

export interface PacketSocketStats {
  /** UDP datagrams, or TCP line runs, received */
  datagrams: number
  bytes: number
  /** TCP: connections open now, refused at the cap, lines longer than maxLineBytes */
  tcp_connections?: number
  tcp_refused?: number
  tcp_too_long?: number
  /** UDP: datagrams the kernel dropped for this socket's port (/proc/net/udp `drops`) */
  kernel_drops?: number
}

export class PacketSocket {
  private udp?: Socket
  private tcp?: Server
  private readonly conns = new Set<TcpSocket>()
  private s = {datagrams: 0, bytes: 0, refused: 0, tooLong: 0}
  address?: {host: string; port: number}

  constructor(private readonly opts: PacketSocketOptions) {}

  async start(): Promise<{host: string; port: number}> {
    const {host, port} = this.opts
    if (this.opts.protocol === 'udp') {
      const sock = createSocket({type: isIP(host) === 6 ? 'udp6' : 'udp4', recvBufferSize: this.opts.readBuffer})
      sock.on('message', (msg) => {
        this.s.datagrams++
        this.s.bytes += msg.length
        this.deliver(msg.toString('utf8'))
      })
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject)
        sock.bind(port, host || undefined, () => {
          sock.off('error', reject)
          resolve()
        })
      })
      sock.on('error', (err) => this.opts.log.warn('udp socket error', {error: err.message}))
      this.udp = sock
      const a = sock.address()
      this.address = {host: a.address, port: a.port}
    } else {
      const server = createServer((conn) => this.accept(conn))
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({port, host: host || undefined}, () => {
          server.off('error', reject)
          resolve()
        })
      })
      server.on('error', (err) => this.opts.log.warn('tcp server error', {error: err.message}))
      this.tcp = server
      const a = server.address() as {address: string; port: number}
      this.address = {host: a.address, port: a.port}
    }
    return this.address
  }

  async stop(): Promise<void> {
    const udp = this.udp
    this.udp = undefined
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()))
    const tcp = this.tcp
    this.tcp = undefined
    if (tcp) {
      for (const c of this.conns) c.destroy()
      await new Promise<void>((resolve) => tcp.close(() => resolve()))
    }
  }

  stats(): PacketSocketStats {
    const out: PacketSocketStats = {datagrams: this.s.datagrams, bytes: this.s.bytes}
    if (this.opts.protocol === 'tcp') {
      out.tcp_connections = this.conns.size
      out.tcp_refused = this.s.refused
      out.tcp_too_long = this.s.tooLong
    } else if (this.address) {
      const drops = kernelUdpDrops(this.address.port)
      if (drops !== undefined) out.kernel_drops = drops
    }
    return out
  }

  private deliver(text: string): void {
    try {
      this.opts.onText(text)
    } catch (err) {
      // a parser bug must not take the socket down
      this.opts.log.error('packet handling failed', {error: err instanceof Error ? err.message : String(err)})
    }
  }

  private accept(conn: TcpSocket): void {
    if (this.conns.size >= (this.opts.maxConnections ?? 250)) {
      this.s.refused++
      conn.destroy()
      return
    }
    this.conns.add(conn)
    const max = this.opts.maxLineBytes ?? 65_536
    let pending = ''
    let skipping = false
    conn.setEncoding('utf8')
    conn.on('data', (chunk: string) => {
      let text = pending + chunk
      pending = ''
      if (skipping) {
        const nl = text.indexOf('\n')
        if (nl < 0) return
        skipping = false
        text = text.slice(nl + 1)
      }
      const last = text.lastIndexOf('\n')
      if (last < 0) {
        pending = text
      } else {
        pending = text.slice(last + 1)
        this.s.datagrams++
        this.s.bytes += Buffer.byteLength(text.slice(0, last + 1))
        this.deliver(text.slice(0, last + 1))
      }
      if (pending.length > max) {
        this.s.tooLong++
        pending = ''
        skipping = true
      }
    })
    const done = () => {
      if (pending.length > 0 && !skipping) {
        this.s.datagrams++
        this.s.bytes += Buffer.byteLength(pending)
        this.deliver(pending)
      }
      pending = ''
      this.conns.delete(conn)
    }
    conn.on('end', done)
    conn.on('close', () => this.conns.delete(conn))
    conn.on('error', () => this.conns.delete(conn))
  }
}

/**
 * The kernel's drop count of the UDP sockets bound to `port` (summed over /proc/net/udp and
 * /proc/net/udp6: a socket can only be in one). Undefined where /proc/net/udp cannot be read.
 */
export function kernelUdpDrops(port: number, files = ['/proc/net/udp', '/proc/net/udp6']): number | undefined {
  let found = false
  let drops = 0
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    found = true
    drops += udpDropsIn(text, hexPort)
  }
  return found ? drops : undefined
}

/** The `drops` column (the last) of the lines whose local_address ends in `:<hexPort>`. */
export function udpDropsIn(text: string, hexPort: string): number {
  let drops = 0
  const lines = text.split('\n')
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i]!.trim().split(/\s+/)
    if (cols.length < 13) continue
    const local = cols[1]!
    if (local.slice(local.lastIndexOf(':') + 1).toUpperCase() !== hexPort) continue
    const n = Number(cols[cols.length - 1])
    if (Number.isFinite(n)) drops += n
  }
  return drops
}
