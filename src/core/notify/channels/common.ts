import type {z} from 'zod'
import {parseDuration} from '../../config/duration.js'
import {bool, duration} from '../../config/common.js'
import type {Logger} from '../../log.js'
import type {ChannelTemplates} from '../template/set.js'
import type {Channel, Notification} from '../types.js'

/**
 * What a channel file exports: its config schema, the sample block shown in docs, what it can do
 * (resolved / acknowledged messages) and a factory. A new channel is one file plus one line in
 * registry.ts.
 *
 * Field helpers come from config/common.ts (a leaf), never config/schema.ts: the config schema
 * imports the registry, so a channel importing it would close an import cycle.
 */

/** Where a Slack channel remembers the first message of a group, to thread later notes under it. */
export interface ThreadRef {
  ts: string
  channel: string
}

export interface ThreadStore {
  get(key: string): ThreadRef | undefined
  set(key: string, ref: ThreadRef): void
  clear(key: string): void
}

export function memoryThreadStore(): ThreadStore {
  const map = new Map<string, ThreadRef>()
  return {
    get: (k) => map.get(k),
    set: (k, v) => void map.set(k, v),
    clear: (k) => void map.delete(k),
  }
}

export interface ChannelContext {
  receiver: string
  /** the channel's place in its receiver: `slack[0]` */
  key: string
  threads: ThreadStore
  /** values to scrub from error messages */
  secrets: readonly string[]
  log: Logger
  /** the user's templates for this channel's words (title, text …); absent: the default words */
  templates?: ChannelTemplates
}

export interface ChannelCapabilities {
  /** sends a message when alerts resolve (`send_resolved`) */
  resolved: boolean
  /** sends a message when an alert is acknowledged (`send_acknowledged`) */
  acknowledged: boolean
}

export interface CommonChannelConfig {
  send_resolved: boolean
  send_acknowledged?: boolean
  timeout: string
  tls_verify?: boolean
}

export interface ChannelDefinition<C extends CommonChannelConfig = CommonChannelConfig> {
  type: string
  summary: string
  capabilities: ChannelCapabilities
  schema(): z.ZodType<C>
  /** Paths inside the channel config whose values are credentials: they must come from `${…}`. */
  secretFields: ReadonlyArray<readonly string[]>
  /** A commented YAML block (one list item of `<type>_configs`), for docs and `mon config init`. */
  sample: string
  create(config: C, ctx: ChannelContext): Channel
  /**
   * The words a message would carry (`title`, `text`, email's `subject`/`html` …), rendered with the
   * user's templates where set, for `mon notify test --preview`. Default: mon's title and plain text.
   */
  preview?(config: C, n: Notification, templates: ChannelTemplates): Record<string, string>
  /**
   * For a receiver that forgets alerts it stops hearing about (Alertmanager ends an alert at its
   * endsAt): the dispatcher re-sends it every firing alert it was told about after each evaluation,
   * at most once per this many ms, besides the route's group/repeat timing. Undefined: no re-sends.
   */
  resendIntervalMs?(config: C): number
}

export function defineChannel<C extends CommonChannelConfig>(def: ChannelDefinition<C>): ChannelDefinition<C> {
  return def
}

/** Build once, on first call. */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined
  return () => (value ??= build())
}

/** The options every channel has. */
export function commonFields(defaults: {sendResolved: boolean}) {
  return {
    send_resolved: bool().default(defaults.sendResolved),
    timeout: duration({positive: true}).default('10s'),
  }
}

/** For channels that can say "acknowledged" (PagerDuty, Opsgenie, Slack …). */
export function ackField(byDefault: boolean) {
  return {send_acknowledged: bool().default(byDefault)}
}

export function tlsField() {
  return {tls_verify: bool().default(true)}
}

export function timeoutMs(config: {timeout: string}): number {
  return parseDuration(config.timeout)
}

/** The thread key of a group on one channel: the same group on another channel is another thread. */
export function threadKey(ctx: Pick<ChannelContext, 'receiver' | 'key'>, n: Pick<Notification, 'groupKey'>): string {
  return `${ctx.receiver}\u0000${ctx.key}\u0000${n.groupKey}`
}

/** `https://example.com/` + `api/x` without doubled or missing slashes. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '')
}
