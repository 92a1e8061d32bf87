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
 *
 * Getters, not values: config/schema.ts → notify/config.ts → this file → a channel → config/schema.ts
 * is an import cycle, and a program that imports a channel file first reaches this file before
 * that channel's definition exists. A getter is only read later, when the schema is built.
 */
export const CHANNELS = {
  get slack() { return slackChannel },
  get teams() { return teamsChannel },
  get webhook() { return webhookChannel },
  get email() { return emailChannel },
  get pagerduty() { return pagerDutyChannel },
  get opsgenie() { return opsgenieChannel },
  get twilio() { return twilioChannel },
  get ntfy() { return ntfyChannel },
  get alertmanager() { return alertmanagerChannel },
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
