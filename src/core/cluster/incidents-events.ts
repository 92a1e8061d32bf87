import type {Matcher} from '../model/matcher.js'

/**
 * The events of the cluster's shared incident stream (docs/cluster.md#shared-incidents): every
 * ack, unack, hand resolve, comment and silence add/expire made through any daemon (its API) or the
 * local CLI on a cluster daemon's data dir. Each daemon applies them in the stream's order
 * (incidents-materialise.ts), so every daemon computes the same incidents, and the first ack of an
 * episode in that order is the one that wins.
 */

export const INCIDENT_EVENT_VERSION = 1

export type IncidentEventKind = 'ack' | 'unack' | 'resolve' | 'comment' | 'silence_add' | 'silence_expire'
export const INCIDENT_EVENT_KINDS: readonly IncidentEventKind[] = ['ack', 'unack', 'resolve', 'comment', 'silence_add', 'silence_expire']

/** A silence as published: everything a daemon needs to store it with the same id. */
export interface SharedSilence {
  id: string
  matchers: Matcher[]
  startsAt: number
  endsAt: number
  createdBy: string
  comment: string
  createdAt: number
}

export interface IncidentEvent {
  v: number
  /** unique (a UUID): the publish's message id (JetStream dedups a republish) and the key of its outcome */
  id: string
  kind: IncidentEventKind
  /** the member (daemon or CLI host) that published it */
  member: string
  /** when it was done, ms (the publisher's clock) */
  at: number
  by: string
  /** `local` or the remote address of the API request */
  source: string
  comment?: string
  /** alert actions: the alert (same fingerprint on every daemon: a hash of its labels) */
  fingerprint?: string
  /** alert actions: the episode's start on the publisher (alerting_alerts.active_at) */
  activeAt?: number
  labels?: Record<string, string>
  /** silence_add */
  silence?: SharedSilence
  /** silence_expire */
  silenceId?: string
}

export function encodeIncidentEvent(e: IncidentEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(e))
}

/** The event in a stream message, or why it is not one (a daemon skips it, logging why). */
export function decodeIncidentEvent(data: Uint8Array): IncidentEvent | {invalid: string} {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder().decode(data))
  } catch {
    return {invalid: 'not JSON'}
  }
  if (typeof v !== 'object' || v === null) return {invalid: 'not an object'}
  const e = v as Partial<IncidentEvent>
  if (typeof e.v !== 'number' || e.v > INCIDENT_EVENT_VERSION) return {invalid: `unknown version ${String(e.v)}`}
  if (typeof e.id !== 'string' || !e.id) return {invalid: 'no id'}
  if (!INCIDENT_EVENT_KINDS.includes(e.kind as IncidentEventKind)) return {invalid: `unknown kind ${String(e.kind)}`}
  if (typeof e.at !== 'number' || typeof e.by !== 'string' || typeof e.source !== 'string' || typeof e.member !== 'string') return {invalid: 'missing at/by/source/member'}
  if (e.kind === 'silence_add') {
    if (!e.silence || typeof e.silence.id !== 'string' || !Array.isArray(e.silence.matchers)) return {invalid: 'silence_add without a silence'}
  } else if (e.kind === 'silence_expire') {
    if (typeof e.silenceId !== 'string') return {invalid: 'silence_expire without silenceId'}
  } else if (typeof e.fingerprint !== 'string' || typeof e.activeAt !== 'number' || typeof e.labels !== 'object' || e.labels === null) {
    return {invalid: `${e.kind} without fingerprint/activeAt/labels`}
  }
  return e as IncidentEvent
}
