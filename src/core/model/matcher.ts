import {re2, type RE2JS} from '../re2.js'
import {InputError, regexErrorReason} from '../errors.js'

/** A label/tag matcher as in PromQL and Alertmanager: =, !=, =~, !~ (regexes fully anchored). */
export type MatchOp = '=' | '!=' | '=~' | '!~'

export interface Matcher {
  name: string
  op: MatchOp
  value: string
}

/**
 * A compiled regular expression that runs in time linear in its input. Matchers come from users
 * (queries, rule files, silences over the API), and a backtracking engine lets one pattern such as
 * `(a|a)*b` block the event loop for seconds per value, so they run on RE2 — the semantics
 * Prometheus and InfluxDB (Go's regexp) give the same patterns.
 */
export interface LinearRegex {
  /** whether the pattern matches anywhere in `s` (anchor it to match the whole value) */
  test(s: string): boolean
}

/** A regex the user wrote that does not compile; the message shows it as written. */
export class InvalidRegexError extends InputError {
  constructor(source: string, cause: unknown, hint = 'a matcher regex matches the whole value') {
    super(`invalid regular expression /${source}/: ${regexErrorReason(cause)}`, {hint, cause})
    this.name = 'InvalidRegexError'
  }
}

const compiled = new Map<string, RE2JS>()
const MAX_COMPILED = 10_000

function compileRe2(source: string, shown: string): RE2JS {
  let pattern = compiled.get(source)
  if (!pattern) {
    try {
      pattern = re2().compile(source)
    } catch (error) {
      throw new InvalidRegexError(shown, error, 'matchers use RE2 syntax (as Prometheus and InfluxDB do): no backreferences or lookarounds')
    }

    // patterns come from users: keep the cache bounded (oldest first)
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!)
    compiled.set(source, pattern)
  }

  return pattern
}

/** Compiles (and caches) an RE2 pattern; a syntax error is an {@link InvalidRegexError} naming `shown`. */
export function compileLinearRegex(source: string, shown = source): LinearRegex {
  const pattern = compileRe2(source, shown)
  return {test: (s) => pattern.test(s)}
}

/**
 * Go's `regexp.ReplaceAllString` in linear time (templates' reReplaceAll): `$1` and `${1}` insert a
 * group, `$$` a dollar sign.
 */
export function replaceAllLinear(source: string, text: string, replacement: string): string {
  return compileRe2(source, source).matcher(text).replaceAll(replacement.replace(/\$\{(\d+)\}/g, '$$$1'))
}

/** The matcher's regex, fully anchored as in PromQL. */
export function matcherRegex(m: Matcher): LinearRegex {
  return compileLinearRegex(`^(?:${m.value})$`, m.value)
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
