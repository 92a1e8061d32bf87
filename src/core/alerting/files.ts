import {readdir, stat} from 'node:fs/promises'
import {isAbsolute, join, resolve, sep} from 'node:path'

/**
 * Rule file arguments and `rules.files` entries are paths or globs: `*` and `?` within a name,
 * `[abc]` classes, `**` for any depth of directories (`rules/**\/*.yaml`). Node 20 has no fs.glob,
 * so this is the small subset rule files need. Matches are sorted; a pattern that matches nothing
 * is returned in `unmatched` so the caller can say so (a plain path is kept as is and fails when
 * read, with the reason).
 */
export async function expandPaths(patterns: string[], cwd = process.cwd()): Promise<{files: string[]; unmatched: string[]}> {
  const files: string[] = []
  const unmatched: string[] = []
  for (const pattern of patterns) {
    if (!hasMagic(pattern)) {
      files.push(isAbsolute(pattern) ? pattern : resolve(cwd, pattern))
      continue
    }

    const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern)
    const parts = abs.split(sep)
    const firstMagic = parts.findIndex(hasMagic)
    const base = parts.slice(0, firstMagic).join(sep) || sep
    const found = await walk(base, parts.slice(firstMagic))
    if (found.length === 0) unmatched.push(pattern)
    files.push(...found.sort())
  }

  return {files: [...new Set(files)], unmatched}
}

export function hasMagic(p: string): boolean {
  return /[*?[]/.test(p)
}

async function walk(dir: string, segments: string[]): Promise<string[]> {
  if (segments.length === 0) return (await isFile(dir)) ? [dir] : []
  const [seg, ...rest] = segments
  const entries = await readdir(dir, {withFileTypes: true}).catch(() => [])
  const out: string[] = []
  if (seg === '**') {
    // zero directories, then each subdirectory keeping the `**`
    out.push(...(await walk(dir, rest)))
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) out.push(...(await walk(join(dir, e.name), segments)))
    return out
  }

  if (!hasMagic(seg)) return walk(join(dir, seg), rest)
  const re = segmentRegex(seg)
  for (const e of entries) {
    if (!re.test(e.name) || (e.name.startsWith('.') && !seg.startsWith('.'))) continue
    if (rest.length > 0 && !e.isDirectory() && !e.isSymbolicLink()) continue
    out.push(...(await walk(join(dir, e.name), rest)))
  }

  return out
}

function segmentRegex(seg: string): RegExp {
  let re = ''
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const close = seg.indexOf(']', i + 1)
      if (close === -1) re += '\\['
      else {
        re += '[' + seg.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']'
        i = close
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }

  return new RegExp(`^${re}$`, 'u')
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile()
  } catch {
    return false
  }
}
