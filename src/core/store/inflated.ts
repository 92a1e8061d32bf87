/**
 * The inflated bytes of recently read deflated chunks, while a process serves queries: the
 * uncompressed-block cache of RocksDB or ClickHouse. A dashboard asks the same day of cold chunks
 * at every refresh, and inflating them was a tenth of a 1-min range query over a day (zlib's
 * inflate, ~0.7 ms a request for 10 series); every query still decodes every value, aggregates and
 * writes its answer — no answer or aggregate is kept.
 *
 * Exact by construction: an entry is found by the compressed bytes themselves (their length and a
 * hash pick the candidates, a byte-for-byte comparison decides), so a chunk rewritten under the same
 * rowid, or any other blob, can never be answered with another's bytes. Bounded (least recently used
 * out first), and off unless a process turns it on: the daemon does while its query APIs are asked
 * (runtime.ts serveQueries) and empties it a minute after the last query, so an idle daemon holds
 * none of it. The one-shot CLI never turns it on.
 */
import {inflateRawSync} from 'node:zlib'

interface Entry {
  deflated: Buffer
  inflated: Buffer
}

/** The default bound (config query.chunk_cache): compressed and inflated bytes together. */
export const INFLATE_CACHE_BYTES = 16 << 20

/** the bound while on */
let limit = INFLATE_CACHE_BYTES
let on = false
let maxBytes = 0
let bytes = 0
/** by key, least recently used first (a Map keeps insertion order; a hit is moved to the end) */
const entries = new Map<number, Entry[]>()

/** Turns the cache on or off: off empties it. */
export function useInflateCache(active: boolean): void {
  on = active
  maxBytes = on ? limit : 0
  evict()
}

/** The bound while it is on (config query.chunk_cache; 0: never on); applies at once. */
export function limitInflateCache(bytes: number): void {
  limit = Math.max(0, bytes)
  useInflateCache(on)
}

/** The bound it has while on (a worker thread's own cache takes the same). */
export function inflateCacheLimit(): number {
  return limit
}

/** Entries and bytes held (status, tests). */
export function inflateCacheSize(): {entries: number; bytes: number; maxBytes: number} {
  let n = 0
  for (const list of entries.values()) n += list.length
  return {entries: n, bytes, maxBytes}
}

/** inflateRawSync(deflated): from the cache when it holds these exact bytes and is on. The result is shared: read it, never write into it. */
export function inflateCached(deflated: Uint8Array): Buffer {
  if (maxBytes === 0) return inflateRawSync(deflated)
  const key = keyOf(deflated)
  const list = entries.get(key)
  if (list) {
    for (const e of list) {
      if (e.deflated.length === deflated.length && e.deflated.equals(deflated)) {
        // most recently used now
        entries.delete(key)
        entries.set(key, list)
        return e.inflated
      }
    }
  }

  const inflated = inflateRawSync(deflated)
  const size = deflated.length + inflated.length
  if (size > maxBytes / 4) return inflated
  const entry: Entry = {deflated: Buffer.from(deflated), inflated}
  if (list) {
    list.push(entry)
    entries.delete(key)
    entries.set(key, list)
  } else {
    entries.set(key, [entry])
  }
  bytes += size
  evict()
  return inflated
}

/** The length and an FNV-1a hash of up to 64 bytes spread over the blob, as one number below 2^53. */
function keyOf(b: Uint8Array): number {
  let h = 0x811c9dc5
  const stride = Math.max(1, Math.floor(b.length / 64))
  for (let i = 0; i < b.length; i += stride) h = Math.imul(h ^ b[i]!, 0x01000193)
  return (b.length % 0x200000) * 0x100000000 + (h >>> 0)
}

function evict(): void {
  for (const [key, list] of entries) {
    if (bytes <= maxBytes) return
    entries.delete(key)
    for (const e of list) bytes -= e.deflated.length + e.inflated.length
  }
}
