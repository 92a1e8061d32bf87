import {StorageType, type KV, type NatsConnection} from 'nats'
import type {MemberRecord, MemberRegistry} from './membership.js'

/**
 * Member records in a JetStream KV bucket (`<NAME>_MEMBERS`, file storage, replicated, one value
 * per key): each member puts only its own key, so no update needs a compare-and-set. Records of
 * members gone for good age out after `ttlMs`. The bucket is opened on first use and again after a
 * failure, so a member that starts while NATS is down joins when it comes back.
 */
export function jetStreamMemberRegistry(nc: NatsConnection, opts: {bucket: string; replicas: number; ttlMs: number; timeoutMs: number}): MemberRegistry {
  let kv: Promise<KV> | undefined
  const open = (): Promise<KV> => {
    kv ??= nc
      .jetstream({timeout: opts.timeoutMs})
      .views.kv(opts.bucket, {history: 1, ttl: opts.ttlMs, replicas: opts.replicas, storage: StorageType.File, timeout: opts.timeoutMs})
      .catch((err: unknown) => {
        kv = undefined
        throw err
      })
    return kv
  }
  const encoder = new TextEncoder()
  return {
    async put(rec) {
      await (await open()).put(rec.member, encoder.encode(JSON.stringify(rec)))
    },
    async list() {
      const bucket = await open()
      const keys: string[] = []
      for await (const k of await bucket.keys()) keys.push(k)
      const entries = await Promise.all(keys.map((k) => bucket.get(k)))
      const out: MemberRecord[] = []
      for (const e of entries) {
        if (!e || e.operation !== 'PUT' || e.value.length === 0) continue
        try {
          out.push(e.json<MemberRecord>())
        } catch {
          // not ours: ignore
        }
      }
      return out
    },
    async close() {
      kv = undefined
    },
  }
}
