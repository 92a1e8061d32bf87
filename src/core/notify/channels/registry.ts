import {alertmanagerChannel} from './alertmanager.js'
import type {ChannelDefinition, CommonChannelConfig} from './common.js'
import {emailChannel} from './email.js'
import {ntfyChannel} from './ntfy.js'
import {opsgenieChannel} from './opsgenie.js'
import {pagerDutyChannel} from './pagerduty.js'
import {slackChannel} from './slack.js'
import {teamsChannel} from './teams.js'
import {twilioChannel} from './twilio.js'
import {webhookChannel} from './webhook.js'

/**
 * Every channel type, by the name used in config (`<type>_configs` in a receiver). A new channel is
 * one file plus one line here.
 */
export const CHANNELS = {
  slack: slackChannel,
  teams: teamsChannel,
  webhook: webhookChannel,
  email: emailChannel,
  pagerduty: pagerDutyChannel,
  opsgenie: opsgenieChannel,
  twilio: twilioChannel,
  ntfy: ntfyChannel,
  alertmanager: alertmanagerChannel,
}

export type ChannelType = keyof typeof CHANNELS

export type ChannelConfigOf<T extends ChannelType> = (typeof CHANNELS)[T] extends ChannelDefinition<infer C> ? C : never

export const CHANNEL_TYPES = Object.keys(CHANNELS) as ChannelType[]

export function channelDefinition(type: string): ChannelDefinition<CommonChannelConfig> | undefined {
  return (CHANNELS as Record<string, ChannelDefinition<CommonChannelConfig>>)[type]
}

/** `slack_configs` → `slack`. */
export function configKey(type: ChannelType): `${ChannelType}_configs` {
  return `${type}_configs`
}
