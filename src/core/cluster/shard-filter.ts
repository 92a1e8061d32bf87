import type {Clock} from '../clock.js'
import type {ShardFilter} from '../collectors/types.js'
import {parseDuration} from '../config/duration.js'
import type {MonConfig} from '../config/schema.js'
import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import type {Timer} from '../scheduler/timer.js'
import {Membership, type MembershipStatus} from './membership.js'
import {clusterNames, connectNats, memberId} from './nats.js'
import {parseShardMode, staticShard} from './sharding.js'
import type {NatsConnection} from 'nats'

export interface ShardingStatus {
  mode: 'static' | 'auto'
  /** static: `i/N` */
  shard?: string
  membership?: MembershipStatus
}

/** The scrape-sharding part of a collecting process (the agent starts and stops it). */
export interface Sharding {
  filter: ShardFilter
  start(): Promise<void>
  stop(): Promise<void>
  status(): ShardingStatus
}

/**
 * The shard filter `cluster.sharding.mode` asks for: none (`off`, or the cluster disabled), a
 * static `i/N` hashmod, or `auto` — membership through a JetStream KV bucket. `once`: a one-shot
 * run (`mon collect --once`, cron mode) cannot take part in membership, so `auto` scrapes every
 * target there (static shards work the same in both).
 */
export function createSharding(config: MonConfig, opts: {clock: Clock; timer: Timer; log: Logger; once?: boolean}): Sharding | undefined {
  const cluster = config.cluster
  if (!cluster.enabled) return undefined
  const mode = parseShardMode(cluster.sharding.mode)
  if (!mode || mode.kind === 'off') return undefined
  if (mode.kind === 'static') {
    const filter = staticShard(mode.index, mode.total)
    return {filter, start: async () => {}, stop: async () => {}, status: () => ({mode: 'static', shard: filter.describe()})}
  }
  if (opts.once) {
    opts.log.warn('cluster.sharding.mode auto needs a long-running collector; this one-shot run scrapes every target')
    return undefined
  }
  const names = clusterNames(cluster)
  const member = memberId(cluster, config.host)
  const heartbeatMs = parseDuration(cluster.sharding.heartbeat)
  const timeoutMs = parseDuration(cluster.sharding.timeout)
  let nc: NatsConnection | undefined
  let membership: Membership | undefined
  let stopped = false
  let retry: ReturnType<Timer['setTimeout']> | undefined
  // until this member has joined (NATS unreachable at start), it scrapes every target: duplicates
  // rather than gaps, as a member cut off later does
  const filter: ShardFilter = {owns: (key, at) => membership?.owns(key, at) ?? true}
  const log = opts.log.child({component: 'sharding'})
  const join = async () => {
    const conn = await connectNats(cluster.nats, {name: `mon-collect-${member}`})
    if (stopped) {
      await conn.close().catch(() => {})
      return
    }
    nc = conn
    const {jetStreamMemberRegistry} = await import('./jetstream-members.js')
    const registry = jetStreamMemberRegistry(conn, {
      bucket: names.membersBucket,
      replicas: cluster.stream.replicas,
      // records of members gone for good disappear; far longer than any liveness question
      ttlMs: Math.max(10 * timeoutMs, 3_600_000),
      timeoutMs: parseDuration(cluster.nats.timeout),
    })
    const m = new Membership({registry, member, heartbeatMs, timeoutMs, clock: opts.clock, timer: opts.timer, log, host: config.host})
    await m.start()
    membership = m
    log.info('joined the cluster for scrape sharding', {member, members: m.aliveAt(opts.clock.now())})
  }
  const tryJoin = async () => {
    retry = undefined
    try {
      await join()
    } catch (err) {
      log.warn('cannot join the cluster; scraping every target until NATS answers', {error: errorMessage(err)})
      if (!stopped) retry = opts.timer.setTimeout(() => void tryJoin(), Math.max(heartbeatMs, 1000))
    }
  }
  return {
    filter,
    start: tryJoin,
    async stop() {
      stopped = true
      if (retry) opts.timer.clearTimeout(retry)
      await membership?.stop()
      await nc?.close().catch(() => {})
    },
    status: () => ({mode: 'auto', ...(membership ? {membership: membership.status()} : {})}),
  }
}
