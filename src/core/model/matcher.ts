import {InputError, regexErrorReason} from '../errors.js'

/** A label/tag matcher as in PromQL and Alertmanager: =, !=, =~, !~ (regexes fully anchored). */
export type MatchOp = '=' | '!=' | '=~' | '!~'

export interface Matcher {
  name: string
  op: MatchOp
  value: string
}

const compiled = new Map<string, RegExp>()

/** A regex the user wrote that does not compile; the message shows it as written. */
export class InvalidRegexError extends InputError {
  constructor(source: string, cause: unknown) {
    super(`invalid regular expression /${source}/: ${regexErrorReason(cause)}`, {hint: 'JavaScript regex syntax; a matcher regex matches the whole value', cause})
    this.name = 'InvalidRegexError'
  }
}

export function matcherRegex(m: Matcher): RegExp {
  let re = compiled.get(m.value)
  if (!re) {
    try {
      re = new RegExp(`^(?:${m.value})$`, 'u')
    } catch (error) {
      throw new InvalidRegexError(m.value, error)
    }

    compiled.set(m.value, re)
  }

  return re
}

/** A missing label matches as the empty string (Prometheus and InfluxDB agree on that). */
export function matches(m: Matcher, labels: Record<string, string | undefined>): boolean {
  const v = labels[m.name] ?? ''
  switch (m.op) {
    case '=':
      return v === m.value
    case '!=':
      return v !== m.value
    case '=~':
      return matcherRegex(m).test(v)
    case '!~':
      return !matcherRegex(m).test(v)
  }
}

export function matchesAll(ms: Matcher[], labels: Record<string, string | undefined>): boolean {
  for (const m of ms) if (!matches(m, labels)) return false
  return true
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`
}

/** Parses `name=value`, `name!=value`, `name=~re`, `name!~re` (value optionally quoted). */
export function parseMatcher(text: string): Matcher {
  const m = /^\s*([A-Za-z_][\w.\-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/su.exec(text)
  if (!m) throw new InputError(`invalid matcher '${text}'`, {hint: 'use name=value, name!=value, name=~regex or name!~regex'})
  let value = m[3]
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
    value = value[0] === '"' ? (JSON.parse(value) as string) : value.slice(1, -1)
  }

  const matcher: Matcher = {name: m[1], op: m[2] as MatchOp, value}
  if (matcher.op === '=~' || matcher.op === '!~') matcherRegex(matcher)
  return matcher
}
