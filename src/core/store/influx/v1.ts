/**
 * The InfluxDB 1.x write endpoint: `POST /write?db=&rp=&precision=` with line protocol, gzipped
 * when configured. One call is one attempt; the store retries.
 */
import {promisify} from 'node:util'
import {gzip as gzipCallback} from 'node:zlib'
import {HttpStatusError, type HttpClient} from './http.js'
import {bodyBytes, wholeBody, type Body} from './write.js'

const gzip = promisify(gzipCallback)
/** Bodies smaller than this are sent as they are (the InfluxDB 2.x client's default threshold). */
const GZIP_THRESHOLD = 1000

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

  /**
   * The request body: gzipped (level 1, on the thread pool: the CPU matters more than the last
   * bytes) when configured and worth it (not for tiny bodies, as the InfluxDB client does), or not.
   * Parts are sent as they are, or joined to be gzipped.
   */
  async encode(text: Body): Promise<{body: Body; gzipped: boolean}> {
    if (!this.opts.gzip || bodyBytes(text) < GZIP_THRESHOLD) return {body: text, gzipped: false}
    const whole = wholeBody(text)
    return {body: await gzip(typeof whole === 'string' ? Buffer.from(whole, 'utf8') : whole, {level: 1}), gzipped: true}
  }

  /** One attempt; resolves on 2xx, throws {@link HttpStatusError} or a NetworkError otherwise. */
  async write({body, gzipped}: {body: Body; gzipped: boolean}, precision: keyof typeof V1_PRECISION): Promise<void> {
    const res = await this.http.request({
      method: 'POST',
      path: '/write',
      query: {db: this.opts.database, rp: this.opts.retentionPolicy, precision: V1_PRECISION[precision]},
      body,
      headers: {'Content-Type': 'text/plain; charset=utf-8', ...(gzipped ? {'Content-Encoding': 'gzip'} : {})},
    })
    if (res.status < 200 || res.status > 299) throw new HttpStatusError(this.http.base.origin + this.http.urlFor('/write').pathname, res.status, res.headers, res.body)
  }
}
