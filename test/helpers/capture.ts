/**
 * A real HTTP(S) server on loopback that records every request, for testing what notification
 * channels send. Port 0, closed by the test. The responder decides each reply (default 200 "ok").
 */
import {createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'

export interface CapturedRequest {
  method: string
  /** path and query */
  url: string
  headers: IncomingHttpHeaders
  body: string
}

export interface Reply {
  status?: number
  headers?: Record<string, string>
  body?: string | object
  /** never answer (the connection stays open until the server closes) */
  hang?: boolean
}

export type Responder = (req: CapturedRequest, index: number) => Reply | undefined

export interface CaptureServer {
  url: string
  port: number
  requests: CapturedRequest[]
  /** replace the responder */
  respond(responder: Responder): void
  /** requests whose path starts with `prefix` */
  at(prefix: string): CapturedRequest[]
  json<T = Record<string, unknown>>(req: CapturedRequest): T
  /** wait (real time) until at least n requests arrived */
  waitFor(n: number, timeoutMs?: number): Promise<void>
  reset(): void
  close(): Promise<void>
}

export async function startCapture(opts: {responder?: Responder; tls?: {key: string; cert: string}; port?: number} = {}): Promise<CaptureServer> {
  let responder: Responder = opts.responder ?? (() => undefined)
  const requests: CapturedRequest[] = []
  const open = new Set<ServerResponse>()
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const captured: CapturedRequest = {method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8')}
      requests.push(captured)
      const reply = responder(captured, requests.length - 1) ?? {}
      if (reply.hang) {
        open.add(res)
        return
      }
      const body = typeof reply.body === 'object' ? JSON.stringify(reply.body) : (reply.body ?? 'ok')
      res.writeHead(reply.status ?? 200, {'Content-Type': typeof reply.body === 'object' ? 'application/json' : 'text/plain', ...reply.headers})
      res.end(body)
    })
  }
  const server: Server = opts.tls ? createHttpsServer({key: opts.tls.key, cert: opts.tls.cert}, handler) : createHttpServer(handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as {port: number}).port
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    respond(r) {
      responder = r
    },
    at: (prefix) => requests.filter((r) => r.url.startsWith(prefix)),
    json: <T>(req: CapturedRequest) => JSON.parse(req.body) as T,
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} request(s), got ${requests.length} after ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    reset() {
      requests.length = 0
    },
    async close() {
      for (const res of open) res.destroy()
      server.closeAllConnections?.()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
