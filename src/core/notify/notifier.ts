import {silentLogger, type Logger} from '../log.js'
import {memoryThreadStore, type ChannelDefinition, type CommonChannelConfig, type ThreadStore} from './channels/common.js'
import {CHANNEL_TYPES, CHANNELS, configKey, type ChannelType} from './channels/registry.js'
import {outboxTimings, type NotifyConfig} from './config.js'
import {compileEscalationPolicies, type EscalationPolicy} from './deliver/escalation.js'
import {compileInhibitRules, Inhibitor} from './mute/inhibit.js'
import {compileRoutes, compileTimeIntervals, type CompiledRoute, type TimeIntervals} from './route/router.js'
import type {SenderPolicy} from './deliver/sender.js'
import {compileTemplates, type ChannelTemplates, type CompiledTemplates} from './template/set.js'
import type {Channel} from './types.js'

/**
 * The `notify:` config turned into what the dispatcher works with: the compiled route tree, the
 * channels of each receiver (created on first use), inhibit rules, time intervals and escalation
 * policies.
 */

export interface ChannelInstance {
  receiver: string
  /** `slack[0]`: the type and the index in the receiver's `slack_configs` */
  key: string
  type: ChannelType
  definition: ChannelDefinition<CommonChannelConfig>
  config: CommonChannelConfig
  sendResolved: boolean
  sendAcknowledged: boolean
  /** set for channels re-sent every evaluation (see ChannelDefinition.resendIntervalMs) */
  resendIntervalMs?: number
  /** the user's templates for this channel's words */
  templates: ChannelTemplates
  /** The channel (created on first call: an SMTP transport is not built for nothing). */
  channel(): Channel
}

export interface CompiledNotify {
  config: NotifyConfig
  /** undefined when no route is configured: nothing is delivered */
  root?: CompiledRoute
  receivers: Map<string, ChannelInstance[]>
  inhibitor: Inhibitor
  intervals: TimeIntervals
  escalations: Map<string, EscalationPolicy>
  externalURL?: string
  /** the notification templates (problems were reported when the config was loaded) */
  templates: CompiledTemplates
  policy: SenderPolicy & {retentionMs: number}
  channel(receiver: string, key: string): ChannelInstance | undefined
  route(id: string): CompiledRoute | undefined
}

export interface CompileOptions {
  threads?: ThreadStore
  /** secret values to scrub from errors (secretValues(loaded)) */
  secrets?: readonly string[]
  log?: Logger
}

export function compileNotify(config: NotifyConfig, opts: CompileOptions = {}): CompiledNotify {
  const threads = opts.threads ?? memoryThreadStore()
  const log = opts.log ?? silentLogger
  const receivers = new Map<string, ChannelInstance[]>()
  const templates = compileTemplates(config, {log: log.child({component: 'templates'})})
  for (const p of templates.problems) log.warn('notification template problem; its field uses the default words', {problem: p.message})
  for (const r of config.receivers) {
    const list: ChannelInstance[] = []
    for (const type of CHANNEL_TYPES) {
      const configs = (r[configKey(type)] ?? []) as CommonChannelConfig[]
      const definition = CHANNELS[type] as unknown as ChannelDefinition<CommonChannelConfig>
      configs.forEach((c, i) => {
        const key = `${type}[${i}]`
        let created: Channel | undefined
        const channelTemplates = templates.channel(r.name, type, i)
        list.push({
          templates: channelTemplates,
          receiver: r.name,
          key,
          type,
          definition,
          config: c,
          sendResolved: definition.capabilities.resolved && c.send_resolved,
          sendAcknowledged: definition.capabilities.acknowledged && c.send_acknowledged === true,
          resendIntervalMs: definition.resendIntervalMs?.(c),
          channel: () => (created ??= definition.create(c, {receiver: r.name, key, threads, secrets: opts.secrets ?? [], log: log.child({receiver: r.name, channel: key}), templates: channelTemplates})),
        })
      })
    }
    receivers.set(r.name, list)
  }

  const root = config.route ? compileRoutes(config.route) : undefined
  const byId = new Map<string, CompiledRoute>()
  const index = (route: CompiledRoute) => {
    byId.set(route.id, route)
    route.routes.forEach(index)
  }
  if (root) index(root)

  const timings = outboxTimings(config.outbox)
  return {
    config,
    root,
    receivers,
    inhibitor: new Inhibitor(compileInhibitRules(config.inhibit_rules)),
    intervals: compileTimeIntervals(config.time_intervals),
    escalations: compileEscalationPolicies(config.escalation_policies),
    externalURL: config.external_url,
    templates,
    policy: {
      maxAttempts: config.outbox.max_attempts,
      backoffMs: timings.backoffMs,
      maxBackoffMs: timings.maxBackoffMs,
      leaseMs: timings.leaseMs,
      concurrency: config.outbox.concurrency,
      retentionMs: timings.retentionMs,
    },
    channel: (receiver, key) => receivers.get(receiver)?.find((c) => c.key === key),
    route: (id) => byId.get(id),
  }
}
