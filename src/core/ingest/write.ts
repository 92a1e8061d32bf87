import {readFile} from 'node:fs/promises'
import {EXIT_OK, EXIT_RUNTIME, InputError, UserError, errorMessage} from '../errors.js'
import {formatLineError, parseLineProtocol, type LineError, type Precision} from '../model/line-protocol/index.js'
import {countMergedValues, type Point} from '../model/point.js'
import {droppedByPartialWrite, type Store} from '../store/types.js'

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
  /** valid points in the input */
  points: number
  lines: number
  /** invalid lines left out (--skip-invalid) */
  skipped: number
  /** points the store holds after this write */
  written: number
  /** points of the input not written: invalid lines, and points the store refused */
  dropped: number
  /**
   * field values that share series, field and millisecond with a later one of the input: stored
   * as one (the later). Points are whole milliseconds, so finer timestamps can collide.
   */
  merged: number
  /** invalid lines (file positions) and what the store said */
  errors: Array<{line?: number; col?: number; message: string}>
  /** why not everything was written: rendered on stderr, decides the exit status (not in --json) */
  failure?: UserError
}

const SHOWN_ERRORS = 20

/**
 * `mon write`: parse all input first; unless `skipInvalid`, any malformed line rejects the whole
 * input (nothing written) with every problem as `file:line:col: why`. Data problems do not throw:
 * the summary says what was written and dropped, and `failure` why not everything was (exit
 * status {@link writeExitCode}). Unreadable or empty input throws.
 */
export async function writeLineProtocol(store: Store, req: WriteRequest): Promise<WriteSummary> {
  const name = req.source === '-' ? '<stdin>' : req.source
  const text = await readInput(req)
  const {points, errors} = parseLineProtocol(text, {precision: req.precision, file: name, now: req.now})
  const lines = points.length + errors.length
  const summary: WriteSummary = {source: name, points: points.length, lines, skipped: 0, written: 0, dropped: 0, merged: countMergedValues(points), errors: errors.map(({line, col, message}) => ({line, col, message}))}
  if (errors.length > 0 && !req.skipInvalid) return {...summary, dropped: lines, failure: invalidInput(name, errors)}
  if (points.length === 0 && errors.length === 0) throw new InputError(`${name}: no points in the input`, {hint: 'each line: measurement,tag=v field=1 [timestamp]'})
  summary.skipped = errors.length
  summary.dropped = errors.length
  if (points.length === 0) return {...summary, failure: invalidInput(name, errors, 'no valid line: nothing was written')}
  // one write when it fits; a point the store refuses (a field type conflict) ends it with a
  // partial-write error counting those points, the others are written
  const batch = Math.max(req.batchSize, points.length <= 1_000_000 ? points.length : req.batchSize)
  for (let i = 0; i < points.length; i += batch) {
    const slice = points.slice(i, i + batch) as Point[]
    try {
      await store.write(slice)
      summary.written += slice.length
    } catch (error) {
      const refused = droppedByPartialWrite(error)
      if (refused === undefined && !(error instanceof UserError)) throw error // a bug: its stack with --debug
      const message = errorMessage(error)
      summary.errors.push({message})
      if (refused !== undefined) {
        // the store kept the rest of this batch; the next batches are still worth writing
        summary.written += slice.length - refused
        summary.dropped += refused
        summary.failure ??= error as UserError
        continue
      }
      // the store refused this batch as a whole: stop here, as a store that is down would refuse the rest too
      summary.dropped += points.length - i
      summary.failure = summary.written > 0 ? partialFailure(summary, error as UserError) : (error as UserError)
      break
    }
    req.progress?.(Math.min(points.length, i + batch), points.length)
  }

  return summary
}

/**
 * The exit status of a write: 0 when every valid point was written (invalid lines skipped on
 * request included), 1 when some were written and some not (partial write), and when the store
 * failed (down, unreachable); 2 when nothing was written because the input was invalid.
 */
export function writeExitCode(s: WriteSummary): number {
  if (!s.failure) return EXIT_OK
  if (s.written > 0) return EXIT_RUNTIME
  return s.failure.exitCode
}

function partialFailure(s: WriteSummary, cause: UserError): UserError {
  return new UserError(`partial write: ${s.written} of ${s.points} points written, then the store refused the rest: ${cause.message}`, {hint: cause.hint, details: cause.details, cause})
}

function invalidInput(name: string, errors: LineError[], outcome?: string): InputError {
  const shown = errors.slice(0, SHOWN_ERRORS).map((e) => formatLineError(name, e))
  const more = errors.length > SHOWN_ERRORS ? [`… and ${errors.length - SHOWN_ERRORS} more`] : []
  return new InputError(shown[0], {
    details: [...shown.slice(1), ...more].join('\n') || undefined,
    hint: `${errors.length} invalid line${errors.length === 1 ? '' : 's'}; ${outcome ?? 'nothing was written. Fix them, or pass --skip-invalid to write the valid lines'}`,
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
