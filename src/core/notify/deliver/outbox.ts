import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'
import {InputError} from '../../errors.js'
import type {StateDb} from '../../state/db.js'
import {notificationTitle} from './render.js'
import type {Delivery, DeliveryAttempt, Notification, NotificationKind, OutboxStatus} from '../types.js'

/**
 * The durable outbox: every notification is a row in state.db before anything is sent, one row per
 * channel. A sender claims due rows under a lease (so two processes never send the same row at the
 * same time), sends, and marks the row delivered, to be retried, or dead. A process that dies
 * mid-send leaves its rows leased; when the lease runs out another sender takes them over — so a
 * crash between sending and marking can send twice, but a notification is never lost.
 *
 * Rows of one stream (receiver + channel + group) go out in order: a row is not claimed while an
 * older row of its stream is still pending, so a resolution never overtakes its trigger.
 */

export interface OutboxEntry {
  notification: Notification
  /** `slack[0]` */
  channel: string
  channelType: string
  /**
   * A re-send of alerts the channel already heard about (Alertmanager keep-alive): not linked to
   * the alerts, so their delivery history and incident timelines list the notifications that said
   * something new, not one row per evaluation.
   */
  resend?: boolean
}

export interface ClaimedRow {
  seq: number
  id: string
  notification: Notification
  receiver: string
  channel: string
  channelType: string
  /** attempts made before this one */
  attempts: number
}

export interface OutboxItem extends Delivery {
  title: string
  fingerprints: string[]
}

interface Row {
  seq: number
  id: string
  kind: string
  receiver: string
  channel: string
  channel_type: string
  group_key: string
  title: string
  payload: string
  status: string
  attempts: number
  created_at: number
  next_attempt_at: number
  delivered_at: number | null
  last_error: string | null
  fingerprints?: string | null
}

export function streamKey(receiver: string, channel: string, groupKey: string): string {
  return `${receiver}\u0000${channel}\u0000${groupKey}`
}

export type OutboxSelector = {ids: string[]} | {status: 'dead' | 'pending'}

export class Outbox {
  /** who holds leases taken by this instance */
  readonly owner: string

  constructor(
    private readonly db: StateDb,
    opts: {owner?: string} = {},
  ) {
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  }

  /** Write notifications (one per channel) in one transaction; returns their ids. */
  enqueue(entries: readonly OutboxEntry[], now: number): string[] {
    const insert = this.db.prepare(
      `INSERT INTO notify_outbox (id, kind, receiver, channel, channel_type, group_key, stream, title, payload, status, attempts, created_at, next_attempt_at)
       VALUES (@id, @kind, @receiver, @channel, @channel_type, @group_key, @stream, @title, @payload, 'pending', 0, @now, @now)`,
    )
    const link = this.db.prepare('INSERT OR IGNORE INTO notify_outbox_alerts (fingerprint, seq) VALUES (?, ?)')
    const ids: string[] = []
    this.db
      .transaction(() => {
        for (const e of entries) {
          const n = e.notification
          const {lastInsertRowid} = insert.run({
            id: n.id,
            kind: n.kind,
            receiver: n.receiver,
            channel: e.channel,
            channel_type: e.channelType,
            group_key: n.groupKey,
            stream: streamKey(n.receiver, e.channel, n.groupKey),
            title: notificationTitle(n),
            payload: JSON.stringify(n),
            now,
          })
          if (!e.resend) for (const a of n.alerts) link.run(a.fingerprint, Number(lastInsertRowid))
          ids.push(n.id)
        }
      })
      .immediate()
    return ids
  }

  /**
   * Take up to `limit` due rows: pending ones whose time has come, and rows whose sender's lease
   * ran out (it crashed or hung). Atomic across processes (an IMMEDIATE transaction).
   */
  claimDue(now: number, opts: {limit: number; leaseMs: number}): ClaimedRow[] {
    const select = this.db.prepare(
      `SELECT seq, id, receiver, channel, channel_type, payload, attempts FROM notify_outbox o
       WHERE ((o.status = 'pending' AND o.next_attempt_at <= @now) OR (o.status = 'sending' AND o.lease_until <= @now))
         AND NOT EXISTS (SELECT 1 FROM notify_outbox p WHERE p.stream = o.stream AND p.seq < o.seq AND p.status IN ('pending', 'sending'))
       ORDER BY o.next_attempt_at, o.seq LIMIT @limit`,
    )
    const lease = this.db.prepare(`UPDATE notify_outbox SET status = 'sending', lease_owner = ?, lease_until = ? WHERE seq = ?`)
    return this.db
      .transaction(() => {
        const rows = select.all({now, limit: opts.limit}) as Array<Pick<Row, 'seq' | 'id' | 'receiver' | 'channel' | 'channel_type' | 'payload' | 'attempts'>>
        for (const r of rows) lease.run(this.owner, now + opts.leaseMs, r.seq)
        return rows.map((r) => ({
          seq: r.seq,
          id: r.id,
          notification: JSON.parse(r.payload) as Notification,
          receiver: r.receiver,
          channel: r.channel,
          channelType: r.channel_type,
          attempts: r.attempts,
        }))
      })
      .immediate()
  }

  private recordAttempt(seq: number, a: DeliveryAttempt): void {
    const next = (this.db.prepare('SELECT COALESCE(MAX(attempt), 0) + 1 AS n FROM notify_attempts WHERE seq = ?').get(seq) as {n: number}).n
    this.db.prepare('INSERT INTO notify_attempts (seq, attempt, at, duration_ms, result, error) VALUES (?, ?, ?, ?, ?, ?)').run(seq, next, a.at, a.durationMs, a.result, a.error ?? null)
  }

  /** False when the lease was lost meanwhile (another sender took the row over). */
  markDelivered(row: Pick<ClaimedRow, 'seq'>, now: number, durationMs: number): boolean {
    return this.db
      .transaction(() => {
        this.recordAttempt(row.seq, {at: now, durationMs, result: 'delivered'})
        const changed = this.db
          .prepare(
            `UPDATE notify_outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL, last_error = NULL
             WHERE seq = ? AND status = 'sending' AND lease_owner = ?`,
          )
          .run(now, now, row.seq, this.owner).changes
        return changed > 0
      })
      .immediate()
  }

  /** Hands a claimed row back unsent and unchanged (HA mode: this process lost the notifier lease). */
  release(row: Pick<ClaimedRow, 'seq'>): void {
    this.db.prepare(`UPDATE notify_outbox SET status = 'pending', lease_owner = NULL, lease_until = NULL WHERE seq = ? AND status = 'sending' AND lease_owner = ?`).run(row.seq, this.owner)
  }

  /**
   * HA mode, on becoming the notifier: group notifications (firing, resolved) still unsent were
   * decided without what the other daemons delivered meanwhile; they are dropped (kept, for the
   * record) and decided again from the shared notification log. Acknowledgement and escalation
   * notifications queued while another daemon was the notifier were that daemon's to send (every
   * daemon applies a shared ack and queues its notification; only the notifier sends): dropped
   * too, so a takeover never sends them a second time. Returns how many.
   */
  dropQueuedBeforeTakeover(now: number): number {
    return this.db
      .prepare(`UPDATE notify_outbox SET status = 'dropped', finished_at = ?, lease_owner = NULL, lease_until = NULL, last_error = 'superseded: another daemon was the notifier' WHERE status IN ('pending', 'sending') AND kind IN ('firing', 'resolved', 'acknowledged', 'escalation')`)
      .run(now).changes
  }

  markRetry(row: Pick<ClaimedRow, 'seq'>, now: number, opts: {error: string; retryAt: number; durationMs: number}): void {
    this.db
      .transaction(() => {
        this.recordAttempt(row.seq, {at: now, durationMs: opts.durationMs, result: 'retry', error: opts.error})
        this.db
          .prepare(
            `UPDATE notify_outbox SET status = 'pending', attempts = attempts + 1, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, last_error = ?
             WHERE seq = ? AND status = 'sending' AND lease_owner = ?`,
          )
          .run(opts.retryAt, opts.error, row.seq, this.owner)
      })
      .immediate()
  }

  markDead(row: Pick<ClaimedRow, 'seq'>, now: number, opts: {error: string; durationMs: number}): void {
    this.db
      .transaction(() => {
        this.recordAttempt(row.seq, {at: now, durationMs: opts.durationMs, result: 'dead', error: opts.error})
        this.db
          .prepare(
            `UPDATE notify_outbox SET status = 'dead', attempts = attempts + 1, finished_at = ?, lease_owner = NULL, lease_until = NULL, last_error = ?
             WHERE seq = ? AND status = 'sending' AND lease_owner = ?`,
          )
          .run(now, opts.error, row.seq, this.owner)
      })
      .immediate()
  }

  private attemptsOf(seq: number): DeliveryAttempt[] {
    const rows = this.db.prepare('SELECT at, duration_ms, result, error FROM notify_attempts WHERE seq = ? ORDER BY attempt').all(seq) as Array<{
      at: number
      duration_ms: number
      result: DeliveryAttempt['result']
      error: string | null
    }>
    return rows.map((r) => ({at: r.at, durationMs: r.duration_ms, result: r.result, ...(r.error ? {error: r.error} : {})}))
  }

  private toItem(r: Row): OutboxItem {
    return {
      id: r.id,
      kind: r.kind as NotificationKind,
      receiver: r.receiver,
      channel: r.channel,
      channelType: r.channel_type,
      groupKey: r.group_key,
      status: r.status as OutboxStatus,
      attempts: this.attemptsOf(r.seq),
      createdAt: r.created_at,
      ...(r.delivered_at === null ? {} : {deliveredAt: r.delivered_at}),
      ...(r.status === 'pending' ? {nextAttemptAt: r.next_attempt_at} : {}),
      ...(r.last_error ? {lastError: r.last_error} : {}),
      title: r.title,
      fingerprints: r.fingerprints ? r.fingerprints.split(',') : [],
    }
  }

  /** Newest first. */
  list(opts: {status?: OutboxStatus | 'all' | 'undelivered'; limit?: number} = {}): OutboxItem[] {
    const status = opts.status ?? 'all'
    const where = status === 'all' ? '' : status === 'undelivered' ? `WHERE o.status IN ('pending', 'sending', 'dead')` : 'WHERE o.status = @status'
    const rows = this.db
      .prepare(
        `SELECT o.*, (SELECT group_concat(fingerprint) FROM notify_outbox_alerts a WHERE a.seq = o.seq) AS fingerprints
         FROM notify_outbox o ${where} ORDER BY o.seq DESC LIMIT @limit`,
      )
      .all({status, limit: opts.limit ?? 100}) as Row[]
    return rows.map((r) => this.toItem(r))
  }

  /** Every delivery about one alert, oldest first (`mon alerts show`). */
  deliveriesFor(fingerprint: string): Delivery[] {
    const rows = this.db
      .prepare('SELECT o.* FROM notify_outbox o JOIN notify_outbox_alerts a ON a.seq = o.seq WHERE a.fingerprint = ? ORDER BY o.seq')
      .all(fingerprint) as Row[]
    return rows.map((r) => {
      const {title: _t, fingerprints: _f, ...delivery} = this.toItem(r)
      return delivery
    })
  }

  /** The channels that were told an alert fires (to tell them it is acknowledged). */
  notifiedChannelsFor(fingerprint: string): Array<{receiver: string; channel: string; channelType: string; groupKey: string; groupLabels: Record<string, string>}> {
    const rows = this.db
      .prepare(
        `SELECT o.receiver, o.channel, o.channel_type, o.group_key, MAX(o.seq) AS seq FROM notify_outbox o JOIN notify_outbox_alerts a ON a.seq = o.seq
         WHERE a.fingerprint = ? AND o.kind IN ('firing', 'escalation') AND o.status IN ('pending', 'sending', 'delivered')
         GROUP BY o.receiver, o.channel, o.group_key ORDER BY MIN(o.seq)`,
      )
      .all(fingerprint) as Array<{receiver: string; channel: string; channel_type: string; group_key: string; seq: number}>
    return rows.map((r) => {
      const payload = this.db.prepare('SELECT payload FROM notify_outbox WHERE seq = ?').get(r.seq) as {payload: string}
      return {receiver: r.receiver, channel: r.channel, channelType: r.channel_type, groupKey: r.group_key, groupLabels: (JSON.parse(payload.payload) as Notification).groupLabels}
    })
  }

  /** Resolve ids and unique id prefixes (at least 4 characters) to row numbers. */
  private resolveIds(ids: readonly string[]): number[] {
    const out: number[] = []
    for (const id of ids) {
      const exact = this.db.prepare('SELECT seq FROM notify_outbox WHERE id = ?').get(id) as {seq: number} | undefined
      if (exact) {
        out.push(exact.seq)
        continue
      }
      const rows = id.length >= 4 ? (this.db.prepare("SELECT seq FROM notify_outbox WHERE id LIKE ? ESCAPE '\\' LIMIT 2").all(id.replace(/[\\%_]/g, '\\$&') + '%') as Array<{seq: number}>) : []
      if (rows.length === 0) throw new InputError(`no notification with id '${id}' in the outbox`, {hint: 'list them with: mon notify outbox --status all'})
      if (rows.length > 1) throw new InputError(`notification id prefix '${id}' is ambiguous`, {hint: 'give more characters of the id'})
      out.push(rows[0]!.seq)
    }
    return out
  }

  /**
   * Send again: dead (or dropped) rows become pending, due now, with a fresh attempt budget (their
   * attempt history stays). Pending rows are made due now. Returns how many rows changed.
   */
  retry(selector: OutboxSelector, now: number): number {
    return this.db
      .transaction(() => {
        const seqs = this.seqsOf(selector)
        const update = this.db.prepare(
          `UPDATE notify_outbox SET status = 'pending', attempts = CASE WHEN status = 'pending' THEN attempts ELSE 0 END, next_attempt_at = ?, finished_at = NULL
           WHERE seq = ? AND status IN ('dead', 'dropped', 'pending')`,
        )
        let changed = 0
        for (const seq of seqs) changed += update.run(now, seq).changes
        return changed
      })
      .immediate()
  }

  /** The rows a selector names: its ids (unique prefixes), or every row in its status. */
  private seqsOf(selector: OutboxSelector): number[] {
    if ('ids' in selector) return this.resolveIds(selector.ids)
    return (this.db.prepare('SELECT seq FROM notify_outbox WHERE status = ?').all(selector.status) as Array<{seq: number}>).map((r) => r.seq)
  }

  /** Give up on rows (pending or dead): they are kept, as `dropped`, for the record. */
  drop(selector: OutboxSelector, now: number): number {
    return this.db
      .transaction(() => {
        const seqs = this.seqsOf(selector)
        const update = this.db.prepare(
          `UPDATE notify_outbox SET status = 'dropped', finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE seq = ? AND status IN ('pending', 'sending', 'dead')`,
        )
        let changed = 0
        for (const seq of seqs) changed += update.run(now, seq).changes
        return changed
      })
      .immediate()
  }

  /** Whether a row of this stream is still waiting to be sent (or being sent). */
  hasUndelivered(stream: string): boolean {
    return this.db.prepare(`SELECT 1 FROM notify_outbox WHERE stream = ? AND status IN ('pending', 'sending') LIMIT 1`).get(stream) !== undefined
  }

  /**
   * Delete the stream's delivered re-sends (firing rows linked to no alert: see OutboxEntry.resend),
   * superseded by a newer one. Dead and unsent rows stay.
   */
  deleteDeliveredResends(stream: string): number {
    return this.db
      .prepare(
        `DELETE FROM notify_outbox WHERE stream = ? AND status = 'delivered' AND kind = 'firing'
           AND NOT EXISTS (SELECT 1 FROM notify_outbox_alerts a WHERE a.seq = notify_outbox.seq)`,
      )
      .run(stream).changes
  }

  counts(): Record<OutboxStatus, number> {
    const out: Record<OutboxStatus, number> = {pending: 0, sending: 0, delivered: 0, dead: 0, dropped: 0}
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM notify_outbox GROUP BY status').all() as Array<{status: OutboxStatus; n: number}>) out[r.status] = r.n
    return out
  }

  /** When the next row falls due (a pending retry, or a lease that runs out). */
  nextDueAt(): number | undefined {
    const r = this.db
      .prepare(`SELECT MIN(t) AS t FROM (SELECT MIN(next_attempt_at) AS t FROM notify_outbox WHERE status = 'pending' UNION ALL SELECT MIN(lease_until) FROM notify_outbox WHERE status = 'sending')`)
      .get() as {t: number | null}
    return r.t ?? undefined
  }

  /** Delete finished rows (delivered, dead, dropped) older than `before`. */
  purge(before: number): number {
    return this.db.prepare(`DELETE FROM notify_outbox WHERE status IN ('delivered', 'dead', 'dropped') AND COALESCE(finished_at, created_at) < ?`).run(before).changes
  }
}
