import {createHash} from 'node:crypto'
import type {ShardFilter} from '../collectors/types.js'

/**
 * Scrape sharding (docs/cluster.md#sharding): which collector of a cluster scrapes which pull
 * target. Two modes:
 * - static `i/N` — Prometheus' `hashmod` habit (vmagent's `-promscrape.cluster.memberNum`): a target
 *   belongs to member i when hashmod(its address, N) = i, as Prometheus' relabelling computes it.
 *   No coordination; N fixed in the config.
 * - `auto` — rendezvous (highest-random-weight) hashing over the members alive at the instant a run
 *   is for (membership.ts): every member computes the same owner from the same view, and when a
 *   member comes or goes only its own targets move.
 */

export type ShardMode = {kind: 'off'} | {kind: 'auto'} | {kind: 'static'; index: number; total: number}

/** `off`, `auto` or `i/N` (0 ≤ i < N); undefined when it is none of them. */
export function parseShardMode(mode: string): ShardMode | undefined {
  const s = mode.trim()
  if (s === 'off') return {kind: 'off'}
  if (s === 'auto') return {kind: 'auto'}
  const m = /^(\d+)\/(\d+)$/.exec(s)
  if (!m) return undefined
  const index = Number(m[1])
  const total = Number(m[2])
  return total >= 1 && index < total ? {kind: 'static', index, total} : undefined
}

/** Prometheus' hashmod relabel action: md5 of the value, its last 8 bytes as a big-endian uint64, modulo n. */
export function hashmod(value: string, n: number): number {
  const sum = createHash('md5').update(value).digest()
  return Number(sum.readBigUInt64BE(8) % BigInt(n))
}

/**
 * What a static shard hashes for a target: a Prometheus target's `host:port` (its `__address__`,
 * the default port spelled out), so `i/N` splits targets exactly as a Prometheus with
 * `hashmod` on `__address__` modulo N keeping i would; a check's input name otherwise.
 */
export function staticShardInput(key: string): string {
  if (!key.startsWith('prometheus:')) return key
  try {
    const url = new URL(key.slice('prometheus:'.length))
    return url.port ? url.host : `${url.host}:${url.protocol === 'https:' ? 443 : 80}`
  } catch {
    return key
  }
}

export function staticShard(index: number, total: number): ShardFilter & {describe(): string} {
  return {owns: (key) => hashmod(staticShardInput(key), total) === index, describe: () => `${index}/${total}`}
}

/** A member's weight for a key: the first 8 bytes of md5(member NUL key). */
function weight(member: string, key: string): bigint {
  return createHash('md5').update(member).update('\0').update(key).digest().readBigUInt64BE(0)
}

/** The member with the highest weight for `key` (ties, astronomically rare, go to the smaller name). */
export function rendezvousOwner(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined
  let bestWeight = -1n
  for (const m of members) {
    const w = weight(m, key)
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) {
      best = m
      bestWeight = w
    }
  }
  return best
}
