import {InputError} from '../errors.js'

/**
 * A label set as people type it on a command line: `severity=critical,team=db`, values optionally
 * quoted (`summary="disk, almost full"`). Several texts (repeated flags, arguments) are merged.
 */
export function parseLabelSet(texts: string | readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const text of typeof texts === 'string' ? [texts] : texts) {
    let i = 0
    const s = text.trim()
    while (i < s.length) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*/.exec(s.slice(i))
      if (!m) throw new InputError(`invalid label set '${text}' at '${s.slice(i)}'`, {hint: 'write name=value pairs separated by commas, e.g. severity=critical,team=db'})
      i += m[0].length
      let value: string
      if (s[i] === '"' || s[i] === "'") {
        const quote = s[i]!
        const end = s.indexOf(quote, i + 1)
        if (end === -1) throw new InputError(`unterminated quote in '${text}'`)
        value = s.slice(i + 1, end)
        i = end + 1
      } else {
        const end = s.indexOf(',', i)
        value = (end === -1 ? s.slice(i) : s.slice(i, end)).trim()
        i = end === -1 ? s.length : end
      }
      out[m[1]!] = value
      while (i < s.length && (s[i] === ',' || s[i] === ' ')) i++
    }
  }
  return out
}
