import {randomUUID} from 'node:crypto'
import type {Clock} from '../clock.js'
import type {ShardFilter} from '../collectors/types.js'
import {errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {Timer, TimerHandle} from '../scheduler/timer.js'
import {rendezvousOwner} from './sharding.js'

/**
 * Who is in the cluster, as every member computes it (docs/cluster.md#sharding). Each member
 * writes only its own record — when it counts from (`since`) and when it was last heard (`seen`) —
 * every `heartbeat`, and reads everyone's. No compare-and-set anywhere, so nats-server 2.9's
 * clustered-KV CAS race (nats-server#4320) cannot bite.
 *
 * A member is alive at instant t when `since ≤ t ≤ seen + timeout` (or `≤ left` after a clean
 * stop). Ownership of a target at t is rendezvous hashing over the members alive at t, and a run
 * asks for the start of its interval — so two members deciding at different moments of one interval
 * decide for the same instant, and a handoff happens at an interval boundary, never inside one:
 * - a joining member counts from `since = first heartbeat + settle` (2 heartbeats), by when every
 *   member has read its record, so the old owner stops and the new one starts at the same boundary;
 * - a member that dies stops being heard; the others take its targets at `seen + timeout` (the
 *   orphan window is at most `timeout`, plus the rest of one interval);
 * - a member that stops cleanly writes `left`, and its targets move at the next interval;
 * - a member restarted within `timeout` keeps its incarnation (nobody took its targets).
 * A member cut off from NATS keeps counting itself alive and, as it hears nobody, ends up scraping
 * everything: availability over uniqueness while partitioned (duplicates, never gaps).
 * Clocks are assumed NTP-close: skew between members shifts these instants by the skew.
 */

export interface MemberRecord {
  member: string
  /** an id per process start: a restart after `timeout` is a new incarnation */
  incarnation: string
  /** alive from this instant (ms) */
  since: number
  /** last heartbeat (ms, the member's clock) */
  seen: number
  /** set by a clean stop: alive until this instant */
  left?: number
  pid?: number
  host?: string
}

/** Where member records live (a JetStream KV bucket: jetstream-members.ts); queue-agnostic. */
export interface MemberRegistry {
  put(rec: MemberRecord): Promise<void>
  list(): Promise<MemberRecord[]>
  close(): Promise<void>
}

export interface MembershipOptions {
  registry: MemberRegistry
  member: string
  heartbeatMs: number
  timeoutMs: number
  clock: Clock
  timer: Timer
  log?: Logger
  host?: string
}

export interface MemberView {
  member: string
  since: number
  seen: number
  left?: number
  alive: boolean
  self: boolean
}

export interface MembershipStatus {
  member: string
  heartbeatMs: number
  timeoutMs: number
  /** the last heartbeat that reached the registry (ms) */
  lastHeartbeat?: number
  lastError?: string
  members: MemberView[]
}

export class Membership implements ShardFilter {
  private readonly self: MemberRecord
  private view = new Map<string, MemberRecord>()
  private handle: TimerHandle | undefined
  private stopped = true
  private lastOk: number | undefined
  private lastError: string | undefined
  private tick: Promise<void> = Promise.resolve()
  /** owner memo per live-set (a view changes rarely; runs ask for the same keys every interval) */
  private memo = new Map<string, Map<string, string | undefined>>()

  constructor(private readonly opts: MembershipOptions) {
    const now = opts.clock.now()
    this.self = {member: opts.member, incarnation: randomUUID(), since: now, seen: now, pid: process.pid, ...(opts.host ? {host: opts.host} : {})}
  }

  private get settleMs(): number {
    return 2 * this.opts.heartbeatMs
  }

  /** Joins: reads the members, writes this one's record, then heartbeats until stop(). */
  async start(): Promise<void> {
    this.stopped = false
    const now = this.opts.clock.now()
    try {
      const records = await this.opts.registry.list()
      this.setView(records)
      const mine = records.find((r) => r.member === this.opts.member)
      const othersAlive = records.some((r) => r.member !== this.opts.member && memberAliveAt(r, now, this.opts.timeoutMs))
      if (mine && mine.left === undefined && mine.seen + this.opts.timeoutMs >= now) {
        // restarted within the timeout: nobody took over, carry on as the same incarnation
        this.self.incarnation = mine.incarnation
        this.self.since = mine.since
      } else {
        // nobody to take targets from → count at once; otherwise after everyone has read us
        this.self.since = othersAlive ? now + this.settleMs : now
      }
    } catch (err) {
      this.lastError = errorMessage(err)
      this.opts.log?.warn('cluster membership: cannot read members; scraping as if alone until NATS answers', {error: this.lastError})
    }
    await this.beat()
    this.arm()
  }

  private arm(): void {
    if (this.stopped) return
    this.handle = this.opts.timer.setTimeout(() => {
      this.handle = undefined
      this.tick = this.beat().finally(() => this.arm())
    }, this.opts.heartbeatMs)
  }

  private async beat(): Promise<void> {
    const now = this.opts.clock.now()
    if (this.lastOk !== undefined && now - this.lastOk > this.opts.timeoutMs && this.self.since < now) {
      // unheard for longer than the timeout: the others have dropped us; rejoin as a new incarnation
      this.self.incarnation = randomUUID()
      this.self.since = now + this.settleMs
    }
    this.self.seen = now
    try {
      await this.opts.registry.put({...this.self})
      this.lastOk = now
      this.setView(await this.opts.registry.list())
      this.lastError = undefined
    } catch (err) {
      const msg = errorMessage(err)
      if (msg !== this.lastError) this.opts.log?.warn('cluster membership: heartbeat failed', {error: msg})
      this.lastError = msg
    }
  }

  private setView(records: MemberRecord[]): void {
    const next = new Map(records.filter((r) => r.member !== this.opts.member).map((r) => [r.member, r]))
    const key = (m: Map<string, MemberRecord>) => JSON.stringify([...m.values()].map((r) => [r.member, r.incarnation, r.since, r.left]).sort())
    if (key(next) !== key(this.view)) this.memo.clear()
    this.view = next
  }

  /** The members alive at instant `at` (this one counts itself from `since`), sorted. */
  aliveAt(at: number): string[] {
    const out: string[] = []
    if (at >= this.self.since && (this.self.left === undefined || at <= this.self.left)) out.push(this.opts.member)
    for (const r of this.view.values()) if (memberAliveAt(r, at, this.opts.timeoutMs)) out.push(r.member)
    return out.sort()
  }

  owner(key: string, at: number): string | undefined {
    const alive = this.aliveAt(at)
    const setKey = alive.join('\n')
    let owners = this.memo.get(setKey)
    if (!owners) {
      if (this.memo.size > 64) this.memo.clear()
      this.memo.set(setKey, (owners = new Map()))
    }
    if (owners.has(key)) return owners.get(key)
    const owner = rendezvousOwner(key, alive)
    owners.set(key, owner)
    return owner
  }

  owns(key: string, at: number): boolean {
    return this.owner(key, at) === this.opts.member
  }

  status(): MembershipStatus {
    const now = this.opts.clock.now()
    const records = [{...this.self}, ...this.view.values()]
    return {
      member: this.opts.member,
      heartbeatMs: this.opts.heartbeatMs,
      timeoutMs: this.opts.timeoutMs,
      ...(this.lastOk !== undefined ? {lastHeartbeat: this.lastOk} : {}),
      ...(this.lastError ? {lastError: this.lastError} : {}),
      members: records
        .map((r) => ({
          member: r.member,
          since: r.since,
          seen: r.seen,
          ...(r.left !== undefined ? {left: r.left} : {}),
          alive: r.member === this.opts.member ? !this.stopped && now >= r.since : memberAliveAt(r, now, this.opts.timeoutMs),
          self: r.member === this.opts.member,
        }))
        .sort((a, b) => a.member.localeCompare(b.member)),
    }
  }

  /** Leaves cleanly: the record says `left`, so the others take the targets at the next interval. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.handle) this.opts.timer.clearTimeout(this.handle)
    this.handle = undefined
    await this.tick
    const now = this.opts.clock.now()
    this.self.left = now
    this.self.seen = now
    try {
      await this.opts.registry.put({...this.self})
    } catch (err) {
      this.opts.log?.warn('cluster membership: could not record leaving; the others take over after the timeout', {error: errorMessage(err)})
    }
    await this.opts.registry.close()
  }
}

/** Whether the member of record `r` counts at instant `at` (the rule every member and `mon status` apply). */
export function memberAliveAt(r: MemberRecord, at: number, timeoutMs: number): boolean {
  if (at < r.since) return false
  if (r.left !== undefined) return at <= r.left
  return at <= r.seen + timeoutMs
}
