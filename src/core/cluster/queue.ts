/**
 * The queue between agents and writers (docs/cluster.md#pipeline), as a small interface so that a
 * queue other than NATS JetStream (Kafka) could follow: jetstream-points.ts is the one
 * implementation. Agents publish spool records as messages; writers fetch messages, write them to
 * the store and acknowledge them only then.
 *
 * The contract a queue must keep:
 * - {@link PointsProducer.publish} resolves only once the queue holds every message durably
 *   (replicated); a message id seen before within the queue's duplicate window is accepted without
 *   a second copy (a republish after a crash or a timeout).
 * - {@link PointsConsumer.fetch} hands out messages that stay owned by this consumer until acked,
 *   negatively acked, or until the ack wait passes (then another consumer of the group gets them).
 */
import type {SpoolPrecision} from '../pipeline/spool.js'

/** One message: line protocol of one spool record (or a line-aligned piece of a large one). */
export interface QueueMessage {
  /** deterministic: the same points always get the same id (the queue's dedup key) */
  id: string
  /** the agent that sent it (the subject suffix) */
  member: string
  /** line protocol, every line ending with `\n` */
  body: Buffer
  precision: SpoolPrecision
  points: number
  /** the agent's input the points came from (the writer's per-input counts) */
  input: string
}

export interface PublishResult {
  /** messages the queue took */
  stored: number
  /** messages the queue already had (same id within the duplicate window): not stored twice */
  duplicates: number
}

/** The agent's side. */
export interface PointsProducer {
  /** Publishes every message; throws (nothing to ack) if any one was not durably taken. */
  publish(messages: readonly QueueMessage[], signal?: AbortSignal): Promise<PublishResult>
  /** the most bytes one message may hold (larger records are split at line boundaries) */
  maxMessageBytes(): number
  close(): Promise<void>
}

/** One message handed to a writer. */
export interface Delivery {
  readonly message: Omit<QueueMessage, 'id'> & {id?: string}
  /** how many times it was delivered before (0 the first time) */
  readonly redeliveries: number
  /** stored: never delivered again */
  ack(): void
  /** not stored: deliver again (to any writer) after `delayMs` */
  nak(delayMs?: number): void
  /** still working on it: restart the ack wait */
  working(): void
  /** unusable for good (never delivered again) */
  term(): void
}

/** The writers' side: one durable group shared by every writer process. */
export interface PointsConsumer {
  /** Up to `max` messages; waits at most `expiresMs` for the first; [] when none came. */
  fetch(max: number, expiresMs: number, signal?: AbortSignal): Promise<Delivery[]>
  /** makes sure acks sent so far have left this process */
  flush(): Promise<void>
  close(): Promise<void>
}

/** The queue's own thrown error when it refused for want of room (stream max_bytes, discard new). */
export class QueueFullError extends Error {
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'QueueFullError'
  }
}

/** `mon status` / `mon relay --status`: how deep the queue is and how far behind the writers are. */
export interface PipelineStatus {
  stream: string
  consumer: string
  /** messages and bytes held by the stream (acked ones too, until max_age / max_bytes) */
  messages: number
  bytes: number
  maxBytes: number
  firstSeq: number
  lastSeq: number
  /** stream replicas: the leader and how current each follower is */
  leader?: string
  replicas: Array<{name: string; current: boolean; lagMessages?: number}>
  /** messages not yet delivered to any writer */
  pending: number
  /** delivered, not yet acknowledged */
  ackPending: number
  /** what writers still have to store: pending + ackPending */
  lag: number
  redelivered: number
  /** writers currently pulling */
  waiting: number
  /** the consumer's own creation was not found (no writer ran yet) */
  consumerMissing?: boolean
}
