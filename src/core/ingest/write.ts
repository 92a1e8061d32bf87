import {readFile} from 'node:fs/promises'
import {InputError, UserError} from '../errors.js'
import {formatLineError, parseLineProtocol, type LineError, type Precision} from '../model/line-protocol.js'
import {countMergedValues, type Point} from '../model/point.js'
import type {Store} from '../store/types.js'

export interface WriteRequest {
  /** a path, or '-' for stdin */
  source: string
  precision: Precision
  skipInvalid: boolean
  now: number
  /** points per store.write call; the embedded store writes each call atomically */
  batchSize: number
  readStdin?: () => Promise<string>
  progress?: (done: number, total: number) => void
}

export interface WriteSummary {
  source: string
  points: number
  lines: number
  skipped: number
  /**
   * field values that share series, field and millisecond with a later one of the input: stored
   * as one (the later). Points are whole milliseconds, so finer timestamps can collide.
   */
  merged: number
  errors: Array<{line: number; col: number; message: string}>
}

const SHOWN_ERRORS = 20

/**
 * `mon write`: parse all input first; unless `skipInvalid`, any malformed line rejects the whole
 * input (nothing written) with every problem as `file:line:col: why`.
 */
export async function writeLineProtocol(store: Store, req: WriteRequest): Promise<WriteSummary> {
  const name = req.source === '-' ? '<stdin>' : req.source
  const text = await readInput(req)
  const {points, errors} = parseLineProtocol(text, {precision: req.precision, file: name, now: req.now})
  const lines = points.length + errors.length
  if (errors.length > 0 && !req.skipInvalid) throw invalidInput(name, errors)
  if (points.length === 0 && errors.length === 0) throw new InputError(`${name}: no points in the input`, {hint: 'each line: measurement,tag=v field=1 [timestamp]'})
  // one write when it fits; a point the store refuses (a field type conflict) ends it with a
  // partial-write error counting those points, the others are written
  const batch = Math.max(req.batchSize, points.length <= 1_000_000 ? points.length : req.batchSize)
  for (let i = 0; i < points.length; i += batch) {
    await store.write(points.slice(i, i + batch) as Point[])
    req.progress?.(Math.min(points.length, i + batch), points.length)
  }

  return {source: name, points: points.length, lines, skipped: errors.length, merged: countMergedValues(points), errors: errors.map(({line, col, message}) => ({line, col, message}))}
}

function invalidInput(name: string, errors: LineError[]): InputError {
  const shown = errors.slice(0, SHOWN_ERRORS).map((e) => formatLineError(name, e))
  const more = errors.length > SHOWN_ERRORS ? [`… and ${errors.length - SHOWN_ERRORS} more`] : []
  return new InputError(shown[0], {
    details: [...shown.slice(1), ...more].join('\n') || undefined,
    hint: `${errors.length} invalid line${errors.length === 1 ? '' : 's'}; nothing was written. Fix them, or pass --skip-invalid to write the valid lines`,
  })
}

async function readInput(req: WriteRequest): Promise<string> {
  if (req.source === '-') {
    if (!req.readStdin) throw new InputError('no input on stdin')
    return req.readStdin()
  }

  try {
    return await readFile(req.source, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UserError(`cannot read ${req.source}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, {exitCode: 2})
  }
}
