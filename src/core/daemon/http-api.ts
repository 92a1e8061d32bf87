import type {IncomingMessage} from 'node:http'

/**
 * The daemon HTTP server's route seam: what a module that mounts routes (api-incidents.ts,
 * alert-page.ts, the daemon's /healthz and /metrics) sees of the server. The server itself is
 * api.ts; these types live apart so route modules never import it (api.ts imports them to mount
 * them, and an import back would be a cycle).
 */

export interface ApiRequest {
  method: string
  /** path without the query string, decoded per segment into `params` */
  path: string
  params: Record<string, string>
  query: URLSearchParams
  /** parsed JSON body (undefined when empty); the body as text for a route with `body: 'text'` */
  body: unknown
  /** the client's address (`127.0.0.1`, `2001:db8::1`) */
  remoteAddress: string
  headers: IncomingMessage['headers']
}

export interface ApiReply {
  status?: number
  /** sent as application/json */
  json?: unknown
  /** sent as application/json as it is: JSON a route wrote itself as UTF-8 bytes (a large answer, faster than JSON.stringify of objects made for it: api-prom.ts's matrices) */
  jsonBytes?: Buffer
  /**
   * application/json the route writes in parts as it makes them (a large answer): sent chunked, so
   * the client reads the first parts while the route writes the rest. `write` hands a part to the
   * socket (a view the route must not change until `sent`), the return value is the last part.
   */
  jsonParts?: (write: (part: Buffer) => void) => Buffer
  /** called once `jsonBytes` (or every part of `jsonParts`) has been handed to the socket (not when the connection failed first): the route may reuse its memory */
  sent?: () => void
  /** sent as is (with contentType, default text/plain) */
  text?: string
  contentType?: string
  headers?: Record<string, string>
}

export type ApiHandler = (req: ApiRequest) => ApiReply | Promise<ApiReply>

export interface RouteOptions {
  /**
   * needs the bearer token; default true (every route under /api/ needs it regardless).
   * `'off-loopback'`: only when the server listens beyond loopback (pages a browser opens from a link).
   */
  auth?: boolean | 'off-loopback' | 'if-token'
  /** where the token comes from (default: `Authorization: Bearer`); InfluxDB's clients send it other ways */
  credentials?: (req: {headers: IncomingMessage['headers']; query: URLSearchParams}) => string | undefined
  /** the 401 such clients expect instead of the API's own (`missing`: no credentials at all) */
  unauthorized?: (reason: 'missing' | 'wrong' | 'no-token') => ApiReply
  /** `text`: hand the handler the raw body (a form) instead of parsing JSON */
  body?: 'json' | 'text'
}

export interface ListenAddress {
  host: string
  port: number
  /** `http://127.0.0.1:9464` (`https://` with api.tls_cert) */
  url: string
}

export interface ApiServer {
  /** Add a route: `GET /healthz`, `POST /api/v1/alerts/{id}/ack` (`{name}` matches one path segment). */
  route(method: string, pattern: string, handler: ApiHandler, opts?: RouteOptions): void
  listen(): Promise<ListenAddress>
  /** Stop accepting, drop idle and open connections. */
  close(): Promise<void>
}
