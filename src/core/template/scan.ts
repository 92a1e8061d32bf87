/**
 * The scanner of Go's text/template that both template dialects share: rule annotations
 * (alerting/template.ts: `{{ $labels.host }}`, `{{ $value | humanize }}`) and notification
 * templates (notify/template/engine.ts: define/template/range/with). It cuts a template into text
 * and `{{ … }}` actions, applies `{{-` / `-}}` trimming to the neighbouring text, recognises
 * `{{/* comments *\/}}` and lexes each action into tokens. Each engine parses the tokens itself.
 *
 * A leaf: it imports nothing of the app. Problems are thrown through the caller's `fail`, so each
 * engine keeps its own error class; the messages and 0-based offsets are the same for both.
 */

export type TokKind = 'ident' | 'var' | 'field' | 'string' | 'number' | 'pipe' | 'lparen' | 'rparen' | 'dot' | 'declare' | 'comma'

export interface Tok {
  kind: TokKind
  text: string
  /** a string's or a number's value */
  value?: string | number
  offset: number
}

export interface Action {
  /** offset of `{{` */
  start: number
  toks: Tok[]
  comment: boolean
}

export type Item = {kind: 'text'; text: string} | {kind: 'action'; action: Action}

/** Makes the error to throw for a problem at a 0-based offset into the template text. */
export type Fail = (offset: number, reason: string, hint?: string) => Error

export interface ScanOptions {
  /** lex `,` and `:=`, for `{{ $x := … }}` and `{{ range $i, $a := … }}` (otherwise they are unexpected characters) */
  declarations: boolean
  /**
   * Go's rules for a dot: `.5` is a number and a field name starts with a letter or `_`. Without
   * them every `.name` run is a field path, digits first included (`.Labels.5xx`), as rule
   * annotations have always read.
   */
  goDots: boolean
}

/** The text and actions of a template, in order; throws `fail(…)` on an unclosed action, string or comment, or a bad token. */
export function scanTemplate(src: string, opts: ScanOptions, fail: Fail): Item[] {
  const items: Item[] = []
  let pos = 0
  let trimNext = false
  while (pos < src.length) {
    const open = src.indexOf('{{', pos)
    let text = open === -1 ? src.slice(pos) : src.slice(pos, open)
    if (trimNext) text = text.replace(/^\s+/, '')
    if (open === -1) {
      if (text) items.push({kind: 'text', text})
      break
    }

    const trimLeft = src[open + 2] === '-' && /\s/.test(src[open + 3] ?? '')
    if (trimLeft) text = text.replace(/\s+$/, '')
    if (text) items.push({kind: 'text', text})
    const innerStart = open + (trimLeft ? 3 : 2)
    const close = findClose(src, innerStart, open, fail)
    const trimRight = src[close - 1] === '-' && /\s/.test(src[close - 2] ?? '')
    const innerEnd = trimRight ? close - 1 : close
    const inner = src.slice(innerStart, innerEnd)
    const comment = /^\s*\/\*/.test(inner)
    if (comment && !/\*\/\s*$/.test(inner)) throw fail(open, 'unclosed comment', 'close it with */}}')
    items.push({kind: 'action', action: {start: open, toks: comment ? [] : lexAction(src, innerStart, innerEnd, open, opts, fail), comment}})
    trimNext = trimRight
    pos = close + 2
  }

  return items
}

/** Offset of the `}}` closing the action opened at `open`, skipping quoted strings. */
function findClose(src: string, from: number, open: number, fail: Fail): number {
  let i = from
  while (i < src.length) {
    const c = src[i]
    if (c === '"' || c === '`') {
      const end = c === '"' ? skipQuoted(src, i, fail) : src.indexOf('`', i + 1)
      if (end === -1) throw fail(i, 'unterminated string in template', `close it with ${c}`)
      i = end + 1
      continue
    }

    if (c === '}' && src[i + 1] === '}') return i
    if (c === '{' && src[i + 1] === '{') break
    i++
  }

  throw fail(open, "unclosed action: '{{' without '}}'", 'close it with }}')
}

/** Offset of the `"` closing the string that opens at `i` (backslash escapes skipped). */
function skipQuoted(src: string, i: number, fail: Fail): number {
  let j = i + 1
  while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
  if (j >= src.length) throw fail(i, 'unterminated string in template', 'close it with "')
  return j
}

const GO_FIELDS = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+|^\./
const LABEL_FIELDS = /^(?:\.[A-Za-z0-9_]+)+|^\./

/** The tokens of the action between `start` and `end` (its `{{` at `open`). */
function lexAction(src: string, start: number, end: number, open: number, opts: ScanOptions, fail: Fail): Tok[] {
  const toks: Tok[] = []
  let i = start
  while (i < end) {
    const c = src[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }

    const at = i
    const rest = src.slice(i, end)
    if (c === '|') toks.push({kind: 'pipe', text: c, offset: i++})
    else if (c === '(') toks.push({kind: 'lparen', text: c, offset: i++})
    else if (c === ')') toks.push({kind: 'rparen', text: c, offset: i++})
    else if (opts.declarations && c === ',') toks.push({kind: 'comma', text: c, offset: i++})
    else if (opts.declarations && c === ':' && src[i + 1] === '=') {
      toks.push({kind: 'declare', text: ':=', offset: i})
      i += 2
    } else if (c === '"') {
      const close = skipQuoted(src, i, fail)
      const raw = src.slice(i, close + 1)
      let value: string
      try {
        value = JSON.parse(raw) as string
      } catch {
        throw fail(i, `invalid string ${raw}`)
      }

      toks.push({kind: 'string', text: raw, value, offset: at})
      i = close + 1
    } else if (c === '`') {
      const close = src.indexOf('`', i + 1)
      toks.push({kind: 'string', text: src.slice(i, close + 1), value: src.slice(i + 1, close), offset: at})
      i = close + 1
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/.exec(rest)!
      toks.push({kind: 'var', text: m[0], offset: at})
      i += m[0].length
    } else if (c === '.' && !(opts.goDots && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = (opts.goDots ? GO_FIELDS : LABEL_FIELDS).exec(rest)!
      toks.push({kind: m[0] === '.' ? 'dot' : 'field', text: m[0], offset: at})
      i += m[0].length
    } else if (/[-+0-9.]/.test(c)) {
      // a '.' gets here only as Go's `.5`
      const m = /^[-+]?(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)/.exec(rest)
      if (!m) throw fail(i, `unexpected '${c}' in template action`)
      toks.push({kind: 'number', text: m[0], value: Number(m[0]), offset: at})
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)!
      toks.push({kind: 'ident', text: m[0], offset: at})
      i += m[0].length
    } else {
      throw fail(i, `unexpected '${c}' in template action`, c === '}' ? 'actions close with }}' : undefined)
    }
  }

  if (toks.length === 0) throw fail(open, 'empty action {{ }}')
  return toks
}
