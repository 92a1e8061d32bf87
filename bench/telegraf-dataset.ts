/**
 * The Telegraf-shaped dataset of issue #23: 10 hosts × 5,000 samples (10 s apart) × 19 fields —
 * 950,000 values — generated deterministically (seeded PRNG), computed the way Telegraf computes
 * them, so the floats carry the same full-precision noise:
 *
 *   cpu     usage_user, usage_system, usage_iowait, usage_idle: 100 × Δticks / Δtotal over the
 *           cumulative jiffy counters read as seconds (ticks / 100), as gopsutil reports them
 *   mem     used_percent, available_percent (100 × used / total), used, available, free (bytes)
 *   system  load1, load5, load15 (2 decimals, as /proc/loadavg)
 *   net     bytes_recv, bytes_sent, packets_recv, packets_sent (monotonically rising counters)
 *   disk    used_percent (used / (used + free) × 100, slowly rising), used, free (bytes)
 *
 * One sample of one host is 5 points (lines), so 250,000 points in all.
 */
import type {Point} from '../src/core/model/point.js'

export const HOSTS = 10
export const SAMPLES = 5000
export const INTERVAL = 10_000
export const T0 = 1_767_225_600_000 // 2026-01-01T00:00:00Z
export const FIELDS = 19
export const VALUES = HOSTS * SAMPLES * FIELDS

export function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const GiB = 2 ** 30

/** Every point, in time order (all hosts' points of one sample, then the next sample). */
export function telegrafPoints(seed = 23): Point[] {
  const rnd = mulberry32(seed)
  const cores = 4
  const hosts = Array.from({length: HOSTS}, (_, h) => ({
    name: `host-${String(h).padStart(2, '0')}`,
    ticks: {user: 1_000_000 + h * 1000, system: 300_000, iowait: 20_000, idle: 50_000_000},
    busy: 0.1 + 0.05 * h,
    memTotal: (8 + 8 * (h % 3)) * GiB,
    memUsed: (3 + (h % 4)) * GiB,
    load: 0.5 + h * 0.1,
    load5: 0.5 + h * 0.1,
    load15: 0.5 + h * 0.1,
    net: {bytesRecv: 10_000_000_000 + h * 7919, bytesSent: 2_000_000_000, packetsRecv: 9_000_000, packetsSent: 4_000_000},
    diskTotal: 500 * GiB,
    diskUsed: (100 + 20 * h) * GiB,
  }))
  const out: Point[] = []
  for (let i = 0; i < SAMPLES; i++) {
    const ts = T0 + i * INTERVAL
    for (const st of hosts) {
      const tags = {host: st.name}
      // cpu: jiffies over 10 s on `cores` cores, split by a busy fraction that wanders
      st.busy = Math.min(0.95, Math.max(0.02, st.busy + (rnd() - 0.5) * 0.04))
      const total = cores * 100 * 10
      const busy = Math.round(total * st.busy * (0.9 + rnd() * 0.2))
      const dUser = Math.round(busy * (0.6 + rnd() * 0.2))
      const dIowait = Math.round(busy * rnd() * 0.05)
      const dSystem = Math.max(0, Math.min(busy - dUser - dIowait, total))
      const dIdle = total - dUser - dSystem - dIowait
      const t0 = st.ticks
      const t1 = {user: t0.user + dUser, system: t0.system + dSystem, iowait: t0.iowait + dIowait, idle: t0.idle + dIdle}
      const secs = (t: typeof t0) => ({user: t.user / 100, system: t.system / 100, iowait: t.iowait / 100, idle: t.idle / 100})
      const a = secs(t0)
      const b = secs(t1)
      const totalDelta = b.user + b.system + b.iowait + b.idle - (a.user + a.system + a.iowait + a.idle)
      st.ticks = t1
      out.push({
        measurement: 'cpu',
        tags: {...tags, cpu: 'cpu-total'},
        fields: {
          usage_user: (100 * (b.user - a.user)) / totalDelta,
          usage_system: (100 * (b.system - a.system)) / totalDelta,
          usage_iowait: (100 * (b.iowait - a.iowait)) / totalDelta,
          usage_idle: (100 * (b.idle - a.idle)) / totalDelta,
        },
        ts,
      })
      // mem: page-granular random walk of used bytes
      st.memUsed = Math.min(st.memTotal - GiB, Math.max(GiB, st.memUsed + Math.round((rnd() - 0.5) * 8192) * 4096))
      const cached = Math.floor(st.memTotal * 0.2 / 4096) * 4096
      const available = st.memTotal - st.memUsed
      const free = available - cached
      out.push({
        measurement: 'mem',
        tags,
        fields: {
          used_percent: (100 * st.memUsed) / st.memTotal,
          available_percent: (100 * available) / st.memTotal,
          used: BigInt(st.memUsed),
          available: BigInt(available),
          free: BigInt(free),
        },
        ts,
      })
      // system: load averages with /proc/loadavg's two decimals
      st.load = Math.max(0, st.load + (rnd() - 0.5) * 0.3)
      st.load5 += (st.load - st.load5) * 0.033
      st.load15 += (st.load - st.load15) * 0.011
      const r2 = (v: number) => Math.round(v * 100) / 100
      out.push({measurement: 'system', tags, fields: {load1: r2(st.load), load5: r2(st.load5), load15: r2(st.load15)}, ts})
      // net: counters
      const rx = Math.floor(rnd() * 2_000_000)
      const tx = Math.floor(rnd() * 500_000)
      st.net.bytesRecv += rx
      st.net.bytesSent += tx
      st.net.packetsRecv += Math.floor(rx / 900) + Math.floor(rnd() * 10)
      st.net.packetsSent += Math.floor(tx / 600) + Math.floor(rnd() * 10)
      out.push({
        measurement: 'net',
        tags: {...tags, interface: 'eth0'},
        fields: {
          bytes_recv: BigInt(st.net.bytesRecv),
          bytes_sent: BigInt(st.net.bytesSent),
          packets_recv: BigInt(st.net.packetsRecv),
          packets_sent: BigInt(st.net.packetsSent),
        },
        ts,
      })
      // disk: slowly filling, 4 KiB blocks
      st.diskUsed += Math.floor(rnd() * 64) * 4096
      const diskFree = st.diskTotal - st.diskUsed
      out.push({
        measurement: 'disk',
        tags: {...tags, path: '/', device: 'sda1', fstype: 'ext4'},
        fields: {used_percent: (st.diskUsed / (st.diskUsed + diskFree)) * 100, used: BigInt(st.diskUsed), free: BigInt(diskFree)},
        ts,
      })
    }
  }

  return out
}
