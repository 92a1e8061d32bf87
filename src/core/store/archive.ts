import {createReadStream, createWriteStream, renameSync, rmSync, statSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {createGunzip, createGzip} from 'node:zlib'
import {once} from 'node:events'
import {InputError, UserError} from '../errors.js'
import {formatLineError, parseLineProtocol, serializePoint} from '../model/line-protocol/index.js'
import type {FullStore} from './types.js'

/**
 * Cold archive: raw points as gzip-compressed line protocol (precision ms, every field with its
 * stored type: `1i` integers, `1u` unsigned, shortest round-trip floats), which `mon store import`
 * — or `influx write` — reads back exactly.
 */
export interface ArchiveResult {
  file: string
  points: number
  series: number
  bytes: number
  start: string | null
  end: string
}

export async function archiveToFile(store: FullStore, opts: {start?: number; end: number; file: string; progress?: (points: number) => void}): Promise<ArchiveResult> {
  if (!store.scan) throw new UserError(`the ${store.kind} backend cannot export points yet`)
  if (!/\.lp\.gz$|\.lp$/.test(opts.file)) throw new InputError(`--to ${opts.file}: use a .lp.gz (compressed) or .lp file name`)
  const tmp = `${opts.file}.partial`
  const gzip = opts.file.endsWith('.gz')
  const out = createWriteStream(tmp)
  const sink = gzip ? createGzip({level: 6}) : undefined
  sink?.pipe(out)
  const target = sink ?? out
  const write = async (text: string) => {
    if (!target.write(text)) await once(target, 'drain')
  }

  let points = 0
  let series = 0
  let lastKey = ''
  try {
    await write(`# mon archive: ${store.kind} points from ${opts.start === undefined ? 'the beginning' : new Date(opts.start).toISOString()} to ${new Date(opts.end).toISOString()}, precision ms\n`)
    for await (const batch of store.scan(opts.start ?? Number.MIN_SAFE_INTEGER, opts.end)) {
      let text = ''
      for (const p of batch) {
        text += serializePoint(p, 'ms') + '\n'
        const key = p.measurement + JSON.stringify(p.tags)
        if (key !== lastKey) {
          series++
          lastKey = key
        }
      }

      await write(text)
      points += batch.length
      opts.progress?.(points)
    }

    target.end()
    await once(out, 'close')
    renameSync(tmp, opts.file)
  } catch (error) {
    out.destroy()
    rmSync(tmp, {force: true})
    throw error instanceof UserError ? error : new UserError(`archive to ${opts.file} failed: ${(error as Error).message}`, {cause: error})
  }

  return {
    file: opts.file,
    points,
    series,
    bytes: statSync(opts.file).size,
    start: opts.start === undefined ? null : new Date(opts.start).toISOString(),
    end: new Date(opts.end).toISOString(),
  }
}

export interface ImportResult {
  file: string
  points: number
  lines: number
}

/**
 * Reads line protocol (plain or gzip, detected by content) in batches. Every batch is parsed before
 * it is written; a malformed line stops the import with file:line:col (batches before it are kept,
 * and re-running the import is harmless: writes are idempotent).
 */
/** `# mon archive: … precision ms` (the first line {@link archiveToFile} writes) → `ms`. */
export function archivePrecision(text: string): 'ns' | 'us' | 'ms' | 's' | undefined {
  const first = text.slice(0, text.indexOf('\n') === -1 ? undefined : text.indexOf('\n'))
  return /^# mon archive: .*, precision (ns|us|ms|s)\s*$/.exec(first)?.[1] as 'ns' | 'us' | 'ms' | 's' | undefined
}

export async function importFile(store: FullStore, opts: {file: string; precision?: 'ns' | 'us' | 'ms' | 's'; batchLines?: number; progress?: (points: number) => void; now?: number}): Promise<ImportResult> {
  let handle
  try {
    handle = await open(opts.file)
  } catch (error) {
    throw new UserError(`cannot read ${opts.file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, {exitCode: 2})
  }

  const magic = Buffer.alloc(2)
  await handle.read(magic, 0, 2, 0)
  await handle.close()
  const gz = magic[0] === 0x1f && magic[1] === 0x8b
  // one default with `mon write` and InfluxDB (ns); our own archives say theirs in the first line
  let precision = opts.precision
  const stream = gz ? createReadStream(opts.file).pipe(createGunzip()) : createReadStream(opts.file)
  const batchLines = opts.batchLines ?? 20_000
  let pending = ''
  let pendingLines = 0
  let lineNo = 0
  let points = 0
  const flush = async (text: string, firstLine: number) => {
    precision ??= archivePrecision(text) ?? 'ns'
    const {points: parsed, errors} = parseLineProtocol(text, {precision, file: opts.file, lineOffset: firstLine - 1, now: opts.now})
    if (errors.length > 0) {
      const kept = `${points} points before line ${firstLine} were imported; fix the file and run the import again (it is idempotent)`
      const timeHint = /^time outside range/.test(errors[0]!.message) ? `timestamps are read as ${precision}${opts.precision ? '' : ' (the default)'}: if the file has another precision, give it, e.g. --precision ms; ` : ''
      throw new InputError(formatLineError(opts.file, errors[0]!), {hint: timeHint + kept})
    }

    if (parsed.length > 0) await store.write(parsed)
    points += parsed.length
    opts.progress?.(points)
  }

  let firstLine = 1
  let carry = ''
  try {
    for await (const chunk of stream) {
      const text = carry + (chunk as Buffer).toString('utf8')
      const lastNl = text.lastIndexOf('\n')
      if (lastNl === -1) {
        carry = text
        continue
      }

      carry = text.slice(lastNl + 1)
      for (const line of text.slice(0, lastNl + 1).split(/(?<=\n)/)) {
        pending += line
        pendingLines++
        lineNo++
        // cut only where a string field cannot be open (an even count of unescaped quotes)
        if (pendingLines >= batchLines && balancedQuotes(pending)) {
          await flush(pending, firstLine)
          firstLine = lineNo + 1
          pending = ''
          pendingLines = 0
        }
      }
    }
  } catch (error) {
    if (error instanceof UserError) throw error
    throw new UserError(`cannot read ${opts.file}: ${(error as Error).message}`, {hint: gz ? 'the gzip stream is damaged or truncated' : undefined, cause: error})
  }

  pending += carry
  if (pending.trim() !== '') await flush(pending, firstLine)
  return {file: opts.file, points, lines: lineNo + (carry ? 1 : 0)}
}

function balancedQuotes(text: string): boolean {
  let open = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 92 /* \ */ && open) i++
    else if (c === 34 /* " */) open = !open
  }

  return !open
}
