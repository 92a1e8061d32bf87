import type {NatsConnection} from 'nats'
import {inputNames} from '../collectors/registry.js'
import {parseDuration} from '../config/duration.js'
import type {MonConfig} from '../config/schema.js'
import {errorMessage} from '../errors.js'
import {notifierStatus} from './jetstream-ha-notify.js'
import {jetStreamMemberRegistry} from './jetstream-members.js'
import {memberAliveAt, type MemberRecord} from './membership.js'
import {clusterNames, connectNats} from './nats.js'
import {parseShardMode, rendezvousOwner, staticShard} from './sharding.js'

/**
 * The cluster as `mon status` shows it (docs/cluster.md#status), read from NATS itself rather than
 * from one daemon: so it answers on any machine with the config, whichever roles run there. Members
 * (from the membership bucket), who scrapes which of this config's pull targets, every mon stream
 * (depth, replicas, leader) and its consumers (the writers' lag, each daemon's position), and the
 * current notifier (HA alerting).
 */

export interface ClusterMemberView {
  member: string
  alive: boolean
  since: number
  seen: number
  left?: number
  host?: string
}

export interface ClusterStreamView {
  name: string
  messages: number
  bytes: number
  lastSeq: number
  replicas: number
  leader?: string
  /** replicas (besides the leader) that are current */
  current: number
}

export interface ClusterConsumerView {
  stream: string
  name: string
  /** messages not yet delivered (the lag) */
  pending: number
  /** delivered, not yet acknowledged */
  ackPending: number
  redelivered: number
  /** pulls waiting (writers idle) */
  waiting: number
}

export interface ClusterStatusView {
  name: string
  servers: string[]
  /** NATS could not be asked: why */
  error?: string
  /** the server this status came from */
  server?: string
  members: ClusterMemberView[]
  sharding: {mode: string; targets: number; owners: Record<string, string[]>}
  streams: ClusterStreamView[]
  consumers: ClusterConsumerView[]
  /** HA alerting (cluster.ha.enabled): the notifier as the notify stream's order says */
  notifier?: Awaited<ReturnType<typeof notifierStatus>>
}

/** This config's pull targets as sharding names them: `prometheus:<url>`, and the input name of an HTTP or TCP check (`http:api`, `tcp[0]`). */
export function pullTargetKeys(config: MonConfig): string[] {
  const keys: string[] = []
  for (const p of config.inputs.prometheus ?? []) for (const url of p.urls ?? []) keys.push(`prometheus:${url}`)
  for (const name of inputNames(config)) if (name.startsWith('http') || name.startsWith('tcp')) keys.push(name)
  return keys
}

export async function clusterStatus(config: MonConfig, opts: {now: number; timeoutMs: number}): Promise<ClusterStatusView> {
  const cluster = config.cluster
  const names = clusterNames(cluster)
  const mode = parseShardMode(cluster.sharding.mode) ?? {kind: 'off'}
  const view: ClusterStatusView = {
    name: cluster.name,
    servers: cluster.nats.servers,
    members: [],
    sharding: {mode: mode.kind === 'static' ? `${mode.index}/${mode.total}` : mode.kind, targets: 0, owners: {}},
    streams: [],
    consumers: [],
  }
  let nc: NatsConnection | undefined
  try {
    nc = await connectNats({...cluster.nats, timeout: `${opts.timeoutMs}ms`}, {name: 'mon-status'})
    view.server = nc.info?.server_name
    const timeoutMs = parseDuration(cluster.nats.timeout)
    const registry = jetStreamMemberRegistry(nc, {bucket: names.membersBucket, replicas: cluster.stream.replicas, ttlMs: 0, timeoutMs, bindOnly: true})
    let records: MemberRecord[] = []
    try {
      records = await registry.list()
    } catch {
      // no bucket yet: no member has joined
    }
    await registry.close()
    const timeout = parseDuration(cluster.sharding.timeout)
    view.members = records
      .map((r) => ({
        member: r.member,
        alive: memberAliveAt(r, opts.now, timeout),
        since: r.since,
        seen: r.seen,
        ...(r.left !== undefined ? {left: r.left} : {}),
        ...(r.host ? {host: r.host} : {}),
      }))
      .sort((a, b) => a.member.localeCompare(b.member))
    const targets = pullTargetKeys(config)
    view.sharding.targets = targets.length
    if (mode.kind === 'auto') {
      const alive = view.members.filter((m) => m.alive).map((m) => m.member)
      for (const k of targets) {
        const owner = rendezvousOwner(k, alive) ?? '(nobody)'
        ;(view.sharding.owners[owner] ??= []).push(k)
      }
    } else if (mode.kind === 'static') {
      const shard = staticShard(mode.index, mode.total)
      view.sharding.owners[`shard ${mode.index}/${mode.total}`] = targets.filter((k) => shard.owns(k, opts.now))
    }

    const jsm = await nc.jetstreamManager({timeout: timeoutMs})
    const prefix = `${cluster.name.toUpperCase()}_`
    for await (const s of jsm.streams.list()) {
      if (!s.config.name.startsWith(prefix)) continue
      view.streams.push({
        name: s.config.name,
        messages: s.state.messages,
        bytes: s.state.bytes,
        lastSeq: s.state.last_seq,
        replicas: s.config.num_replicas,
        ...(s.cluster?.leader ? {leader: s.cluster.leader} : {}),
        current: (s.cluster?.replicas ?? []).filter((r) => r.current).length,
      })
      for await (const c of jsm.consumers.list(s.config.name)) {
        view.consumers.push({
          stream: s.config.name,
          name: c.name,
          pending: c.num_pending,
          ackPending: c.num_ack_pending,
          redelivered: c.num_redelivered,
          waiting: c.num_waiting,
        })
      }
    }
    view.streams.sort((a, b) => a.name.localeCompare(b.name))
    if (cluster.ha.enabled) view.notifier = await notifierStatus(nc, cluster, opts.now)
  } catch (err) {
    view.error = errorMessage(err)
  } finally {
    await nc?.close().catch(() => {})
  }
  return view
}
