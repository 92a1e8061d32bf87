/**
 * Keeping secrets out of `mon config show`, logs and error messages. A value is secret when it came
 * from `${ENV}` / `${file:…}` interpolation, when its key is named like a credential, when it is
 * the password part of a URL, or when it is a chat webhook URL (the URL is the credential).
 */

export const REDACTED = '***'

/** Secret values shorter than this are not replaced in free text (masking every "1" helps nobody). */
export const MIN_SECRET_LENGTH = 4

const SECRET_KEY =
  /password|passwd|passphrase|^pass$|secret|token|api[_-]?key|apikey|routing[_-]?key|(^|[_-])auth($|[_-])|authorization|webhook[_-]?url|credential|private[_-]?key|^cookie$/i

/** Is a key named like a credential (`password`, `bearer_token`, `api_key`, `Authorization`, `webhook_url`…)? */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key)
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)([^\s/?#@]+)@/gi
const WEBHOOK_URLS: RegExp[] = [
  /\b(https?:\/\/hooks\.slack\.com\/)[^\s"'<>]+/gi,
  /\b(https?:\/\/[a-z0-9-]+\.webhook\.office\.com\/)[^\s"'<>]+/gi,
  /\b(https?:\/\/outlook\.office(?:365)?\.com\/webhook\/)[^\s"'<>]+/gi,
  /\b(https?:\/\/(?:[a-z]+\.)?discord(?:app)?\.com\/api\/webhooks\/)[^\s"'<>]+/gi,
]
const SECRET_QUERY_PARAM = /([?&](?:access_token|api_key|apikey|token|sig|signature|password|secret)=)[^&#\s"'<>]+/gi

/** Mask the secret parts of URLs anywhere in a string: userinfo passwords, webhook paths, `?token=`-style parameters. */
export function redactUrls(text: string): string {
  let out = text.replace(URL_USERINFO, `$1${REDACTED}@`)
  for (const re of WEBHOOK_URLS) out = out.replace(re, `$1${REDACTED}`)
  return out.replace(SECRET_QUERY_PARAM, `$1${REDACTED}`)
}

function samePath(a: ReadonlyArray<string | number>, b: ReadonlyArray<string | number>): boolean {
  return a.length === b.length && a.every((seg, i) => String(seg) === String(b[i]))
}

/**
 * A deep copy of `cfg` with secrets replaced by `***`: values at `secretPaths`, values under
 * credential-named keys (every leaf below one, for a map), and the secret parts of URLs.
 * Booleans and empty strings are left as they are (they say nothing and hiding them confuses).
 */
export function redactConfig(cfg: unknown, secretPaths: ReadonlyArray<ReadonlyArray<string | number>>): unknown {
  const isSecretPath = (path: Array<string | number>) => secretPaths.some((p) => samePath(p, path))

  const walk = (value: unknown, path: Array<string | number>, underSecretKey: boolean): unknown => {
    if (path.length > 0 && isSecretPath(path) && value !== undefined && value !== '') return REDACTED
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i], underSecretKey))
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k], underSecretKey || isSecretKey(k))
      return out
    }
    if (underSecretKey && (typeof value === 'string' || typeof value === 'number') && value !== '') return REDACTED
    if (typeof value === 'string') return redactUrls(value)
    return value
  }

  return walk(cfg, [], false)
}

/** How messages quote a value (problems.ts describeValue shortens long strings to this many characters). */
const QUOTED_PREFIX = 57

/** A secret as messages may show it: as is, JSON-escaped (newlines, quotes, backslashes), shortened. */
export function secretForms(secret: string): string[] {
  const escaped = (s: string) => JSON.stringify(s).slice(1, -1)
  const forms = [secret, escaped(secret)]
  if (secret.length > QUOTED_PREFIX) forms.push(secret.slice(0, QUOTED_PREFIX), escaped(secret.slice(0, QUOTED_PREFIX)))
  return forms
}

/**
 * Replace every occurrence of the given secret values in free text (longest first, in every form
 * {@link secretForms} gives), and mask URL secrets. Config validation does not rely on this: it
 * never quotes an interpolated value at all (problems.ts); this catches repeats in other text.
 */
export function redactString(text: string, secrets: readonly string[]): string {
  let out = text
  const ordered = [...new Set(secrets.flatMap(secretForms))].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length)
  for (const secret of ordered) out = out.split(secret).join(REDACTED)
  return redactUrls(out)
}

/**
 * The parts of load.ts's LoadedConfig that secretValues reads, named here because load.ts imports
 * this module (importing its type back would be an import cycle).
 */
export interface SecretSources {
  config: unknown
  secretPaths: ReadonlyArray<ReadonlyArray<string>>
  secretFragments?: readonly string[]
}

/**
 * The secret values in a loaded config, for {@link redactString}: interpolated values (whole and the
 * substituted parts), values under credential-named keys, URL passwords and webhook URLs.
 */
export function secretValues(loaded: SecretSources): string[] {
  const found = new Set<string>(loaded.secretFragments ?? [])
  const add = (v: unknown) => {
    if ((typeof v === 'string' || typeof v === 'number') && String(v).length >= MIN_SECRET_LENGTH) found.add(String(v))
  }

  for (const p of loaded.secretPaths) {
    let v: unknown = loaded.config
    for (const seg of p) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[seg] : undefined
    add(v)
  }

  const walk = (value: unknown, underSecretKey: boolean): void => {
    if (Array.isArray(value)) for (const item of value) walk(item, underSecretKey)
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, underSecretKey || isSecretKey(k))
    else if (underSecretKey) add(value)
    else if (typeof value === 'string') {
      for (const m of value.matchAll(URL_USERINFO)) add(decodeURIComponentSafe(m[2]!))
      for (const m of value.matchAll(URL_USERINFO)) add(m[2]!)
      for (const re of WEBHOOK_URLS) for (const m of value.matchAll(re)) add(m[0])
    }
  }
  walk(loaded.config, false)
  return [...found].sort((a, b) => b.length - a.length)
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
