import type {Alert, AlertSink} from '../../alerting/types.js'
import type {Clock} from '../../clock.js'
import {silentLogger, type Logger} from '../../log.js'
import type {StateDb} from '../../state/db.js'
import {enqueueAcknowledgement} from './ack.js'
import {EscalationStore, dueStep, escalationMessage, type EscalationRecord} from './escalation.js'
import {NotificationLog} from './nflog.js'
import {buildNotification} from './notification.js'
import type {ChannelInstance, CompiledNotify} from '../notifier.js'
import {Outbox, streamKey, type OutboxEntry} from './outbox.js'
import {groupKeyFor, groupLabelsFor, matchRoutes, routeMutedBy, type CompiledRoute} from '../route/router.js'
import {Sender, type FlushResult, type SendGate} from './sender.js'
import {silenceMatches, Silences, type Silence} from '../mute/silences.js'
import {noAcks, toNotificationAlert, type AckState, type NotificationAlert, type NotificationKind} from '../types.js'

/**
 * From alerts to outbox rows, with Alertmanager's timing: each alert goes down the route tree into
 * groups (route + group_by labels); a new group waits `group_wait` before its first notification,
 * then is looked at every `group_interval`; a channel hears about a group when an alert is new to
 * it or resolved (with `send_resolved`), and again after `repeat_interval` while anything unacked
 * fires. Silenced and inhibited alerts are left out; a muted route sends nothing until the mute
 * ends. Escalation steps fire from tick() too. Channels that expire what they stop hearing about
 * (Alertmanager) also get every firing alert they were told about after each evaluation, as
 * Prometheus re-sends to Alertmanager, so a long repeat_interval never lets them resolve it.
 *
 * Nothing here sleeps: push() is called by the engine after each evaluation, tick(now) by the
 * daemon on a timer (and by tests with a ManualClock).
 */

export interface DispatcherOptions {
  notify: CompiledNotify
  /** state.db opened with NOTIFY_MIGRATIONS */
  db: StateDb
  clock: Clock
  log?: Logger
  ackState?: AckState
  /** values scrubbed from recorded errors */
  secrets?: readonly string[]
  /** injectable jitter for the sender's backoff */
  random?: () => number
  /** outbox lease owner name (default: host:pid:random) */
  owner?: string
  /** HA mode: the notifier lease's check before each send (docs/cluster.md#notifications) */
  gate?: SendGate
}

export interface TickResult extends FlushResult {
  /** outbox rows written in this tick */
  enqueued: number
}

interface AggregationGroup {
  id: string
  route: CompiledRoute
  groupKey: string
  groupLabels: Record<string, string>
  alerts: Map<string, Alert>
  nextFlushAt: number
}

const PURGE_EVERY_MS = 3_600_000
const MIN_LOG_RETENTION_MS = 5 * 86_400_000

export class Dispatcher implements AlertSink {
  readonly outbox: Outbox
  readonly silences: Silences
  readonly sender: Sender
  private readonly nflog: NotificationLog
  private readonly escalationStore: EscalationStore
  private readonly log: Logger
  private readonly acks: AckState
  private readonly groups = new Map<string, AggregationGroup>()
  /** every alert firing now, by fingerprint (the inhibition sources) */
  private readonly firing = new Map<string, Alert>()
  private enqueued = 0
  private lastPurge = 0
  /** per outbox stream of a re-sent channel: when it was last re-sent */
  private readonly lastResendAt = new Map<string, number>()

  constructor(private readonly opts: DispatcherOptions) {
    this.log = opts.log ?? silentLogger
    this.acks = opts.ackState ?? noAcks
    this.outbox = new Outbox(opts.db, {owner: opts.owner})
    this.silences = new Silences(opts.db)
    this.nflog = new NotificationLog(opts.db)
    this.escalationStore = new EscalationStore(opts.db)
    this.sender = new Sender({
      outbox: this.outbox,
      resolveChannel: (receiver, key) => {
        try {
          return opts.notify.channel(receiver, key)?.channel()
        } catch (err) {
          this.log.error('cannot create channel', {receiver, channel: key, error: (err as Error).message})
          return undefined
        }
      },
      clock: opts.clock,
      policy: opts.notify.policy,
      log: this.log,
      secrets: opts.secrets,
      random: opts.random,
      gate: opts.gate,
    })
  }

  /** The engine's hand-off: firing alerts and those resolved in this evaluation. */
  push(alerts: Alert[], now: number = this.opts.clock.now()): void {
    const root = this.opts.notify.root
    const touched = new Set<AggregationGroup>()
    for (const alert of alerts) {
      if (alert.state === 'firing') this.firing.set(alert.fingerprint, alert)
      else if (alert.state === 'resolved') this.firing.delete(alert.fingerprint)
      else continue
      if (!root) continue
      for (const route of matchRoutes(root, alert.labels)) {
        const groupLabels = groupLabelsFor(route, alert.labels)
        const groupKey = groupKeyFor(route, groupLabels)
        const id = `${route.id}\u0000${groupKey}`
        let group = this.groups.get(id)
        if (!group) {
          // A resolution only matters to a group that told someone the alert fired.
          if (alert.state === 'resolved' && !this.nflog.notifiedFiring(route.id, groupKey, alert.fingerprint) && this.escalationStore.forAlert(alert.fingerprint, route.id).length === 0) continue
          // An alert older than group_wait (e.g. after a restart) need not wait again.
          const since = alert.firedAt ?? alert.activeAt
          const nextFlushAt = alert.state === 'resolved' || since + route.groupWaitMs <= now ? now : now + route.groupWaitMs
          group = {id, route, groupKey, groupLabels, alerts: new Map(), nextFlushAt}
          this.groups.set(id, group)
        }
        group.alerts.set(alert.fingerprint, alert)
        touched.add(group)
      }
    }
    this.resend(touched, now)
  }

  /**
   * After an evaluation, re-send to channels with a resend interval (Alertmanager) the firing alerts
   * each was already told about, so it keeps them active (endsAt moves forward with every send).
   * New alerts still wait for the group's flush (group_wait / group_interval); a stream with a row
   * still unsent gets nothing more (no pile-up while the receiver is down); a re-send replaces the
   * stream's delivered ones, so the outbox holds one per stream, not one per evaluation (also
   * across restarts and cron runs).
   */
  private resend(groups: Iterable<AggregationGroup>, now: number): void {
    let silences: Silence[] | undefined
    const entries: OutboxEntry[] = []
    for (const group of groups) {
      const {route} = group
      const channels = this.channelsOf(route.receiver).filter((inst) => inst.resendIntervalMs !== undefined)
      if (channels.length === 0 || routeMutedBy(route, this.opts.notify.intervals, now)) continue
      silences ??= this.silences.active(now)
      const firing = [...group.alerts.values()].filter((a) => a.state === 'firing' && !this.isSuppressed(a, silences!))
      for (const inst of channels) {
        const last = this.nflog.get({routeId: route.id, groupKey: group.groupKey, receiver: route.receiver, channel: inst.key})
        if (!last) continue // not told anything yet: the group's first flush does that
        const told = new Set(last.firing)
        const known = firing.filter((a) => told.has(a.fingerprint))
        if (known.length === 0) continue
        const stream = streamKey(route.receiver, inst.key, group.groupKey)
        if (now - Math.max(this.lastResendAt.get(stream) ?? 0, last.notifiedAt) < inst.resendIntervalMs!) continue
        if (this.outbox.hasUndelivered(stream)) continue
        this.outbox.deleteDeliveredResends(stream)
        entries.push({...this.entry(inst, 'firing', group, known.map((a) => this.notificationAlert(a)), now), resend: true})
        this.lastResendAt.set(stream, now)
      }
    }
    this.enqueue(entries, now)
  }

  /**
   * Do what is due at `now`: flush groups, take escalation steps, send outbox rows. Awaits the
   * sends (each bounded by its channel's timeout).
   */
  async tick(now: number = this.opts.clock.now()): Promise<TickResult> {
    const before = this.enqueued
    for (const group of [...this.groups.values()]) if (group.nextFlushAt <= now) this.flushGroup(group, now)
    this.runEscalations(now)
    if (now - this.lastPurge >= PURGE_EVERY_MS) this.purge(now)
    const sent = await this.sender.flush(now)
    return {...sent, enqueued: this.enqueued - before}
  }

  /** When tick() next has something to do (a group flush, an escalation step or an outbox retry). */
  nextWakeAt(): number | undefined {
    const times: number[] = [...this.groups.values()].map((g) => g.nextFlushAt)
    const due = this.outbox.nextDueAt()
    if (due !== undefined) times.push(due)
    for (const r of this.escalationStore.active()) {
      const step = this.opts.notify.escalations.get(r.policy)?.steps[r.nextStep]
      if (step) times.push(r.startedAt + step.afterMs)
    }
    return times.length > 0 ? Math.min(...times) : undefined
  }

  /** The incident workflow's entry point: an alert was acknowledged (see {@link enqueueAcknowledgement}). */
  notifyAcknowledged(alert: Alert, by: string, comment?: string, now: number = this.opts.clock.now()): string[] {
    const {ids} = enqueueAcknowledgement({notify: this.opts.notify, db: this.opts.db, outbox: this.outbox, alert, by, comment, now})
    this.enqueued += ids.length
    return ids
  }

  /** The aggregation groups held in memory (for debugging and `mon top`). */
  groupsView(): Array<{routeId: string; groupKey: string; receiver: string; alerts: string[]; nextFlushAt: number}> {
    return [...this.groups.values()].map((g) => ({routeId: g.route.id, groupKey: g.groupKey, receiver: g.route.receiver, alerts: [...g.alerts.keys()], nextFlushAt: g.nextFlushAt}))
  }

  /** Stop sending (in-flight sends are aborted and retried later). */
  close(): void {
    this.sender.abort()
  }

  private channelsOf(receiver: string): ChannelInstance[] {
    return this.opts.notify.receivers.get(receiver) ?? []
  }

  private isSuppressed(alert: Alert, silences: Silence[]): boolean {
    if (silences.some((s) => silenceMatches(s, alert.labels))) return true
    return this.opts.notify.inhibitor.inhibitedBy(alert, this.firing.values()) !== undefined
  }

  private notificationAlert(a: Alert): NotificationAlert {
    return toNotificationAlert(a, a.state === 'firing' ? this.acks.ackedBy(a.fingerprint) : undefined)
  }

  private enqueue(entries: OutboxEntry[], now: number): void {
    if (entries.length === 0) return
    this.outbox.enqueue(entries, now)
    this.enqueued += entries.length
  }

  private entry(inst: ChannelInstance, kind: NotificationKind, group: Pick<AggregationGroup, 'groupKey' | 'groupLabels'>, alerts: NotificationAlert[], now: number, message?: string): OutboxEntry {
    return {
      notification: buildNotification({kind, receiver: inst.receiver, groupKey: group.groupKey, groupLabels: group.groupLabels, alerts, now, externalURL: this.opts.notify.externalURL, message}),
      channel: inst.key,
      channelType: inst.type,
    }
  }

  private flushGroup(group: AggregationGroup, now: number): void {
    const {route} = group
    // keep the group's cadence (first flush + k·group_interval) even when a tick comes late
    const behind = Math.floor((now - group.nextFlushAt) / route.groupIntervalMs) + 1
    group.nextFlushAt += Math.max(1, behind) * route.groupIntervalMs
    const mutedBy = routeMutedBy(route, this.opts.notify.intervals, now)
    if (mutedBy) {
      // resolved alerts stay in the group, so their resolution goes out when the mute ends
      this.log.debug('group muted', {group: group.groupKey, mutedBy})
      return
    }

    const silences = this.silences.active(now)
    const all = [...group.alerts.values()]
    const firing = all.filter((a) => a.state === 'firing' && !this.isSuppressed(a, silences))
    const resolved = all.filter((a) => a.state === 'resolved')
    const unacked = firing.filter((a) => this.acks.ackedBy(a.fingerprint) === undefined)
    const entries: OutboxEntry[] = []

    for (const inst of this.channelsOf(route.receiver)) {
      const key = {routeId: route.id, groupKey: group.groupKey, receiver: route.receiver, channel: inst.key}
      const last = this.nflog.get(key)
      const told = new Set(last?.firing ?? [])
      const newsOfResolution = resolved.filter((a) => told.has(a.fingerprint))
      const hasNewAlert = unacked.some((a) => !told.has(a.fingerprint))
      const repeatDue = unacked.length > 0 && last !== undefined && now - last.notifiedAt >= route.repeatIntervalMs
      const sendResolution = inst.sendResolved && newsOfResolution.length > 0
      if (!hasNewAlert && !repeatDue && !sendResolution) {
        // Nothing to say; still forget alerts that stopped firing, so their return is news.
        if (last && newsOfResolution.length > 0) {
          const gone = new Set(newsOfResolution.map((a) => a.fingerprint))
          this.nflog.set(key, {...last, firing: last.firing.filter((f) => !gone.has(f))})
        }
        continue
      }
      const alerts = [...firing.map((a) => this.notificationAlert(a)), ...(inst.sendResolved ? newsOfResolution.map((a) => this.notificationAlert(a)) : [])]
      const e = this.entry(inst, firing.length > 0 ? 'firing' : 'resolved', group, alerts, now)
      e.notification.routeId = route.id
      entries.push(e)
      this.nflog.set(key, {firing: firing.map((a) => a.fingerprint), resolved: newsOfResolution.map((a) => a.fingerprint), notifiedAt: now})
    }

    const policy = route.escalation ? this.opts.notify.escalations.get(route.escalation) : undefined
    if (policy) {
      for (const a of unacked) this.escalationStore.start({fingerprint: a.fingerprint, routeId: route.id, policy: policy.name, groupKey: group.groupKey, groupLabels: group.groupLabels}, now)
    }
    for (const a of resolved) {
      // receivers this alert was escalated to hear that it resolved
      for (const esc of this.escalationStore.forAlert(a.fingerprint, route.id)) {
        for (const receiver of esc.receivers) {
          for (const inst of this.channelsOf(receiver)) if (inst.sendResolved) entries.push(this.entry(inst, 'resolved', esc, [this.notificationAlert(a)], now))
        }
        this.escalationStore.remove(a.fingerprint, route.id)
      }
      group.alerts.delete(a.fingerprint)
    }

    this.enqueue(entries, now)
    if (group.alerts.size === 0) {
      this.groups.delete(group.id)
      for (const inst of this.channelsOf(route.receiver)) this.lastResendAt.delete(streamKey(route.receiver, inst.key, group.groupKey))
    }
  }

  private runEscalations(now: number): void {
    const {notify} = this.opts
    const records = this.escalationStore.active()
    if (records.length === 0) return
    const silences = this.silences.active(now)
    // one notification per group and step, however many of its alerts escalate together
    const batches = new Map<string, {record: EscalationRecord; receiver: string; message: string; alerts: Alert[]}>()
    for (const r of records) {
      const policy = notify.escalations.get(r.policy)
      const route = notify.route(r.routeId)
      const alert = this.firing.get(r.fingerprint)
      if (!policy || !route) {
        this.escalationStore.cancel(r.fingerprint, now) // the config changed under it
        continue
      }
      if (!alert) continue // resolved: handled when its group flushes
      if (this.acks.ackedBy(r.fingerprint) !== undefined) {
        this.escalationStore.cancel(r.fingerprint, now)
        continue
      }
      if (this.isSuppressed(alert, silences) || routeMutedBy(route, notify.intervals, now)) continue
      let step: number | undefined
      while ((step = dueStep(policy, r.startedAt, r.nextStep, now)) !== undefined) {
        const receiver = policy.steps[step]!.receiver
        const key = `${r.routeId}\u0000${r.groupKey}\u0000${step}\u0000${receiver}`
        const batch = batches.get(key) ?? {record: r, receiver, message: escalationMessage(policy, step), alerts: []}
        batch.alerts.push(alert)
        batches.set(key, batch)
        this.escalationStore.advance(r, receiver, policy.steps.length, now)
      }
    }
    const entries: OutboxEntry[] = []
    for (const b of batches.values()) {
      const alerts = b.alerts.map((a) => this.notificationAlert(a))
      for (const inst of this.channelsOf(b.receiver)) entries.push(this.entry(inst, 'escalation', b.record, alerts, now, b.message))
      this.log.info('escalated', {receiver: b.receiver, group: b.record.groupKey, alerts: b.alerts.length})
    }
    this.enqueue(entries, now)
  }

  private purge(now: number): void {
    this.lastPurge = now
    const {policy} = this.opts.notify
    let maxRepeat = 0
    const walk = (r: CompiledRoute | undefined): void => {
      if (!r) return
      maxRepeat = Math.max(maxRepeat, r.repeatIntervalMs)
      r.routes.forEach(walk)
    }
    walk(this.opts.notify.root)
    this.outbox.purge(now - policy.retentionMs)
    this.nflog.purge(now - Math.max(MIN_LOG_RETENTION_MS, 2 * maxRepeat))
    this.escalationStore.purge(now - policy.retentionMs)
    this.silences.purgeExpired(now - policy.retentionMs)
  }
}
