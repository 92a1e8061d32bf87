import {StorageType, type KV, type NatsConnection} from 'nats'
import type {MemberRecord, MemberRegistry} from './membership.js'

/**
 * Member records in a JetStream KV bucket (`<NAME>_MEMBERS`, file storage, replicated, one value
 * per key): each member puts only its own key, so no update needs a compare-and-set. Records of
 * members gone for good age out after `ttlMs`.
 *
 * The view is a KV watch (an ordered consumer: every record once, then every update, resumed by
 * the client across reconnects) kept in a map, not `keys()` + `get()` per heartbeat: listing keys
 * ends early on a bucket being written to, which showed each member one record in three. The bucket
 * and the watch are opened on first use and again after a failure, so a member that starts while
 * NATS is down joins when it comes back.
 */
export function jetStreamMemberRegistry(
  nc: NatsConnection,
  opts: {bucket: string; replicas: number; ttlMs: number; timeoutMs: number; /** only read an existing bucket (`mon status`), never create it */ bindOnly?: boolean},
): MemberRegistry {
  let kv: Promise<KV> | undefined
  let watching: Promise<void> | undefined
  let stopWatch: (() => void) | undefined
  const records = new Map<string, MemberRecord>()
  const open = (): Promise<KV> => {
    kv ??= nc
      .jetstream({timeout: opts.timeoutMs})
      .views.kv(opts.bucket, {history: 1, ttl: opts.ttlMs, replicas: opts.replicas, storage: StorageType.File, timeout: opts.timeoutMs, ...(opts.bindOnly ? {bindOnly: true} : {})})
      .catch((err: unknown) => {
        kv = undefined
        throw err
      })
    return kv
  }
  const watch = (): Promise<void> => {
    watching ??= (async () => {
      const bucket = await open()
      let initialized!: () => void
      const ready = new Promise<void>((r) => (initialized = r))
      const iter = await bucket.watch({initializedFn: () => initialized()})
      stopWatch = () => iter.stop()
      void (async () => {
        for await (const e of iter) {
          if (e.operation !== 'PUT' || e.value.length === 0) {
            records.delete(e.key)
            continue
          }
          try {
            records.set(e.key, e.json<MemberRecord>())
          } catch {
            // not ours: ignore
          }
        }
      })()
        .catch(() => {})
        .finally(() => {
          // ended (closed connection, deleted bucket): the next list() opens a new watch
          watching = undefined
        })
      await ready
    })().catch((err: unknown) => {
      watching = undefined
      throw err
    })
    return watching
  }
  const encoder = new TextEncoder()
  return {
    async put(rec) {
      await (await open()).put(rec.member, encoder.encode(JSON.stringify(rec)))
      // our own record is in the view at once, whatever the watch has delivered so far
      records.set(rec.member, rec)
    },
    async list() {
      await watch()
      return [...records.values()]
    },
    async close() {
      stopWatch?.()
      kv = undefined
    },
  }
}
