/** The escapes of line protocol, read (names, string values) and written (string values); see index.ts. */


/** Removes the backslash of `\,` `\ ` `\=` (all three in measurements too, as InfluxDB 1.x). */
export function unescapeName(s: string, from: number, to: number): string {
  let out = ''
  let last = from
  for (let i = from; i < to; i++) {
    if (s.charCodeAt(i) !== 92) continue
    const d = s.charCodeAt(i + 1)
    if (i + 1 < to && (d === 44 || d === 32 || d === 61)) {
      out += s.slice(last, i)
      last = i + 1 // keep the escaped character
      i++
    }
  }
  return out + s.slice(last, to)
}

export function unescapeString(s: string, from: number, to: number): string {
  let out = ''
  let last = from
  for (let i = from; i < to; i++) {
    if (s.charCodeAt(i) !== 92) continue
    const d = s.charCodeAt(i + 1)
    if (d === 34 || d === 92) {
      out += s.slice(last, i)
      last = i + 1
      i++
    }
  }
  return out + s.slice(last, to)
}


/** `"` and `\` get a backslash; newlines stay literal (InfluxDB accepts them inside quotes). */
export function escapeString(s: string): string {
  const n = s.length
  let i = 0
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 34 || c === 92) break
  }
  if (i === n) return s
  let out = s.slice(0, i)
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 34 || c === 92) out += '\\'
    out += s[i]
  }
  return out
}
