/**
 * The InfluxDB 2.x (and 3.x) specific parts: writes through @influxdata/influxdb-client's WriteApi
 * (`/api/v2/write?org=&bucket=&precision=`, `Authorization: Token`), Flux through its QueryApi
 * (`/api/v2/query`), bucket lookup/creation through the REST API. InfluxQL queries go to the
 * v1-compatible `/query` endpoint and are shared with 1.x (store.ts).
 *
 * The client's own retry is switched off (maxRetries 0): each batch is one attempt here, and the
 * store's retry loop (http.ts) retries it the same way as a 1.x write, so both APIs have one
 * retry policy, one deadline and one set of error messages.
 */
import {HttpError, InfluxDB, RequestTimedOutError, setLogger, type WritePrecisionType} from '@influxdata/influxdb-client'
import {HttpStatusError, NetworkError} from './http.js'

// The client logs every failed request to the console; failures are reported by the store instead.
setLogger({error() {}, warn() {}})

export interface V2Options {
  url: string
  token?: string
  org: string
  bucket: string
  gzip: boolean
  /** ms */
  timeout: number
  tlsVerify: boolean
}

/** A Flux table or an InfluxQL series, as returned by the raw passthrough. */
export interface RawSeries {
  name: string
  tags: Record<string, string>
  columns: string[]
  values: unknown[][]
}

export class V2Api {
  private readonly client: InfluxDB

  constructor(private readonly opts: V2Options) {
    this.client = new InfluxDB({
      url: opts.url,
      token: opts.token,
      timeout: opts.timeout,
      transportOptions: opts.tlsVerify ? {} : {rejectUnauthorized: false},
    })
  }

  /**
   * One attempt at writing one batch (newline-separated line protocol, handed to the client as one
   * record: it joins records with newlines) to the configured bucket or `bucket` (the retention
   * tiers' rollup buckets); throws {@link HttpStatusError} / {@link NetworkError}.
   */
  async write(body: string, precision: WritePrecisionType, bucket = this.opts.bucket): Promise<void> {
    const api = this.client.getWriteApi(this.opts.org, bucket, precision, {
      // one batch, sent by flush() below, never split or retried by the client
      batchSize: 2,
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      maxBufferLines: 2,
      flushInterval: 0,
      maxRetries: 0,
      gzipThreshold: this.opts.gzip ? 1000 : Number.MAX_SAFE_INTEGER,
      writeFailed: () => undefined,
      writeSuccess: () => undefined,
      writeRetrySkipped: () => undefined,
    })
    try {
      api.writeRecord(body.endsWith('\n') ? body.slice(0, -1) : body)
      await api.flush()
    } catch (error) {
      throw toTransportError(error, this.opts.url + '/api/v2/write')
    } finally {
      api.dispose()
    }
  }

  /** Runs Flux through the client's QueryApi; one {@link RawSeries} per table. */
  async flux(query: string): Promise<RawSeries[]> {
    const api = this.client.getQueryApi({org: this.opts.org, gzip: false})
    const tables = new Map<string, RawSeries>()
    try {
      for await (const {values, tableMeta} of api.iterateRows(query)) {
        const row = tableMeta.toObject(values)
        const key = `${row.result ?? ''}\u0000${row.table ?? ''}`
        let t = tables.get(key)
        if (!t) {
          const tags: Record<string, string> = {}
          for (const c of tableMeta.columns) {
            if (c.group && !HIDDEN_GROUP_COLUMNS.has(c.label)) tags[c.label] = String(row[c.label] ?? '')
          }

          const columns = tableMeta.columns.map((c) => c.label).filter((l) => !(l in tags) && !HIDDEN_COLUMNS.has(l))
          columns.sort((a, b) => (a === '_time' ? -1 : b === '_time' ? 1 : 0))
          t = {name: String(row._measurement ?? row.result ?? '_result'), tags, columns, values: []}
          tables.set(key, t)
        }

        t.values.push(t.columns.map((c) => row[c] ?? null))
      }
    } catch (error) {
      throw toTransportError(error, this.opts.url + '/api/v2/query')
    }

    return [...tables.values()]
  }
}

/** Group-key columns that describe the query rather than the series. */
const HIDDEN_GROUP_COLUMNS = new Set(['_start', '_stop', '_measurement', 'result', 'table'])
const HIDDEN_COLUMNS = new Set(['result', 'table', '_start', '_stop', '_measurement'])

/** The client's errors → the transport errors the retry loop and the messages understand. */
export function toTransportError(error: unknown, url: string): Error {
  if (error instanceof HttpError) {
    const headers: Record<string, string | string[] | undefined> = {...(error.headers ?? {})}
    const retryAfter = (error as unknown as {_retryAfter?: number})._retryAfter
    if (headers['retry-after'] === undefined && typeof retryAfter === 'number' && retryAfter > 0) headers['retry-after'] = String(retryAfter / 1000)
    return new HttpStatusError(url, error.statusCode, headers, error.body ?? error.message)
  }

  if (error instanceof RequestTimedOutError) return new NetworkError(url, 'ETIMEDOUT', 'no answer in time (request timed out)', {cause: error})
  const code = (error as NodeJS.ErrnoException)?.code
  if (code && typeof code === 'string' && /^E[A-Z_]+$/.test(code)) {
    const message = code === 'ECONNREFUSED' ? 'connection refused' : `${code}: ${(error as Error).message}`
    return new NetworkError(url, code, message, {cause: error})
  }

  return error instanceof Error ? error : new Error(String(error))
}
