/**
 * Prometheus file-based service discovery: JSON or YAML files, each a list of target groups
 *
 *   [{"targets": ["10.0.0.5:9100", "10.0.0.6:9100"], "labels": {"env": "prod", "__metrics_path__": "/metrics"}}]
 *
 * Files (paths or globs in the file name part) are listed and checked on every scrape and
 * re-read only when their size or modification time changed. A file that stops parsing keeps
 * its last good targets (as Prometheus does) and the problem is reported.
 * Labels starting with `__` steer the scrape and are not stored: `__scheme__` (http),
 * `__metrics_path__` (/metrics), `__param_<name>` (query parameters), `__scrape_interval__`
 * and `__scrape_timeout__` (durations, per target). The others become tags.
 */
import {readdir, readFile, stat} from 'node:fs/promises'
import {basename, dirname, extname, join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {tryParseDuration} from '../config/duration.js'
import type {Tags} from '../model/point.js'
import {compileGlobs} from './host/parse.js'

export interface ScrapeTarget {
  url: string
  /** labels to add as tags */
  labels: Tags
  intervalMs?: number
  timeoutMs?: number
  /** the file it came from (undefined for static `urls`) */
  source?: string
}

interface CachedFile {
  mtimeMs: number
  size: number
  targets: ScrapeTarget[]
}

const GLOB_CHARS = /[*?[]/

/** Keeps the parsed files between scrapes; one per scrape job. */
export class FileDiscovery {
  private cache = new Map<string, CachedFile>()

  constructor(private readonly patterns: readonly string[]) {}

  /** Current targets of every matching file, plus problems found (missing files, bad content). */
  async targets(): Promise<{targets: ScrapeTarget[]; errors: string[]}> {
    const errors: string[] = []
    const files = new Set<string>()
    for (const pattern of this.patterns) {
      if (GLOB_CHARS.test(dirname(pattern))) {
        errors.push(`file_sd ${pattern}: wildcards are supported in the file name only`)
        continue
      }
      if (!GLOB_CHARS.test(basename(pattern))) {
        files.add(pattern)
        continue
      }
      const match = compileGlobs([basename(pattern)])
      try {
        for (const name of await readdir(dirname(pattern))) if (match(name)) files.add(join(dirname(pattern), name))
      } catch (err) {
        errors.push(`file_sd ${pattern}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'directory does not exist' : (err as Error).message}`)
      }
    }
    const targets: ScrapeTarget[] = []
    for (const file of [...files].sort()) {
      let st
      try {
        st = await stat(file)
      } catch {
        this.cache.delete(file)
        if (!GLOB_CHARS.test(file)) errors.push(`file_sd ${file}: file does not exist`)
        continue
      }
      let cached = this.cache.get(file)
      if (!cached || cached.mtimeMs !== st.mtimeMs || cached.size !== st.size) {
        try {
          const parsed = parseTargetFile(await readFile(file, 'utf8'), file)
          cached = {mtimeMs: st.mtimeMs, size: st.size, targets: parsed}
          this.cache.set(file, cached)
        } catch (err) {
          errors.push((err as Error).message + (cached ? ' (keeping the targets read before)' : ''))
        }
      }
      if (cached) for (const t of cached.targets) targets.push(t)
    }
    for (const file of this.cache.keys()) if (!files.has(file)) this.cache.delete(file)
    return {targets, errors}
  }
}

/** Parses one file_sd file (JSON by extension `.json`, otherwise YAML). Throws with the file named. */
export function parseTargetFile(text: string, file: string): ScrapeTarget[] {
  let doc: unknown
  try {
    doc = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new Error(`file_sd ${file}: not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`)
  }
  if (doc === null || doc === undefined) return []
  if (!Array.isArray(doc)) throw new Error(`file_sd ${file}: expected a list of target groups ({targets: [...], labels: {...}})`)
  const out: ScrapeTarget[] = []
  doc.forEach((group: unknown, i) => {
    const where = `file_sd ${file}: target group ${i + 1}`
    if (typeof group !== 'object' || group === null || Array.isArray(group)) throw new Error(`${where}: expected {targets: [...], labels: {...}}`)
    const g = group as {targets?: unknown; labels?: unknown}
    if (!Array.isArray(g.targets) || g.targets.some((t) => typeof t !== 'string')) throw new Error(`${where}: 'targets' must be a list of host:port strings`)
    const labels: Record<string, string> = {}
    if (g.labels !== undefined) {
      if (typeof g.labels !== 'object' || g.labels === null || Array.isArray(g.labels)) throw new Error(`${where}: 'labels' must be a map of strings`)
      for (const [k, v] of Object.entries(g.labels)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new Error(`${where}: label ${k} must be a string`)
        labels[k] = String(v)
      }
    }
    for (const target of g.targets as string[]) out.push(targetFromLabels(target, labels, where))
  })
  return out
}

function targetFromLabels(address: string, labels: Record<string, string>, where: string): ScrapeTarget {
  const scheme = labels.__scheme__ ?? 'http'
  if (scheme !== 'http' && scheme !== 'https') throw new Error(`${where}: __scheme__ must be http or https, got ${JSON.stringify(scheme)}`)
  let path = labels.__metrics_path__ ?? '/metrics'
  if (!path.startsWith('/')) path = '/' + path
  let url: URL
  try {
    url = new URL(`${scheme}://${address}${path}`)
  } catch {
    throw new Error(`${where}: invalid target ${JSON.stringify(address)} (expected host:port)`)
  }
  const tags: Tags = {}
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith('__param_')) url.searchParams.append(k.slice(8), v)
    else if (!k.startsWith('__') && v !== '') tags[k] = v
  }
  const target: ScrapeTarget = {url: url.toString(), labels: tags}
  for (const [label, key] of [['__scrape_interval__', 'intervalMs'], ['__scrape_timeout__', 'timeoutMs']] as const) {
    if (labels[label] === undefined) continue
    const ms = tryParseDuration(labels[label]!)
    if (ms === undefined || ms <= 0) throw new Error(`${where}: ${label} must be a duration such as 30s, got ${JSON.stringify(labels[label])}`)
    target[key] = ms
  }
  return target
}
