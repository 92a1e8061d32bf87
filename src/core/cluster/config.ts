import {z} from 'zod'
import {bool, duration, int, section, size, stringList} from '../config/common.js'
import {parseShardMode} from './sharding.js'

/**
 * The `cluster:` config section (docs/cluster.md): many mon processes sharing one NATS JetStream
 * cluster. Absent or `enabled: false` → every mon runs alone, as before.
 *
 *   cluster:
 *     enabled: true
 *     nats: {servers: [nats://10.0.0.1:4222, nats://10.0.0.2:4222, nats://10.0.0.3:4222], token: ${NATS_TOKEN}}
 *     name: mon            # prefix of every stream, consumer and bucket mon creates
 *     member: web-01       # this process in the cluster (default: host, plus the role)
 *
 * Each part of the cluster mode owns one subsection: `stream`/`forward`/`writer` (agents → stream →
 * writers), `sharding` (scrape targets divided among collectors), `ha` (alerting that never
 * double-pages, shared incidents).
 */

const natsTlsSchema = section({
  ca_file: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
})

export const natsSchema = section({
  /** `nats://host:port` of one or more servers of the cluster (the client learns the rest) */
  servers: stringList.min(1, {error: 'list at least one NATS server, e.g. nats://127.0.0.1:4222'}).default(['nats://127.0.0.1:4222']),
  token: z.string().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  tls: natsTlsSchema.optional(),
  /** how long one request to JetStream (publish ack, fetch, KV op) may take before it is retried */
  timeout: duration({positive: true}).default('5s'),
})

export const clusterSchema = section({
  enabled: bool().default(false),
  nats: natsSchema.prefault({}),
  /** prefix of the streams, consumers and KV buckets (letters, digits, `_`, `-`) */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, {error: 'use letters, digits, _ and - (it names NATS streams and buckets)'})
    .default('mon'),
  /** this process's member id; default `<host>` (plus `-<role>` where one host runs several roles) */
  member: z.string().regex(/^[A-Za-z0-9_.-]+$/, {error: 'use letters, digits, ., _ and -'}).optional(),

  // ── agents → stream → writers (docs/cluster.md#pipeline) ──
  /** `mon collect` and the daemon's collector publish their spool to the points stream instead of writing the store */
  forward: bool().default(false),
  stream: section({
    replicas: int({min: 1, max: 5}).default(3),
    max_bytes: size().default('10GiB'),
    max_age: duration({positive: true}).default('7d'),
    /** the server drops a republished message id seen within this window */
    duplicate_window: duration({positive: true}).default('10m'),
  }).prefault({}),
  writer: section({
    /** messages fetched per pull */
    batch: int({min: 1, max: 10_000}).default(100),
    /** a message not acknowledged within this is redelivered to another writer */
    ack_wait: duration({positive: true}).default('30s'),
    /** fetched batches one writer process stores at once */
    concurrency: int({min: 1, max: 64}).default(2),
    /** most messages delivered and not yet acknowledged, over all writers (bounds redelivery after a crash) */
    max_ack_pending: int({min: 1, max: 1_000_000}).default(10_000),
  }).prefault({}),

  // ── scrape sharding (docs/cluster.md#sharding) ──
  sharding: section({
    /** `auto`: targets divided among the live collectors (membership through NATS); `i/N`: static; `off`: scrape everything */
    mode: z
      .string()
      .refine((m) => parseShardMode(m) !== undefined, {error: 'expected off, auto or a static shard i/N with 0 ≤ i < N (e.g. 0/3)'})
      .default('off'),
    heartbeat: duration({positive: true}).default('2s'),
    /** a member not heard from for this long is gone and its targets move */
    timeout: duration({positive: true}).default('10s'),
  }).prefault({}),

  // ── HA alerting and shared incidents (docs/cluster.md#ha) ──
  ha: section({
    enabled: bool().default(false),
    /** the notifier's lease: another daemon takes over about lease + lease/3 after the notifier stops renewing (docs/cluster.md#notifications) */
    lease: duration({positive: true}).default('15s'),
  }).prefault({}),
})

export type ClusterConfig = z.output<typeof clusterSchema>
export type NatsConfig = ClusterConfig['nats']
