/**
 * inputs.tail: follows log files (paths or globs), parses each new line with a named-capture
 * regex (RE2) or a built-in format (combined access log, syslog RFC 3164, JSON lines), and turns
 * matching lines into points, and lines matching an `events:` regex into event points.
 *
 * Following: every run reads what each file gained since the last one. A rename rotation (the
 * path names a new inode) reads the old file to its end (through the descriptor kept open, or,
 * after a restart, the file with that inode in the same directory), then the new one from its
 * start; a copytruncate (the file got shorter than the position) starts over at 0. A partial last
 * line (no newline yet) waits for its newline.
 *
 * State: the inode, device and position per path, in <data_dir>/state/tail/<input>.json, written
 * atomically (write + rename) once the points of the lines read are in the spool (the agent calls
 * `spooled()` in collect order). A SIGKILL before that re-reads those lines on restart: lines
 * whose timestamp comes from the line give the same points again, which the store keeps once.
 *
 * A file that is missing or unreadable is counted (mon_internal,component=tail), reported as the
 * input's error, and looked for again at the next run; never fatal.
 */
import {closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync, writeFileSync, type Stats} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {z} from 'zod'
import {bool, int, interval, regex, section, stringList, tagsSchema, text} from '../config/common.js'
import {errorMessage} from '../errors.js'
import {eventPoint} from '../model/events.js'
import type {FieldValue, Point, Tags} from '../model/point.js'
import {re2, type RE2JS} from '../re2.js'
import {PartialCollectError} from './partial.js'
import {decorate, defineCollector, pullInputFields, type Collector, type CollectorContext, type Scheduled} from './types.js'

// ---------------------------------------------------------------------------------------------
// built-in formats

/** Telegraf's COMBINED_LOG_FORMAT (nginx and apache `combined`), with mon's capture names. */
const COMBINED =
  '^(?P<client>\\S+) (?P<ident>\\S+) (?P<user>\\S+) \\[(?P<ts>[^\\]]+)\\] "(?P<method>[A-Z]+) (?P<path>[^ "]*)(?: (?P<protocol>[^"]*))?" (?P<status>\\d{3}) (?P<bytes>\\d+|-)(?: "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)")?'
/** RFC 3164: `<pri>Mmm dd hh:mm:ss host program[pid]: message` (the priority is optional). */
const SYSLOG = '^(?:<(?P<pri>\\d{1,3})>)?(?P<ts>[A-Z][a-z]{2} [ \\d]\\d \\d{2}:\\d{2}:\\d{2}) (?P<hostname>\\S+) (?P<program>[^:\\[\\s]+)(?:\\[(?P<pid>\\d+)\\])?: ?(?P<message>.*)$'

const FORMATS = {
  combined: {pattern: COMBINED, tags: ['method', 'status'], fields: {bytes: 'int'}, time: {field: 'ts', format: 'clf'}},
  syslog: {pattern: SYSLOG, tags: ['hostname', 'program'], fields: {}, time: {field: 'ts', format: 'syslog'}},
} as const

export const TAIL_FORMATS = ['combined', 'nginx', 'apache', 'syslog', 'json'] as const
const TIME_FORMATS = ['rfc3339', 'unix', 'unix_ms', 'clf', 'syslog'] as const
const FIELD_TYPES = ['int', 'float', 'string', 'bool'] as const

// ---------------------------------------------------------------------------------------------
// config

export const tailInputSchema = section({
  ...pullInputFields,
  /** paths or globs (`*`, `?`, `[…]` in any segment) */
  files: z.array(text('a path or a glob', '/var/log/nginx/access.log')).min(1),
  from_beginning: bool().default(false),
  pattern: regex().optional(),
  format: z.enum(TAIL_FORMATS).optional(),
  measurement: text('a measurement name', 'nginx').default('tail'),
  /** a list: captures that become tags; a map: tags added to every point (as in other inputs) */
  tags: z.union([stringList, tagsSchema]).optional(),
  fields: z.record(z.string(), z.enum(FIELD_TYPES)).optional(),
  time: section({field: z.string(), format: z.enum(TIME_FORMATS).default('rfc3339')}).optional(),
  events: z.array(section({match: regex(), title: z.string(), text: z.string().optional(), tags: z.array(z.string()).optional()})).optional(),
  static_tags: tagsSchema.optional(),
  interval: interval().default('1s'),
  /** most bytes read per file and run; the rest is read by the next runs */
  max_read: int({min: 4096}).default(16 << 20),
}).superRefine((v, ctx) => {
  if (v.pattern !== undefined && v.format !== undefined) ctx.addIssue({code: 'custom', path: ['format'], message: `give 'pattern' or 'format', not both`})
  if (v.pattern === undefined && v.format === undefined && !v.events?.length) ctx.addIssue({code: 'custom', message: `needs 'pattern', 'format' or 'events' (what to make of each line)`})
})

export type TailInputConfig = Scheduled<z.output<typeof tailInputSchema>>

// ---------------------------------------------------------------------------------------------
// parsing

type Captures = Record<string, string>
type FieldType = (typeof FIELD_TYPES)[number]
type TimeFormat = (typeof TIME_FORMATS)[number]

interface Parser {
  /** the captures of a matching line, or undefined */
  match(line: string): Captures | undefined
  /** json: numbers become fields unless typed otherwise */
  json: boolean
}

function regexParser(pattern: string): Parser {
  const re = re2().compile(pattern)
  const names = Object.entries(re.namedGroups())
  return {
    json: false,
    match(line) {
      const m = re.matcher(line)
      if (!m.find()) return undefined
      const out: Captures = {}
      for (const [name, i] of names) {
        const g = m.group(i)
        if (g !== null && g !== undefined) out[name] = g
      }
      return out
    },
  }
}

const jsonParser: Parser = {
  json: true,
  match(line) {
    let v: unknown
    try {
      v = JSON.parse(line)
    } catch {
      return undefined
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
    const out: Captures = {}
    const flatten = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, x] of Object.entries(o)) {
        const key = prefix + k
        if (typeof x === 'object' && x !== null && !Array.isArray(x)) flatten(x as Record<string, unknown>, key + '_')
        else if (typeof x === 'number') out[key] = '\u0000' + String(x) // marks a JSON number
        else if (typeof x === 'string') out[key] = x
        else if (typeof x === 'boolean') out[key] = String(x)
      }
    }
    flatten(v as Record<string, unknown>, '')
    return out
  },
}

const MONTHS: Record<string, number> = {Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11}

/** Milliseconds since the epoch, or undefined when `s` is not in `format`. */
export function parseTime(s: string, format: TimeFormat, now: number): number | undefined {
  switch (format) {
    case 'unix':
    case 'unix_ms': {
      const n = Number(s)
      if (s.trim() === '' || !Number.isFinite(n)) return undefined
      return Math.round(format === 'unix' ? n * 1000 : n)
    }
    case 'rfc3339': {
      if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(s)) return undefined
      const t = Date.parse(s)
      return Number.isNaN(t) ? undefined : t
    }
    case 'clf': {
      // 10/Oct/2000:13:55:36 -0700
      const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))? ([+-])(\d{2})(\d{2})$/.exec(s)
      if (!m || MONTHS[m[2]!] === undefined) return undefined
      const utc = Date.UTC(+m[3]!, MONTHS[m[2]!]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? +m[7].padEnd(3, '0') : 0)
      const offset = (m[8] === '-' ? -1 : 1) * (+m[9]! * 60 + +m[10]!) * 60_000
      return utc - offset
    }
    case 'syslog': {
      // no year, no zone: this year (last year if that is more than a day ahead), local time
      const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})$/.exec(s)
      if (!m || MONTHS[m[1]!] === undefined) return undefined
      const year = new Date(now).getFullYear()
      let t = new Date(year, MONTHS[m[1]!]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!).getTime()
      if (t > now + 86_400_000) t = new Date(year - 1, MONTHS[m[1]!]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!).getTime()
      return t
    }
  }
}

function fieldValue(raw: string, type: FieldType): FieldValue | undefined {
  switch (type) {
    case 'int':
      return /^[+-]?\d+$/.test(raw) ? BigInt(raw) : /^[+-]?\d+\.\d*$/.test(raw) ? BigInt(raw.slice(0, raw.indexOf('.'))) : undefined
    case 'float': {
      const n = Number(raw)
      return raw.trim() === '' || !Number.isFinite(n) ? undefined : n
    }
    case 'bool':
      return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : undefined
    case 'string':
      return raw
  }
}

/** `{{name}}` replaced by the capture of that name (empty when there is none). */
export function renderTitle(template: string, captures: Captures): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => (captures[name] ?? '').replace(/^\u0000/, ''))
}

/** What one input makes of a line: at most one point, and events. */
export interface LineRules {
  parser?: Parser
  measurement: string
  tagNames: string[]
  fields: Record<string, FieldType>
  time?: {field: string; format: TimeFormat}
  events: Array<{re: RE2JS; names: Array<[string, number]>; title: string; text?: string; tags: string[]}>
}

export function lineRules(cfg: Pick<TailInputConfig, 'pattern' | 'format' | 'measurement' | 'tags' | 'fields' | 'time' | 'events'>): LineRules {
  const builtIn = cfg.format === 'nginx' || cfg.format === 'apache' || cfg.format === 'combined' ? FORMATS.combined : cfg.format === 'syslog' ? FORMATS.syslog : undefined
  const tagList = Array.isArray(cfg.tags) ? cfg.tags : undefined
  const parser = cfg.pattern !== undefined ? regexParser(cfg.pattern) : builtIn ? regexParser(builtIn.pattern) : cfg.format === 'json' ? jsonParser : undefined
  return {
    parser,
    measurement: cfg.measurement,
    tagNames: tagList ?? (builtIn ? [...builtIn.tags] : []),
    fields: cfg.fields ?? (builtIn ? {...builtIn.fields} : {}),
    time: cfg.time ?? (builtIn && !cfg.pattern ? {...builtIn.time} : undefined),
    events: (cfg.events ?? []).map((e) => {
      const re = re2().compile(e.match)
      return {re, names: Object.entries(re.namedGroups()), title: e.title, text: e.text, tags: e.tags ?? []}
    }),
  }
}

export interface LineResult {
  /** the line matched the pattern (a point, unless its time did not parse) */
  matched: boolean
  point?: Point
  events: Point[]
  badTime?: boolean
}

/** One line → its point (when the parser matches) and events. `ts` is the time when the line has none. */
export function parseLine(rules: LineRules, line: string, file: string, ts: number): LineResult {
  const out: LineResult = {matched: false, events: []}
  let caps: Captures | undefined
  if (rules.parser) {
    caps = rules.parser.match(line)
    if (caps) {
      out.matched = true
      let time = ts
      if (rules.time) {
        const raw = caps[rules.time.field]
        const t = raw === undefined ? undefined : parseTime(raw.replace(/^\u0000/, ''), rules.time.format, ts)
        if (t === undefined) {
          out.badTime = true
          caps = undefined
        } else time = t
      }
      if (caps) {
        const tags: Tags = {file}
        for (const name of rules.tagNames) {
          const v = caps[name]
          if (v !== undefined && v !== '') tags[name] = v.replace(/^\u0000/, '')
        }
        const fields: Record<string, FieldValue> = {}
        for (const [name, type] of Object.entries(rules.fields)) {
          const raw = caps[name]
          if (raw === undefined) continue
          const v = fieldValue(raw.replace(/^\u0000/, ''), type)
          if (v !== undefined) fields[name] = v
        }
        if (rules.parser.json) {
          for (const [name, raw] of Object.entries(caps)) {
            if (raw.startsWith('\u0000') && !(name in rules.fields) && !rules.tagNames.includes(name) && name !== rules.time?.field) fields[name] = Number(raw.slice(1))
          }
        }
        if (Object.keys(fields).length === 0) fields.count = 1n
        out.point = {measurement: rules.measurement, tags, fields, ts: time}
      }
    }
  }
  for (const e of rules.events) {
    const m = e.re.matcher(line)
    if (!m.find()) continue
    const all: Captures = {...caps}
    for (const [name, i] of e.names) {
      const g = m.group(i)
      if (g !== null && g !== undefined) all[name] = g
    }
    const tags: Tags = {file}
    for (const name of e.tags) {
      const v = all[name]
      if (v !== undefined && v !== '') tags[name] = v.replace(/^\u0000/, '')
    }
    out.events.push(eventPoint({title: renderTitle(e.title, all), text: e.text !== undefined ? renderTitle(e.text, all) : undefined, tags, source: 'tail', ts: out.point?.ts ?? ts}))
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// globs

const GLOB_CHARS = /[*?[]/

function globSegment(seg: string): RegExp {
  let re = '^'
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2)
      if (end < 0) re += '\\['
      else {
        let body = seg.slice(i + 1, end)
        if (body.startsWith('!')) body = '^' + body.slice(1)
        re += '[' + body.replace(/\\/g, '\\\\') + ']'
        i = end
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(re + '$')
}

/** The files a path or glob names now (sorted); a plain path is returned as is, existing or not. */
export function expandGlob(pattern: string): string[] {
  if (!GLOB_CHARS.test(pattern)) return [pattern]
  const absolute = pattern.startsWith('/')
  const segs = pattern.split('/').filter((s) => s !== '')
  let bases = [absolute ? '/' : '.']
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!
    const last = i === segs.length - 1
    const next: string[] = []
    for (const base of bases) {
      if (!GLOB_CHARS.test(seg)) {
        next.push(join(base, seg))
        continue
      }
      const re = globSegment(seg)
      let names: string[]
      try {
        names = readdirSync(base)
      } catch {
        continue
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !seg.startsWith('.')) continue
        if (!re.test(name)) continue
        const p = join(base, name)
        if (last) next.push(p)
        else {
          try {
            if (statSync(p).isDirectory()) next.push(p)
          } catch {
            // gone meanwhile
          }
        }
      }
    }
    bases = next
  }
  return last(bases)
  function last(list: string[]): string[] {
    const out: string[] = []
    for (const p of list) {
      try {
        if (statSync(p).isFile()) out.push(p)
      } catch {
        // gone meanwhile
      }
    }
    return out
  }
}

// ---------------------------------------------------------------------------------------------
// following

/** Where one path was read up to: its file's identity and the byte after the last whole line. */
export interface FilePosition {
  dev: number
  ino: number
  offset: number
  /** the last point's time and how many lines before it had that same time (kept unique per file) */
  lastTs?: number
  seq?: number
  /** the path was found missing (ENOENT): a file there later is a new one, even with the same inode number */
  gone?: boolean
}

interface TailState {
  files: Record<string, FilePosition>
}

interface FileCounters {
  lines: number
  matched: number
  unmatched: number
  events: number
  badTime: number
  bytes: number
  missing: number
  unreadable: number
  rotations: number
  truncations: number
}

const newCounters = (): FileCounters => ({lines: 0, matched: 0, unmatched: 0, events: 0, badTime: 0, bytes: 0, missing: 0, unreadable: 0, rotations: 0, truncations: 0})

export function tailStatePath(stateDir: string, input: string): string {
  return join(stateDir, 'tail', input.replace(/[^A-Za-z0-9_.-]/g, '_') + '.json')
}

function loadState(file: string): TailState {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as TailState
    if (v && typeof v.files === 'object' && v.files !== null) return v
  } catch {
    // none yet (or unreadable: start as configured)
  }
  return {files: {}}
}

function saveState(file: string, state: TailState): void {
  mkdirSync(dirname(file), {recursive: true})
  const tmp = file + '.tmp'
  writeFileSync(tmp, JSON.stringify(state) + '\n')
  renameSync(tmp, file)
}

const clone = (s: TailState): TailState => ({files: Object.fromEntries(Object.entries(s.files).map(([k, v]) => [k, {...v}]))})

/** What one input has read and committed, shared by the collectors a config reload makes for it. */
interface Follower {
  committed: TailState
  positions: TailState
  /** open descriptors, per path, of the file being followed (a renamed file stays readable through it) */
  open: Map<string, {fd: number; dev: number; ino: number}>
  counters: Map<string, FileCounters>
  /** the state after each collect() whose points are not yet known to be spooled, in collect order */
  pending: Array<{gen: number; state: TailState}>
  gen: number
  /** points of a run were lost: read again from the committed state */
  rewind: boolean
  firstScan: boolean
  /** paths missing at the last run (counted once per disappearance) */
  missingNow: Set<string>
}

const followers = new Map<string, Follower>()

function newFollower(committed: TailState): Follower {
  return {committed, positions: clone(committed), open: new Map(), counters: new Map(), pending: [], gen: 0, rewind: false, firstScan: true, missingNow: new Set()}
}

/** The Collector the agent calls `spooled(ok)` on, once per collect() and in collect order. */
export interface TailCollector extends Collector {
  spooled(ok: boolean): void
  /** per-file counters since start */
  counters(): Record<string, FileCounters>
}

export function createTailCollector(cfg: TailInputConfig, ctx: CollectorContext, name: string): TailCollector {
  const rules = lineRules(cfg)
  const staticTags = {...(Array.isArray(cfg.tags) ? {} : cfg.tags), ...cfg.static_tags}
  const statePath = tailStatePath(ctx.stateDir, name)
  // what is read and committed outlives a config reload: the new collector of the same input goes on from it
  let f = followers.get(statePath)
  if (!f) followers.set(statePath, (f = newFollower(loadState(statePath))))
  const sh = f
  const {open, counters, pending, missingNow} = sh
  const countersOf = (p: string): FileCounters => {
    let c = counters.get(p)
    if (!c) counters.set(p, (c = newCounters()))
    return c
  }

  const closeFd = (path: string) => {
    const o = open.get(path)
    if (!o) return
    try {
      closeSync(o.fd)
    } catch {
      // already gone
    }
    open.delete(path)
  }

  /** Reads whole lines from `fd` at `pos.offset` (a partial last one waits unless `final`), advancing the offset. */
  const readLines = (fd: number, pos: FilePosition, size: number, final: boolean, lines: string[], c: FileCounters): void => {
    // a rotated file is read to its end at once (the path goes on with the new file); the followed one max_read per run
    let remaining = final ? size - pos.offset : Math.min(size - pos.offset, cfg.max_read)
    if (remaining <= 0) return
    const buf = Buffer.allocUnsafe(Math.min(remaining, 1 << 20))
    let carry: Buffer | undefined
    let at = pos.offset
    while (remaining > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, remaining), at)
      if (n <= 0) break
      at += n
      remaining -= n
      c.bytes += n
      let chunk = carry ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n)
      let start = 0
      for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
        let end = nl
        if (end > start && chunk[end - 1] === 13) end-- // CRLF
        lines.push(chunk.toString('utf8', start, end))
        start = nl + 1
      }
      carry = start < chunk.length ? Buffer.from(chunk.subarray(start)) : undefined
      pos.offset = at - (carry?.length ?? 0)
      chunk = Buffer.alloc(0)
    }
    if (final && carry && carry.length > 0 && remaining <= 0 && at >= size) {
      lines.push(carry.toString('utf8'))
      pos.offset = at
    }
  }

  /** The file in `path`'s directory with this inode (a file renamed by rotation), if any. */
  const findRenamed = (path: string, dev: number, ino: number): string | undefined => {
    let names: string[]
    try {
      names = readdirSync(dirname(path))
    } catch {
      return undefined
    }
    const self = basename(path)
    for (const n of names) {
      if (n === self) continue
      try {
        const s = statSync(join(dirname(path), n))
        if (s.ino === ino && s.dev === dev && s.isFile()) return join(dirname(path), n)
      } catch {
        // gone meanwhile
      }
    }
    return undefined
  }

  /** Reads a rotated file (old inode) from the position to its end. */
  const drainOld = (path: string, pos: FilePosition, lines: string[], c: FileCounters, errors: string[]) => {
    const o = open.get(path)
    let fd: number | undefined
    let owned = false
    if (o && o.ino === pos.ino && o.dev === pos.dev) fd = o.fd
    else {
      const renamed = findRenamed(path, pos.dev, pos.ino)
      if (renamed) {
        try {
          fd = openSync(renamed, 'r')
          owned = true
        } catch (err) {
          errors.push(`${path}: rotated file ${renamed} unreadable: ${errorMessage(err)}`)
        }
      }
    }
    if (fd !== undefined) {
      try {
        readLines(fd, pos, fstatSync(fd).size, true, lines, c)
      } catch (err) {
        errors.push(`${path}: reading the rotated file: ${errorMessage(err)}`)
      }
      if (owned) closeSync(fd)
    }
    closeFd(path)
  }

  const follow = (path: string, lines: Array<{path: string; lines: string[]}>, errors: string[]) => {
    const c = countersOf(path)
    const out: string[] = []
    lines.push({path, lines: out})
    let pos = sh.positions.files[path]
    let st: Stats
    try {
      st = statSync(path)
    } catch (err) {
      // gone (or its directory unreadable): what the kept descriptor still has is read, then wait for it to come back
      if (pos && open.has(path)) drainOld(path, pos, out, c, errors)
      if (pos && (err as NodeJS.ErrnoException).code === 'ENOENT') pos.gone = true
      if (!missingNow.has(path)) {
        missingNow.add(path)
        c.missing++
      }
      errors.push(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : errorMessage(err)} (looked for again at the next run)`)
      return
    }
    missingNow.delete(path)
    if (pos?.gone) {
      // removed, then created again: a new file (its inode number may be the old one's)
      closeFd(path)
      c.rotations++
      pos = sh.positions.files[path] = {dev: st.dev, ino: st.ino, offset: 0, lastTs: pos.lastTs, seq: pos.seq}
    }
    if (!pos) {
      const start = cfg.from_beginning || !sh.firstScan ? 0 : st.size
      pos = sh.positions.files[path] = {dev: st.dev, ino: st.ino, offset: start}
    } else if (pos.ino !== st.ino || pos.dev !== st.dev) {
      drainOld(path, pos, out, c, errors)
      c.rotations++
      pos = sh.positions.files[path] = {dev: st.dev, ino: st.ino, offset: 0, lastTs: pos.lastTs, seq: pos.seq}
    } else if (st.size < pos.offset) {
      c.truncations++
      pos.offset = 0
    }
    let o = open.get(path)
    if (o && (o.ino !== st.ino || o.dev !== st.dev)) {
      closeFd(path)
      o = undefined
    }
    if (!o) {
      try {
        const fd = openSync(path, 'r')
        const fs = fstatSync(fd)
        if (fs.ino !== pos.ino || fs.dev !== pos.dev) {
          // replaced between stat and open: the next run sees the rotation
          closeSync(fd)
          return
        }
        open.set(path, (o = {fd, dev: fs.dev, ino: fs.ino}))
      } catch (err) {
        c.unreadable++
        errors.push(`${path}: unreadable: ${errorMessage(err)} (tried again at the next run)`)
        return
      }
    }
    try {
      readLines(o.fd, pos, fstatSync(o.fd).size, false, out, c)
    } catch (err) {
      c.unreadable++
      closeFd(path)
      errors.push(`${path}: ${errorMessage(err)} (tried again at the next run)`)
    }
  }

  return {
    name,
    async collect(signal) {
      if (sh.rewind) {
        // points of earlier runs never reached the spool: read those lines again
        sh.rewind = false
        sh.gen++
        sh.positions = clone(sh.committed)
        for (const p of [...open.keys()]) closeFd(p)
      }
      const errors: string[] = []
      const read: Array<{path: string; lines: string[]}> = []
      const paths = new Set<string>()
      for (const f of cfg.files) for (const p of expandGlob(f)) paths.add(p)
      // a path that a glob no longer matches but whose descriptor is open: rotated away, read to its end
      for (const p of [...open.keys()]) {
        if (paths.has(p)) continue
        const pos = sh.positions.files[p]
        const out: string[] = []
        if (pos) drainOld(p, pos, out, countersOf(p), errors)
        else closeFd(p)
        read.push({path: p, lines: out})
      }
      for (const p of paths) {
        if (signal.aborted) break
        follow(p, read, errors)
      }
      sh.firstScan = false
      const now = ctx.clock.now()
      const points: Point[] = []
      for (const {path, lines} of read) {
        if (lines.length === 0) continue
        const c = countersOf(path)
        const pos = sh.positions.files[path]
        for (const line of lines) {
          c.lines++
          const r = parseLine(rules, line, path, now)
          if (r.badTime) c.badTime++
          if (r.point) {
            c.matched++
            // points of one file keep distinct times (the store keeps one point per series and time)
            if (pos) {
              if (pos.lastTs !== undefined && r.point.ts === pos.lastTs) pos.seq = (pos.seq ?? 0) + 1
              else {
                pos.lastTs = r.point.ts
                pos.seq = 0
              }
              r.point.ts += pos.seq ?? 0
            }
            points.push(r.point)
          } else if (rules.parser) c.unmatched++
          for (const e of r.events) {
            e.ts = r.point?.ts ?? e.ts
            c.events++
            points.push(e)
          }
        }
      }
      decorate(points, ctx, staticTags)
      for (const [path, c] of counters) {
        points.push({
          measurement: 'mon_internal',
          tags: {component: 'tail', input: name, file: path},
          fields: {
            lines_read: BigInt(c.lines),
            matched: BigInt(c.matched),
            unmatched: BigInt(c.unmatched),
            events: BigInt(c.events),
            bad_time: BigInt(c.badTime),
            bytes_read: BigInt(c.bytes),
            missing: BigInt(c.missing),
            unreadable: BigInt(c.unreadable),
            rotations: BigInt(c.rotations),
            truncations: BigInt(c.truncations),
          },
          ts: now,
        })
      }
      decorate(points.slice(points.length - counters.size), ctx)
      // positions of files no path or glob names any more (rotated away and read to their end)
      for (const p of Object.keys(sh.positions.files)) if (!paths.has(p) && !open.has(p)) delete sh.positions.files[p]
      pending.push({gen: sh.gen, state: clone(sh.positions)})
      if (errors.length > 0) throw new PartialCollectError(points, errors)
      return points
    },
    spooled(ok) {
      const p = pending.shift()
      if (!p || p.gen !== sh.gen) return
      if (!ok) {
        sh.rewind = true
        return
      }
      sh.committed = p.state
      try {
        saveState(statePath, sh.committed)
      } catch (err) {
        ctx.log.warn('cannot save the tail position', {input: name, file: statePath, error: errorMessage(err)})
      }
    },
    counters() {
      return Object.fromEntries(counters)
    },
  }
}

export const tailInput = defineCollector({
  kind: 'tail',
  multiple: true,
  schema: tailInputSchema,
  sample: `# Log files followed line by line (rotation by rename or copytruncate; the position survives restarts).
~tail:
~  - name: nginx
~    # Paths or globs.
~    files: [/var/log/nginx/access.log]
~    # Read files that exist at start from their beginning (default: only new lines).
~    from_beginning: false
~    # A built-in format (combined, nginx, apache, syslog, json) or a named-capture regex (RE2):
~    format: combined
~    # pattern: '^(?P<ts>\\S+) (?P<level>\\w+) took (?P<ms>\\d+)ms'
~    # Measurement of the points (one per matching line).
~    measurement: nginx_access
~    # Captures that become tags, and captures that become fields (int, float, string, bool).
~    tags: [method, status]
~    fields: {bytes: int}
~    # Where the time is (default: when the line is read).
~    # time: {field: ts, format: clf}
~    # Matching lines as events (measurement events, source=tail, file tag).
~    events:
~      - match: '" 5\\d\\d '
~        title: '{{status}} on {{path}}'
~    # How often files are checked for new lines.
~    interval: 1s`,
  create: createTailCollector,
})

