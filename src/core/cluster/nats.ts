import {readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import type {ConnectionOptions, NatsConnection} from 'nats'
import {parseDuration} from '../config/duration.js'
import {UserError} from '../errors.js'
import type {ClusterConfig, NatsConfig} from './config.js'

/**
 * The one way mon connects to NATS (docs/cluster.md): the servers, credentials and TLS of
 * `cluster.nats`, reconnecting forever (a NATS outage is a state the callers ride out — the agent's
 * spool keeps the points, a writer stops fetching), and the names of everything mon creates in
 * JetStream, derived from `cluster.name` so two mon clusters can share one NATS.
 */

export interface NatsConnectOptions {
  /** the connection's name as `nats-server` shows it (`/connz`): `mon-<role>-<member>` */
  name: string
  /**
   * resolve only once connected (true), or fail fast when no server answers the first time
   * (false, the default: a command tells the user at once)
   */
  waitOnFirstConnect?: boolean
}

export function natsConnectionOptions(cfg: NatsConfig, opts: NatsConnectOptions): ConnectionOptions {
  const tls = cfg.tls
    ? {
        ...(cfg.tls.ca_file ? {ca: readFileSync(cfg.tls.ca_file, 'utf8')} : {}),
        ...(cfg.tls.cert_file ? {cert: readFileSync(cfg.tls.cert_file, 'utf8')} : {}),
        ...(cfg.tls.key_file ? {key: readFileSync(cfg.tls.key_file, 'utf8')} : {}),
      }
    : undefined
  return {
    servers: cfg.servers,
    name: opts.name,
    ...(cfg.token ? {token: cfg.token} : {}),
    ...(cfg.user ? {user: cfg.user, pass: cfg.password ?? ''} : {}),
    ...(tls ? {tls} : {}),
    timeout: parseDuration(cfg.timeout),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 250,
    pingInterval: 2000,
    maxPingOut: 3,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
  }
}

/** Connects to the cluster's NATS; an unreachable NATS is a UserError naming the servers. */
export async function connectNats(cfg: NatsConfig, opts: NatsConnectOptions): Promise<NatsConnection> {
  // the client library (~13 MiB resident) loads only in cluster mode, never in a lone daemon
  const {connect} = await import('nats')
  try {
    return await connect(natsConnectionOptions(cfg, opts))
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new UserError(`cannot connect to NATS at ${cfg.servers.join(', ')}: ${reason}`)
  }
}

/** This process's member id: `cluster.member`, else the host name (plus `-<role>` when given). */
export function memberId(cluster: ClusterConfig, host: string = hostname(), role?: string): string {
  if (cluster.member) return cluster.member
  const base = host.replace(/[^A-Za-z0-9_.-]/g, '_')
  return role ? `${base}-${role}` : base
}

/**
 * Names of what mon creates in JetStream for one cluster (`cluster.name` = prefix). Subjects use
 * the prefix in lower case, streams, consumers and buckets in upper case, as NATS users write them.
 */
export function clusterNames(cluster: Pick<ClusterConfig, 'name'>) {
  const p = cluster.name
  const up = p.toUpperCase()
  return {
    /** the points stream and its subjects (`<prefix>.points.<member>`) */
    pointsStream: `${up}_POINTS`,
    pointsSubject: (member: string) => `${p}.points.${member}`,
    pointsSubjects: `${p}.points.>`,
    /** the writers' shared durable pull consumer */
    writerConsumer: `${up}_WRITERS`,
    /** KV bucket of live members (sharding) */
    membersBucket: `${up}_MEMBERS`,
    /** the incident event stream (HA alerting, shared acks) and its subjects */
    incidentsStream: `${up}_INCIDENTS`,
    incidentsSubject: (kind: string) => `${p}.incidents.${kind}`,
    incidentsSubjects: `${p}.incidents.>`,
    /** HA notify: the stream whose total order decides the notifier and holds the delivery log */
    notifyStream: `${up}_NOTIFY`,
    notifySubjects: `${p}.notify.>`,
    /** HA notify: the notifier lease's claim/renew/release messages, and the delivered records (shared nflog) */
    notifyLeaseSubject: `${p}.notify.lease`,
    notifyLogSubject: `${p}.notify.log`,
  }
}
export type ClusterNames = ReturnType<typeof clusterNames>
