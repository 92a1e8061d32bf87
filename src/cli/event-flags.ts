import {InputError} from '../core/errors.js'

/** `--tag k=v` (repeatable) → tags; `source` is its own flag. */
export function parseTagFlags(values: string[] | undefined, flag = '--tag'): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const raw of values ?? []) {
    const eq = raw.indexOf('=')
    const key = eq < 0 ? '' : raw.slice(0, eq).trim()
    const value = eq < 0 ? '' : raw.slice(eq + 1)
    if (!key || !value) throw new InputError(`${flag} ${JSON.stringify(raw)}: expected key=value`, {hint: `e.g. ${flag} service=api`})
    if (key === 'source') throw new InputError(`${flag} source=…: the source is its own flag`, {hint: 'use --source'})
    if (key.startsWith('_')) throw new InputError(`${flag} ${key}: tag keys starting with _ are reserved`)
    tags[key] = value
  }
  return tags
}
