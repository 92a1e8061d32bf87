import type {Point} from '../../model/point.js'
import {describeFailure, isMissingDatabase, missingDatabase} from './errors.js'
import {HttpStatusError} from './http.js'
import type {InfluxConnection} from './connection.js'
import {analyzeRejection, InfluxWriteRejected, linesOf, makeBatch, PointBatches, sendBatches, textBatches, wholeBody, type Batch, type WritePrecision} from './write.js'

/** The write path of an InfluxStore: points and line protocol in batches over 1.x /write or the 2.x client, retried. */
export class InfluxWrites {
  constructor(private readonly conn: InfluxConnection) {}

  /**
   * Writes points in batches (serialized while earlier batches are on the wire). Points line
   * protocol cannot carry, and points InfluxDB refuses (400), are reported together in one
   * {@link InfluxWriteRejected} after the others are written.
   */
  async write(points: Point[]): Promise<void> {
    if (points.length === 0) return
    const {api} = await this.conn.ready()
    // 1.x sends bytes (written line by line); 2.x's client takes a string
    const batches = new PointBatches(points, this.conn.cfg.precision, this.conn.limits, {bytes: api === 1})
    await sendBatches(batches, this.conn.cfg.concurrency, (b) => (api === 2 ? this.writeV2(b) : this.writeV1(b)), {url: this.conn.url, extra: () => batches.rejection()})
  }

  /**
   * Line protocol as it is (the pipeline hands its spooled text over without parsing it): split
   * into entries and batches, sent with the given precision. Same retries and errors as write().
   * Bytes (a Buffer, as the spool holds them) are sent without decoding or copying; bytes in parts
   * (request bodies as they arrived) whose count of entries is given (`opts.entries`, the spool's
   * count of points) and that fit one request go as one request of those parts, not walked or joined.
   */
  async writeLineProtocol(text: string | Buffer | readonly Buffer[], precision: WritePrecision = 'ns', opts: {entries?: number} = {}): Promise<void> {
    if (text.length === 0) return
    const batches = textBatches(text, precision, this.conn.limits, opts.entries)
    const {api} = await this.conn.ready()
    await sendBatches(batches, this.conn.cfg.concurrency, (b) => (api === 2 ? this.writeV2(b) : this.writeV1(b)), {url: this.conn.url})
  }

  private async writeV1(batch: Batch): Promise<void> {
    const v1 = this.conn.v1!
    const body = await v1.encode(batch.body)
    try {
      await this.conn.retrying('write', this.conn.writeRetry, () => v1.write(body, batch.precision))
    } catch (error) {
      await this.writeFailed(error, batch, '/write', (b) => this.writeV1(b))
    }
  }

  private async writeV2(batch: Batch, bucket?: string): Promise<void> {
    try {
      const body = wholeBody(batch.body).toString()
      await this.conn.retrying('write', this.conn.writeRetry, () => this.conn.v2!.write(body, batch.precision, bucket))
    } catch (error) {
      await this.writeFailed(error, batch, '/api/v2/write', (b) => this.writeV2(b, bucket))
    }
  }

  /** 2.x: points into another bucket of the org (the rollup buckets), batched and retried as write(). */
  async writeToBucket(points: Point[], bucket: string): Promise<void> {
    if (points.length === 0) return
    const batches = new PointBatches(points, this.conn.cfg.precision, this.conn.limits)
    await sendBatches(batches, this.conn.cfg.concurrency, (b) => this.writeV2(b, bucket), {url: this.conn.url, extra: () => batches.rejection()})
  }

  /** 400 → the rejected lines; 413 → the batch in halves; anything else → one clear message. */
  private async writeFailed(error: unknown, batch: Batch, endpoint: string, again: (b: Batch) => Promise<void>): Promise<void> {
    if (error instanceof HttpStatusError && error.status === 400) {
      throw new InfluxWriteRejected(this.conn.url, [analyzeRejection(error.serverMessage, batch, lineOf(error.body))], batch.count)
    }

    const lines = error instanceof HttpStatusError && error.status === 413 ? linesOf(batch) : []
    if (lines.length > 1) {
      const half = Math.ceil(lines.length / 2)
      const part = (from: number, to?: number): Batch => makeBatch(lines.slice(from, to), batch.precision, batch.points?.slice(from, to))

      await sendBatches([part(0, half), part(half)], 1, again)
      return
    }

    if (error instanceof HttpStatusError && error.status === 404 && isMissingDatabase(error.serverMessage)) {
      throw missingDatabase(this.conn.context(), error.serverMessage, error)
    }

    throw describeFailure(error, this.conn.context(), 'write', endpoint)
  }
}

/** 2.x reports the failing line of a batch as `"line": N`. */
function lineOf(body: string): number | undefined {
  try {
    const json = JSON.parse(body) as {line?: unknown}
    return typeof json.line === 'number' ? json.line : undefined
  } catch {
    return undefined
  }
}
