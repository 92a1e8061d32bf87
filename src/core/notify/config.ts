import {z} from 'zod'
import {parseDuration, tryParseDuration} from '../config/duration.js'
import {didYouMean, formatPath} from '../config/problems.js'
import {bool, duration, httpUrl, int, scalarString, section, stringList} from '../config/common.js'
import {parseMatcher} from '../model/matcher.js'
import {CHANNEL_TYPES, CHANNELS, configKey, type ChannelConfigOf, type ChannelType} from './channels/registry.js'
import type {TemplatesConfig} from './template/set.js'
import {checkLocation, parseDayOfMonthRange, parseMonthRange, parseTimeRange, parseWeekdayRange, parseYearRange, TimeIntervalError} from './mute/time-intervals.js'

/**
 * The `notify:` config section: receivers (each a list of channel configs per type, as in
 * Alertmanager), the route tree, inhibit rules, time intervals for muting, escalation policies and
 * the outbox. Option names follow Alertmanager's so a user can bring what they know.
 */

export interface RouteConfig {
  receiver?: string
  matchers: string[]
  group_by?: string[]
  group_wait?: string
  group_interval?: string
  repeat_interval?: string
  continue: boolean
  mute_time_intervals: string[]
  active_time_intervals: string[]
  escalation?: string
  routes: RouteConfig[]
}

/** A receiver: a name and any number of channel configs per type (`slack_configs`, `email_configs` …). */
export type ReceiverConfig = {name: string; title?: string; text?: string} & {[K in ChannelType as `${K}_configs`]?: Array<ChannelConfigOf<K>>}

export interface InhibitRuleConfig {
  source_matchers: string[]
  target_matchers: string[]
  equal: string[]
}

export interface TimeIntervalConfig {
  name: string
  time_intervals: Array<{
    times?: Array<{start_time: string; end_time: string}>
    weekdays?: string[]
    days_of_month?: string[]
    months?: string[]
    years?: string[]
    location?: string
  }>
}

export interface EscalationPolicyConfig {
  name: string
  steps: Array<{after: string; receiver: string}>
}

export interface OutboxConfig {
  max_attempts: number
  backoff: string
  max_backoff: string
  lease: string
  concurrency: number
  retention: string
}

export interface NotifyConfig {
  external_url?: string
  templates?: TemplatesConfig
  receivers: ReceiverConfig[]
  route?: RouteConfig
  inhibit_rules: InhibitRuleConfig[]
  time_intervals: TimeIntervalConfig[]
  escalation_policies: EscalationPolicyConfig[]
  outbox: OutboxConfig
}

/** A label matcher written as Alertmanager writes them: `severity="critical"`, `team=~"db|infra"`. */
function matcherText() {
  return scalarString.superRefine((s, ctx) => {
    try {
      parseMatcher(s)
    } catch (err) {
      ctx.addIssue({code: 'custom', message: `${(err as Error).message}: use name=value, name!=value, name=~regex or name!~regex (e.g. severity="critical")`})
    }
  })
}

function checked(parse: (s: string) => unknown) {
  return scalarString.superRefine((s, ctx) => {
    try {
      parse(s)
    } catch (err) {
      if (!(err instanceof TimeIntervalError)) throw err
      ctx.addIssue({code: 'custom', message: err.message})
    }
  })
}

let built: z.ZodType<NotifyConfig> | undefined

/** The schema of the `notify:` section (built on first use). */
export function notifyConfigSchema(): z.ZodType<NotifyConfig> {
  built ??= buildSchema()
  return built
}

function buildSchema(): z.ZodType<NotifyConfig> {
  const receiverShape: Record<string, z.ZodType> = {
    name: z.string().min(1),
    /** templates every channel of the receiver uses unless it sets its own (template/set.ts) */
    title: z.string().optional(),
    text: z.string().optional(),
  }
  for (const type of CHANNEL_TYPES) receiverShape[configKey(type)] = z.array(CHANNELS[type].schema() as z.ZodType).optional()
  const receiver = section(receiverShape) as unknown as z.ZodType<ReceiverConfig>

  const route: z.ZodType<RouteConfig> = z.lazy(() =>
    section({
      receiver: z.string().min(1).optional(),
      matchers: z.array(matcherText()).default([]),
      /** label names; `['...']` groups by every label */
      group_by: stringList.optional(),
      group_wait: duration().optional(),
      group_interval: duration({positive: true}).optional(),
      repeat_interval: duration({positive: true}).optional(),
      continue: bool().default(false),
      mute_time_intervals: stringList.default([]),
      active_time_intervals: stringList.default([]),
      escalation: z.string().min(1).optional(),
      routes: z.array(route).default([]),
    }),
  )

  const inhibitRule = section({
    source_matchers: z.array(matcherText()).min(1),
    target_matchers: z.array(matcherText()).min(1),
    equal: stringList.default([]),
  })

  const timeRange = section({start_time: scalarString, end_time: scalarString}).superRefine((v, ctx) => {
    try {
      parseTimeRange(v)
    } catch (err) {
      if (!(err instanceof TimeIntervalError)) throw err
      ctx.addIssue({code: 'custom', message: err.message})
    }
  })

  const timeInterval = section({
    name: z.string().min(1),
    time_intervals: z
      .array(
        section({
          times: z.array(timeRange).optional(),
          weekdays: z.array(checked(parseWeekdayRange)).optional(),
          days_of_month: z.array(checked(parseDayOfMonthRange)).optional(),
          months: z.array(checked(parseMonthRange)).optional(),
          years: z.array(checked(parseYearRange)).optional(),
          location: checked(checkLocation).optional(),
        }),
      )
      .min(1),
  })

  const escalationPolicy = section({
    name: z.string().min(1),
    steps: z.array(section({after: duration(), receiver: z.string().min(1)})).min(1),
  })

  const outbox = section({
    max_attempts: int({min: 1}).default(10),
    backoff: duration({positive: true}).default('10s'),
    max_backoff: duration({positive: true}).default('15m'),
    lease: duration({positive: true}).default('2m'),
    concurrency: int({min: 1, max: 64}).default(4),
    retention: duration({positive: true}).default('7d'),
  })

  return section({
    /** how people reach mon (the daemon's API), linked from notifications */
    external_url: httpUrl().optional(),
    /** named notification templates, inline and in files (template/set.ts) */
    templates: section({files: stringList.default([]), define: z.record(z.string().min(1), z.string()).default({})}).optional(),
    receivers: z.array(receiver).default([]),
    route: route.optional(),
    inhibit_rules: z.array(inhibitRule).default([]),
    time_intervals: z.array(timeInterval).default([]),
    escalation_policies: z.array(escalationPolicy).default([]),
    outbox: outbox.prefault({}),
  }).superRefine(crossCheck) as unknown as z.ZodType<NotifyConfig>
}

type Path = Array<string | number>

function unknownName(kind: string, name: string, known: string[]): string {
  const guess = didYouMean(name, known)
  if (guess) return `unknown ${kind} "${name}"; did you mean "${guess}"?`
  return known.length > 0 ? `unknown ${kind} "${name}" (defined: ${known.join(', ')})` : `unknown ${kind} "${name}": none is defined`
}

/** References between parts of the section: receivers, intervals and policies named by routes. */
function crossCheck(v: Omit<NotifyConfig, 'receivers'> & {receivers: Array<Record<string, unknown> & {name: string}>}, ctx: z.RefinementCtx): void {
  const issue = (path: Path, message: string) => ctx.addIssue({code: 'custom', path, message})
  const receivers = v.receivers.map((r) => r.name)
  const intervals = v.time_intervals.map((t) => t.name)
  const policies = v.escalation_policies.map((p) => p.name)

  const unique = (names: string[], list: string, kind: string) => {
    const seen = new Map<string, number>()
    names.forEach((n, i) => {
      if (seen.has(n)) issue([list, i, 'name'], `duplicate ${kind} name "${n}" (also ${list}[${seen.get(n)}])`)
      else seen.set(n, i)
    })
  }
  unique(receivers, 'receivers', 'receiver')
  unique(intervals, 'time_intervals', 'time interval')
  unique(policies, 'escalation_policies', 'escalation policy')

  if (!v.route) {
    if (receivers.length > 0) issue(['receivers'], `receivers are defined but there is no 'route': add route: {receiver: ${receivers[0]}} (the default receiver) to say where alerts go`)
  } else {
    if (!v.route.receiver) issue(['route'], `the root route needs a 'receiver': the default for alerts no child route matches`)
    if (v.route.matchers.length > 0) issue(['route', 'matchers'], `the root route matches every alert and cannot have matchers; put them on a child route under 'routes'`)
    if (v.route.continue) issue(['route', 'continue'], `the root route cannot have 'continue'`)
    const walk = (r: RouteConfig, path: Path) => {
      if (r.receiver && !receivers.includes(r.receiver)) issue([...path, 'receiver'], unknownName('receiver', r.receiver, receivers))
      r.mute_time_intervals.forEach((n, i) => {
        if (!intervals.includes(n)) issue([...path, 'mute_time_intervals', i], unknownName('time interval', n, intervals))
      })
      r.active_time_intervals.forEach((n, i) => {
        if (!intervals.includes(n)) issue([...path, 'active_time_intervals', i], unknownName('time interval', n, intervals))
      })
      if (r.escalation && !policies.includes(r.escalation)) issue([...path, 'escalation'], unknownName('escalation policy', r.escalation, policies))
      if (r.group_by?.includes('...') && r.group_by.length > 1) issue([...path, 'group_by'], `'...' (group by every label) cannot be combined with label names`)
      r.routes.forEach((child, i) => walk(child, [...path, 'routes', i]))
    }
    walk(v.route, ['route'])
  }

  v.escalation_policies.forEach((p, i) =>
    p.steps.forEach((s, j) => {
      if (!receivers.includes(s.receiver)) issue(['escalation_policies', i, 'steps', j, 'receiver'], unknownName('receiver', s.receiver, receivers))
    }),
  )

  // A send that can outlive its lease could be sent twice: every channel timeout must be shorter.
  const lease = tryParseDuration(v.outbox.lease) ?? 0
  v.receivers.forEach((r, i) => {
    for (const type of CHANNEL_TYPES) {
      const list = (r[configKey(type)] as Array<{timeout: string}> | undefined) ?? []
      list.forEach((c, j) => {
        if ((tryParseDuration(c.timeout) ?? 0) >= lease) issue(['receivers', i, configKey(type), j, 'timeout'], `must be shorter than notify.outbox.lease (${v.outbox.lease}), or a slow send could be sent twice`)
      })
    }
  })
}

export interface LiteralSecret {
  path: Path
  message: string
  hint: string
}

/**
 * Credentials (webhook URLs, tokens, passwords, routing keys) must come from `${ENV}` or
 * `${file:…}`, never be written into the config file. Returns one problem per literal found.
 * `secretPaths` are the paths interpolation filled in; `secretValues` the values it substituted
 * (for a value reached through a YAML alias).
 */
export function literalSecretProblems(data: unknown, secretPaths: ReadonlyArray<readonly string[]>, secretValues: readonly string[] = []): LiteralSecret[] {
  const receivers = (data as {notify?: {receivers?: unknown}} | undefined)?.notify?.receivers
  if (!Array.isArray(receivers)) return []
  const interpolated = new Set(secretPaths.map((p) => p.join('\u0000')))
  const out: LiteralSecret[] = []
  receivers.forEach((r: Record<string, unknown>, i) => {
    for (const type of CHANNEL_TYPES) {
      const list = r?.[configKey(type)]
      if (!Array.isArray(list)) continue
      list.forEach((c: unknown, j) => {
        for (const field of CHANNELS[type].secretFields) {
          let value: unknown = c
          for (const seg of field) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[seg] : undefined
          if (typeof value !== 'string' || value === '') continue
          const path: Path = ['notify', 'receivers', i, configKey(type), j, ...field]
          if (interpolated.has(path.map(String).join('\u0000'))) continue
          if (secretValues.some((s) => s.length > 0 && value.includes(s))) continue
          const env = `${type}_${field.at(-1)}`.toUpperCase()
          out.push({
            path,
            message: `${formatPath(path)}: a credential is written into the config file; it must come from the environment or a secret file`,
            hint: `write ${field.at(-1)}: \${${env}} (or \${file:/run/secrets/${env.toLowerCase()}}) and set it outside the file`,
          })
        }
      })
    }
  })
  return out
}

/** Durations of the outbox section in ms. */
export function outboxTimings(o: OutboxConfig): {backoffMs: number; maxBackoffMs: number; leaseMs: number; retentionMs: number} {
  return {backoffMs: parseDuration(o.backoff), maxBackoffMs: parseDuration(o.max_backoff), leaseMs: parseDuration(o.lease), retentionMs: parseDuration(o.retention)}
}
