import {createHash} from 'node:crypto'
import type {SendGate} from '../notify/deliver/sender.js'

/**
 * HA notifications (docs/cluster.md#notifications): which daemon of a cluster sends, and what was
 * already sent — decided by one ordered log every daemon reads (a JetStream stream here,
 * jetstream-ha-notify.ts; any log with a total order and server timestamps would do).
 *
 * Two kinds of message go into the log:
 * - lease messages (`claim`, `renew`, `release`) from each daemon: every reader applies the same
 *   rule to the same order with the log's own timestamps, so every daemon agrees on the holder
 *   without compare-and-set (nats-server#4320: clustered KV CAS can let two writers win);
 * - `delivered` records from the holder after each delivery of a group transition: every daemon
 *   materialises them (the shared notification log), so a daemon taking over knows what was sent
 *   and sends only what is new. A record counts only if its sender still held the lease (same
 *   term) where the record lands in the log; a late record from a paused ex-holder is ignored by
 *   everyone alike.
 *
 * This file is the deterministic part (no I/O, no clock): the ledger and the dedup key.
 */

export interface LeaseMessage {
  type: 'lease'
  op: 'claim' | 'renew' | 'release'
  member: string
  /** the sender's lease length: a holder's lease runs out this long after its last claim/renew (log time) */
  leaseMs: number
}

/** The nflog key of a delivered notification (notify/deliver/nflog.ts LogKey). */
export interface DeliveredKey {
  routeId: string
  groupKey: string
  receiver: string
  channel: string
}

export interface DeliveredRecord {
  type: 'delivered'
  member: string
  /** the log sequence of the claim that made `member` the holder */
  term: number
  key: DeliveredKey
  /** the log sequence of the record this delivery followed (0: none): part of the dedup key */
  prev: number
  dedupKey: string
  kind: 'firing' | 'resolved'
  firing: string[]
  resolved: string[]
  /** when the dispatcher decided the notification (its nflog time) */
  notifiedAt: number
  notificationId: string
}

export type HaNotifyMessage = LeaseMessage | DeliveredRecord

export interface LeaseHolder {
  member: string
  /** the log sequence of the message that made it the holder */
  term: number
  /** log time (ms) at which the lease runs out unless renewed */
  expiresAt: number
  /** log time of its last claim/renew */
  renewedAt: number
}

export interface AppliedRecord {
  seq: number
  at: number
  record: DeliveredRecord
}

const RECENT = 20
const PRUNE_EVERY_MS = 60_000

export type ApplyResult = 'lease' | 'record' | 'ignored'

export function deliveredKeyString(k: DeliveredKey): string {
  return [k.routeId, k.groupKey, k.receiver, k.channel].join('\u0000')
}

/**
 * The dedup key of one group transition sent to one channel: the same on every daemon that sends
 * it on the same shared log (the transition's content and the record it follows). The only way a
 * receiver gets a notification twice (the holder dies between the send and its record) it gets
 * it with this key both times.
 */
export function transitionDedupKey(k: DeliveredKey, prev: number, status: string, firing: readonly string[], resolved: readonly string[]): string {
  const body = JSON.stringify([k.receiver, k.channel, k.groupKey, prev, status, [...firing].sort(), [...resolved].sort()])
  return createHash('sha256').update(body).digest('hex').slice(0, 32)
}

/**
 * The seam the notify component uses (so a Kafka implementation could follow): a lease whose
 * holder sends, fenced by {@link SendGate} before each send, and the shared log it reads.
 */
export interface NotifierLease extends SendGate {
  readonly member: string
  readonly ledger: NotifierLedger
  start(): Promise<void>
  /** stops renewing and hands the lease back when holding it */
  stop(): Promise<void>
  /** may this process send now, by its own clock */
  isActive(now?: number): boolean
}

/** The state every daemon derives from the log, message by message, identically. */
export class NotifierLedger {
  holder: LeaseHolder | undefined
  /** the last log sequence applied */
  lastSeq = 0
  /** the last record that counted, per nflog key */
  readonly records = new Map<string, AppliedRecord>()
  /** the last record that counted, any key */
  lastRecord: AppliedRecord | undefined
  /** the last few records that counted, oldest first (status) */
  readonly recent: AppliedRecord[] = []

  private lastPruneAt = 0

  /**
   * @param horizonMs records older than this (log time) are forgotten, on every daemon at the same
   *   point of the log; shorter than the stream's max_age, so a daemon that starts later (and reads
   *   only what the stream still has) computes the same state
   */
  constructor(private readonly horizonMs: number = Infinity) {}

  /** Applies the message at `seq`, stamped `at` (ms) by the log. Messages at or below lastSeq are skipped. */
  apply(seq: number, at: number, msg: HaNotifyMessage): ApplyResult {
    if (seq <= this.lastSeq) return 'ignored'
    this.lastSeq = seq
    if (at - this.lastPruneAt >= PRUNE_EVERY_MS) this.prune(at)
    if (msg.type === 'lease') return this.applyLease(seq, at, msg)
    if (msg.type === 'delivered') {
      const h = this.holder
      if (!h || h.member !== msg.member || h.term !== msg.term) return 'ignored'
      const applied = {seq, at, record: msg}
      this.records.set(deliveredKeyString(msg.key), applied)
      this.lastRecord = applied
      this.recent.push(applied)
      if (this.recent.length > RECENT) this.recent.shift()
      return 'record'
    }
    return 'ignored'
  }

  private applyLease(seq: number, at: number, msg: LeaseMessage): ApplyResult {
    const h = this.holder
    const live = h !== undefined && at < h.expiresAt
    if (msg.op === 'release') {
      if (h && h.member === msg.member) {
        this.holder = undefined
        return 'lease'
      }
      return 'ignored'
    }
    if (live) {
      if (h.member !== msg.member) return 'ignored' // someone holds it: a claim loses
      h.expiresAt = at + msg.leaseMs
      h.renewedAt = at
      return 'lease'
    }
    // nobody holds it (or the lease ran out by the log's clock): the first claim or renew wins;
    // a holder renewing after its own lease ran out starts a new term, so its old records stop counting
    this.holder = {member: msg.member, term: seq, expiresAt: at + msg.leaseMs, renewedAt: at}
    return 'lease'
  }

  private prune(at: number): void {
    this.lastPruneAt = at
    if (!Number.isFinite(this.horizonMs)) return
    for (const [k, r] of this.records) if (r.at < at - this.horizonMs) this.records.delete(k)
  }

  /** The sequence of the last counted record for a key (0: none). */
  prevOf(k: DeliveredKey): number {
    return this.records.get(deliveredKeyString(k))?.seq ?? 0
  }

  /** The shared notification log as nflog rows. */
  nflogEntries(): Array<{key: DeliveredKey; entry: {firing: string[]; resolved: string[]; notifiedAt: number}}> {
    return [...this.records.values()].map((r) => ({key: r.record.key, entry: {firing: r.record.firing, resolved: r.record.resolved, notifiedAt: r.record.notifiedAt}}))
  }
}
