/**
 * The ordered log the shared incidents are built on (docs/cluster.md#shared-incidents), behind a
 * small interface so an engine other than NATS JetStream (Kafka: one partition) could carry it.
 * What it must give: a total order (one sequence for every event, the same for every reader),
 * durability once `append` resolves, reads by sequence, and dedup of a re-appended event id.
 */
export interface IncidentLogInfo {
  /** the stream's name (the key its applied sequence is kept under) */
  name: string
  /** the first sequence still stored (older ones were removed by age); 0 when empty */
  firstSeq: number
  /** the last sequence appended; 0 when empty */
  lastSeq: number
  /** when the stream was created: a different value means it was recreated and sequences restarted */
  created: string
}

export type LogEntry = {seq: number; data: Uint8Array} | {seq: number; missing: true}

export interface IncidentLog {
  readonly name: string
  /** Appends an event; resolves with its sequence once stored (replicated). The same `id` again returns the first sequence. */
  append(id: string, data: Uint8Array): Promise<number>
  /** The entry at `seq` (missing: removed or never stored). */
  read(seq: number): Promise<LogEntry>
  info(): Promise<IncidentLogInfo>
  /** Calls `wake` when something may have been appended (a hint; readers also poll). Returns an unsubscribe. */
  watch(wake: () => void): () => void
}
