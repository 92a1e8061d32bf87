import {closeSync, openSync, readSync} from 'node:fs'
import {isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node} from 'yaml'
import {formatSize} from './duration.js'
import {expandPath} from './paths.js'
import {formatPath, type ConfigProblem, type PositionFinder} from './problems.js'

/**
 * `${NAME}`, `${NAME:-default}` and `${file:/path}` in string values, `$${` for a literal `${`.
 * Runs on the YAML document before validation (so `port: ${PORT}` validates as a number) while
 * errors still point at the node the user wrote.
 */

export interface InterpolationOptions {
  env: NodeJS.ProcessEnv
  /** Relative `${file:…}` paths resolve against this (the config file's directory). */
  baseDir: string
}

/** A problem inside one string: `offset` is where the `${` starts in the (unescaped) value. */
export class InterpolationProblem extends Error {
  constructor(
    message: string,
    readonly token: string,
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'InterpolationProblem'
  }
}

export interface InterpolatedString {
  value: string
  /** The substituted values (env values, file contents): all secrets. */
  substituted: string[]
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * The most a `${file:…}` may hold. Secrets are tokens, passwords and keys; without a cap a path such
 * as /dev/zero or a log file is read until memory runs out (the process aborted with exit 134).
 */
export const MAX_SECRET_FILE_BYTES = 64 * 1024

/** Reads at most {@link MAX_SECRET_FILE_BYTES} (+1, to tell "too large"); stat sizes lie for devices and /proc. */
function readCapped(resolved: string, token: string): string {
  const fd = openSync(resolved, 'r')
  try {
    const buf = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1)
    let length = 0
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null)
      if (n === 0) break
      length += n
    }
    if (length > MAX_SECRET_FILE_BYTES) {
      throw new InterpolationProblem(`secret file ${resolved} is larger than ${formatSize(MAX_SECRET_FILE_BYTES)}`, token, 'point ${file:…} at a file holding only the secret (a token, a password, a key)')
    }
    return buf.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}

function readSecretFile(file: string, token: string, opts: InterpolationOptions): string {
  const resolved = expandPath(file, opts.baseDir, opts.env)
  let content: string
  try {
    content = readCapped(resolved, token)
  } catch (err) {
    if (err instanceof InterpolationProblem) throw err
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : ((err as Error).message ?? String(err))
    throw new InterpolationProblem(`cannot read secret file ${resolved}: ${reason}`, token, 'the file must exist and be readable by the user running mon')
  }
  return content.replace(/\r?\n$/, '')
}

/** Interpolate one string. Throws {@link InterpolationProblem} for the first bad reference. */
export function interpolateString(input: string, opts: InterpolationOptions): InterpolatedString {
  let out = ''
  const substituted: string[] = []
  let i = 0
  while (i < input.length) {
    const dollar = input.indexOf('$', i)
    if (dollar === -1) {
      out += input.slice(i)
      break
    }
    out += input.slice(i, dollar)
    if (input.startsWith('$${', dollar)) {
      out += '${'
      i = dollar + 3
      continue
    }
    if (!input.startsWith('${', dollar)) {
      out += '$'
      i = dollar + 1
      continue
    }
    const close = input.indexOf('}', dollar + 2)
    if (close === -1) {
      throw new InterpolationProblem(`unterminated '\${' in ${JSON.stringify(input)}`, '${', `close it with '}', or write '$\${' for a literal '\${'`)
    }
    const token = input.slice(dollar, close + 1)
    const inner = input.slice(dollar + 2, close)
    let value: string
    if (inner.startsWith('file:')) {
      const file = inner.slice('file:'.length).trim()
      if (file === '') throw new InterpolationProblem(`empty path in '${token}'`, token, 'write ${file:/path/to/secret}')
      value = readSecretFile(file, token, opts)
    } else {
      const sep = inner.indexOf(':-')
      const name = sep === -1 ? inner : inner.slice(0, sep)
      if (!NAME.test(name)) {
        throw new InterpolationProblem(`invalid variable name ${JSON.stringify(name)} in '${token}'`, token, `names are letters, digits and _; write '$\${' for a literal '\${'`)
      }
      const fromEnv = opts.env[name]
      if (sep !== -1) value = fromEnv === undefined || fromEnv === '' ? inner.slice(sep + 2) : fromEnv
      else if (fromEnv === undefined) {
        throw new InterpolationProblem(`environment variable ${name} is not set`, token, `set it, or give a default: \${${name}:-default}`)
      } else value = fromEnv
    }
    substituted.push(value)
    out += value
    i = close + 1
  }
  return {value: out, substituted}
}

export interface DocumentInterpolation {
  /** Paths (keys and decimal indices as strings) of every value that came from interpolation. */
  secretPaths: string[][]
  /** The substituted values themselves. */
  secrets: string[]
  /** `section` is the top-level key the bad value sits under (the loader defers sections a command does not use). */
  problems: Array<ConfigProblem & {section?: string}>
}

/**
 * Interpolate every string scalar in the document, in place. Keys are left alone. Problems are
 * collected (not thrown) and point at the `${` in the source when it can be found.
 */
export function interpolateDocument(doc: Document, source: string, positions: PositionFinder, opts: InterpolationOptions): DocumentInterpolation {
  const result: DocumentInterpolation = {secretPaths: [], secrets: [], problems: []}
  const seen = new Set<Node>()

  const visit = (node: unknown, path: Array<string | number>): void => {
    if (isAlias(node) || node === null || typeof node !== 'object' || seen.has(node as Node)) return
    seen.add(node as Node)
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
        visit(pair.value, [...path, key])
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]))
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
      try {
        const {value, substituted} = interpolateString(node.value, opts)
        node.value = value
        if (substituted.length > 0) {
          result.secretPaths.push(path.map(String))
          result.secrets.push(...substituted)
        }
      } catch (err) {
        if (!(err instanceof InterpolationProblem)) throw err
        result.problems.push({position: tokenPosition(node, err.token, source, positions), message: `${path.length > 0 ? formatPath(path) + ': ' : ''}${err.message}`, hint: err.hint, section: path.length > 0 ? String(path[0]) : undefined})
      }
    }
  }

  visit(doc.contents, [])
  return result
}

/** Where `token` starts in the scalar's source text (not counting `$${` escapes); else the scalar start. */
function tokenPosition(node: Node, token: string, source: string, positions: PositionFinder) {
  const range = node.range
  if (!range) return positions.of(node)
  const raw = source.slice(range[0], range[1])
  let from = 0
  for (;;) {
    const at = raw.indexOf(token, from)
    if (at === -1) return positions.of(node)
    if (at === 0 || raw[at - 1] !== '$') return positions.at(range[0] + at)
    from = at + 1
  }
}
