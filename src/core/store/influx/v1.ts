/**
 * The InfluxDB 1.x write endpoint: `POST /write?db=&rp=&precision=` with line protocol, gzipped
 * when configured. One call is one attempt; the store retries.
 */
import {promisify} from 'node:util'
import {gzip as gzipCallback} from 'node:zlib'
import {HttpStatusError, type HttpClient} from './http.js'

const gzip = promisify(gzipCallback)

/** 1.x spells the precisions n, u, ms, s. */
const V1_PRECISION = {ns: 'n', us: 'u', ms: 'ms', s: 's'} as const

export interface V1WriteOptions {
  database: string
  retentionPolicy?: string
  gzip: boolean
}

export class V1Writer {
  constructor(
    private readonly http: HttpClient,
    private readonly opts: V1WriteOptions,
  ) {}

  /** The request body: gzipped (level 1: on a fast network the CPU matters more than the bytes) or not. */
  async encode(body: string): Promise<Buffer> {
    const raw = Buffer.from(body, 'utf8')
    return this.opts.gzip ? gzip(raw, {level: 1}) : raw
  }

  /** One attempt; resolves on 2xx, throws {@link HttpStatusError} or a NetworkError otherwise. */
  async write(body: Buffer, precision: keyof typeof V1_PRECISION): Promise<void> {
    const res = await this.http.request({
      method: 'POST',
      path: '/write',
      query: {db: this.opts.database, rp: this.opts.retentionPolicy, precision: V1_PRECISION[precision]},
      body,
      headers: {'Content-Type': 'text/plain; charset=utf-8', ...(this.opts.gzip ? {'Content-Encoding': 'gzip'} : {})},
    })
    if (res.status < 200 || res.status > 299) throw new HttpStatusError(this.http.base.origin + this.http.urlFor('/write').pathname, res.status, res.headers, res.body)
  }
}
