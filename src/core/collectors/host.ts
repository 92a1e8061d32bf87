/**
 * Host metrics for Linux, read straight from /proc, /sys and statfs(2), published under
 * Telegraf's measurement, field and tag names (cpu, mem, swap, disk, diskio, net, system,
 * processes, kernel) so existing Telegraf/Grafana dashboards work unchanged. docs/host-metrics.md lists
 * every field and where it differs from Telegraf.
 */
import {closeSync, openSync, readFileSync, readSync} from 'node:fs'
import {readdir, readFile, readlink, realpath, statfs as fsStatfs} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {setTimeout as sleepTimer} from 'node:timers/promises'

import {bool, duration, interval, section, stringList, tagsSchema} from '../config/common.js'
import type {Point, Tags} from '../model/point.js'
import {
  cpuUsage,
  isUsablePrevious,
  loadCpuState,
  sampleOf,
  saveCpuState,
  type CpuSample,
} from './host/cpu.js'
import {diskFields, diskioFields, kernelFields, memFields, netFields, ProcessCounts, swapFields, systemFields, type StatFsValues} from './host/fields.js'
import {
  compileGlobs,
  countDistinctCoreLists,
  formatUptime,
  parseDiskstats,
  parseKeyValueLines,
  parseLoadavg,
  parseMeminfo,
  parseMountinfo,
  parseMounts,
  parseNetDev,
  parseCpuinfoPhysicalCores,
  parseNetSnmp,
  parsePidStat,
  parseProcStat,
  parseUptime,
  parseUtmpUsers,
  type DiskStats,
  type Mount,
  type ProcStat,
} from './host/parse.js'
import {aggregateSchema, decorate, defineCollector, type Collector, type CollectorContext} from './types.js'

export interface HostInputConfig {
  enabled?: boolean
  interval?: string
  cpu?: {percpu?: boolean; totalcpu?: boolean}
  disk?: {ignore_fs?: string[]; mount_points?: string[]}
  net?: {interfaces?: string[]; ignore_protocol_stats?: boolean}
  diskio?: {devices?: string[]}
  tags?: Record<string, string>
}

/** statfs(2) as the collector needs it; numbers or bigints (Node's `fs.statfs(p, {bigint: true})`). */
export interface HostStatFs {
  bsize: number | bigint
  blocks: number | bigint
  bfree: number | bigint
  bavail: number | bigint
  files: number | bigint
  ffree: number | bigint
}

export interface HostCollectorOptions {
  /** where procfs is mounted (default `/proc`); tests point it at a fixture tree */
  procRoot?: string
  /** where sysfs is mounted (default `/sys`): interface flags and speed, `/dev/root` resolution */
  sysRoot?: string
  /** where device nodes live (default `/dev`): resolves `/dev/mapper/*` links to `dm-N` as Telegraf does */
  devRoot?: string
  /** utmp file for `n_users` (default `/var/run/utmp`); the fields are left out when it is missing */
  utmpPath?: string
  statfs?: (path: string) => Promise<HostStatFs>
  /** the wait between two /proc/stat samples when there is no usable previous one (tests inject it) */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** length of that wait, default 250 ms */
  cpuSampleWaitMs?: number
}

/** Telegraf's default `ignore_fs` for inputs.disk. */
export const DEFAULT_IGNORE_FS: readonly string[] = ['tmpfs', 'devtmpfs', 'devfs', 'iso9660', 'overlay', 'aufs', 'squashfs']

/**
 * Filesystems without storage behind them. Telegraf statfs()es them and drops them for reporting
 * a zero size; skipping them up front saves a syscall each (a container host has dozens) and
 * never touches autofs, which would trigger a mount.
 */
const PSEUDO_FS = new Set([
  'autofs',
  'binfmt_misc',
  'bpf',
  'cgroup',
  'cgroup2',
  'configfs',
  'debugfs',
  'devpts',
  'efivarfs',
  'fusectl',
  'hugetlbfs',
  'mqueue',
  'nsfs',
  'proc',
  'pstore',
  'rpc_pipefs',
  'securityfs',
  'selinuxfs',
  'sysfs',
  'tracefs',
])

/** Block devices without their own storage, left out of diskio unless `devices` names them. */
const VIRTUAL_BLOCK_DEVICE = /^(loop|ram)\d+$/

const DEFAULT_CPU_WAIT_MS = 250
/** A statfs() on a dead network mount can hang forever; give up on that mount instead. */
const STATFS_TIMEOUT_MS = 2000
/** /proc/[pid]/stat files read between two yields to the event loop. */
const PID_BATCH = 256

/** Sample `inputs.host:` block for the YAML config, in Telegraf's commented sample-config style. */
export const hostSampleConfig = `host:
  ## Host metrics from /proc, /sys and statfs (Linux), under Telegraf's names:
  ## cpu, mem, swap, disk, diskio, net, system, processes, kernel.
  # enabled: true
  # interval: 10s

  cpu:
    ## Per-CPU points (cpu=cpu0, cpu1, ...).
    # percpu: true
    ## The all-CPU point (cpu=cpu-total).
    # totalcpu: true

  disk:
    ## By default every mount with real storage is reported, one point per device.
    ## Set mount_points to report only these mount points.
    # mount_points: ["/"]
    ## Ignore mount points by filesystem type (proc, sysfs, cgroup, ... are always skipped).
    # ignore_fs: ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs"]

  diskio:
    ## Devices to report, by name or glob ("sda", "nvme*"). By default every device with
    ## I/O except loop and ram devices.
    # devices: ["sda", "sdb", "vd*"]

  net:
    ## By default every interface that is up, except loopback.
    ## Set interfaces (globs allowed) to report exactly these, whatever their state.
    # interfaces: ["eth*", "enp0s[0-1]", "lo"]
    ## Skip the system-wide protocol counters from /proc/net/snmp (net,interface=all).
    # ignore_protocol_stats: false

  ## Tags added to every host point.
  # tags:
  #   rack: a1
`

/** Creates the `host` collector; see docs/host-metrics.md for what it emits. */
export function createHostCollector(cfg: HostInputConfig, ctx: CollectorContext, opts: HostCollectorOptions = {}): Collector {
  const procRoot = opts.procRoot ?? '/proc'
  const sysRoot = opts.sysRoot ?? '/sys'
  const devRoot = opts.devRoot ?? '/dev'
  const utmpPath = opts.utmpPath ?? '/var/run/utmp'
  const statfs = opts.statfs ?? ((p: string) => fsStatfs(p, {bigint: true}))
  const sleep = opts.sleep ?? ((ms: number, signal: AbortSignal) => sleepTimer(ms, undefined, {signal}))
  const cpuWaitMs = opts.cpuSampleWaitMs ?? DEFAULT_CPU_WAIT_MS

  const perCpu = cfg.cpu?.percpu ?? true
  const totalCpu = cfg.cpu?.totalcpu ?? true
  const ignoreFs = new Set(cfg.disk?.ignore_fs ?? DEFAULT_IGNORE_FS)
  const mountPoints = cfg.disk?.mount_points?.length ? new Set(cfg.disk.mount_points) : undefined
  const netFilter = cfg.net?.interfaces?.length ? compileGlobs(cfg.net.interfaces) : undefined
  const ignoreProtocolStats = cfg.net?.ignore_protocol_stats ?? false
  const diskioFilter = cfg.diskio?.devices?.length ? compileGlobs(cfg.diskio.devices.map((d) => basename(d))) : undefined
  const inputTags = cfg.tags ?? {}
  const log = ctx.log.child({input: 'host'})

  const proc = (...parts: string[]): string => join(procRoot, ...parts)
  const warned = new Set<string>()
  /** A broken source is logged once, not every interval; its measurement is just left out. */
  const skip = (what: string, err: unknown): void => {
    const msg = err instanceof Error ? err.message : String(err)
    const key = `${what}: ${msg}`
    if (warned.has(key)) log.debug('host metrics source unavailable', {measurement: what, error: msg})
    else {
      warned.add(key)
      log.warn('host metrics source unavailable', {measurement: what, error: msg})
    }
  }

  // long-running state: the previous /proc/stat and /proc/diskstats samples
  let prevCpu: CpuSample | undefined
  let prevDiskio: {ts: number; byName: Map<string, DiskStats>} | undefined

  /**
   * procfs and sysfs files are generated in memory by the kernel and never wait on a disk, so they
   * are read synchronously: ~10x cheaper than a thread-pool round trip per open/read/close.
   */
  function readText(path: string): string {
    return readFileSync(path, 'utf8')
  }

  function readProcStat(now: number): CpuSample {
    return sampleOf(parseProcStat(readText(proc('stat'))), now)
  }

  /** gopsutil's order: sysfs topology (one file per CPU), then /proc/cpuinfo; undefined when neither tells. */
  async function countPhysicalCpus(): Promise<number | undefined> {
    const cpuDir = join(sysRoot, 'devices', 'system', 'cpu')
    const cpus = await readdir(cpuDir).then(
      (names) => names.filter((n) => /^cpu\d+$/.test(n)),
      () => [] as string[],
    )
    const readAll = (file: string): string[] =>
      cpus.flatMap((cpu) => {
        try {
          return [readText(join(cpuDir, cpu, 'topology', file))]
        } catch {
          return [] // offline CPUs have no topology directory
        }
      })
    const fromSysfs = countDistinctCoreLists(readAll('core_cpus_list'), readAll('thread_siblings_list'))
    if (fromSysfs > 0) return fromSysfs
    try {
      return parseCpuinfoPhysicalCores(readText(proc('cpuinfo'))) || undefined
    } catch {
      return undefined
    }
  }

  function cpuPoints(prev: CpuSample, cur: CpuSample, ts: number): Point[] {
    const points: Point[] = []
    for (const [name, times] of cur.cpus) {
      const isTotal = name === 'cpu-total'
      if (isTotal ? !totalCpu : !perCpu) continue
      const before = prev.cpus.get(name)
      if (!before) continue
      const fields = cpuUsage(before, times)
      if (fields) points.push({measurement: 'cpu', tags: {cpu: name}, fields, ts})
    }
    // Telegraf lists the per-CPU points first, then cpu-total
    return points.sort((a, b) => Number(a.tags.cpu === 'cpu-total') - Number(b.tags.cpu === 'cpu-total'))
  }

  async function previousCpuSample(first: CpuSample, now: number): Promise<CpuSample | undefined> {
    if (prevCpu && prevCpu.bootTime === first.bootTime && prevCpu.ts <= now) return prevCpu
    const saved = await loadCpuState(ctx.stateDir)
    return saved && isUsablePrevious(saved, first, now) ? saved : undefined
  }

  /**
   * Two /proc/stat samples are needed. The previous one comes from memory (long-running), the
   * state file (one-shot runs), or, failing both, a second read after a short wait, so that even
   * the very first `mon collect --once` emits cpu points.
   */
  async function gatherCpu(first: CpuSample, ts: number, signal: AbortSignal): Promise<Point[]> {
    let prev = await previousCpuSample(first, first.ts)
    let cur = first
    const age = prev ? first.ts - prev.ts : 0
    if (prev && age < cpuWaitMs) {
      // a sample taken moments ago (back-to-back one-shot runs) has too few ticks to mean much
      await sleep(cpuWaitMs - age, signal)
      cur = readProcStat(ctx.clock.now())
    }
    let points = prev ? cpuPoints(prev, cur, ts) : []
    if (points.length === 0 && (perCpu || totalCpu)) {
      await sleep(cpuWaitMs, signal)
      prev = cur
      cur = readProcStat(ctx.clock.now())
      points = cpuPoints(prev, cur, ts)
    }
    prevCpu = cur
    try {
      await saveCpuState(ctx.stateDir, cur)
    } catch (err) {
      skip('cpu state file', err)
    }
    return points
  }

  async function gatherMemSwap(ts: number): Promise<Point[]> {
    const meminfo = parseMeminfo(readText(proc('meminfo')))
    const points: Point[] = [{measurement: 'mem', tags: {}, fields: memFields(meminfo), ts}]
    let vmstat = new Map<string, bigint>()
    try {
      vmstat = parseKeyValueLines(readText(proc('vmstat')))
    } catch (err) {
      skip('swap', err)
    }
    points.push({measurement: 'swap', tags: {}, fields: swapFields(meminfo, vmstat), ts})
    return points
  }

  async function gatherSystem(cpuCount: number, ts: number): Promise<Point[]> {
    const loadText = readText(proc('loadavg'))
    const uptimeText = readText(proc('uptime'))
    const users = await readFile(utmpPath).then(
      (buf) => parseUtmpUsers(buf),
      () => undefined, // no utmp (containers, minimal systems): Telegraf leaves n_users out too
    )
    const physicalCpus = await countPhysicalCpus()
    const uptime = parseUptime(uptimeText)
    const fields = systemFields(parseLoadavg(loadText), cpuCount, physicalCpus, uptime, formatUptime(uptime), users)
    return [{measurement: 'system', tags: {}, fields, ts}]
  }

  /** Telegraf's `kernel` input: counters from the /proc/stat read of this collection, and the entropy pool. */
  async function gatherKernel(stat: ProcStat, ts: number): Promise<Point[]> {
    let entropy: bigint | undefined
    try {
      const text = readText(proc('sys', 'kernel', 'random', 'entropy_avail')).trim()
      if (/^\d+$/.test(text)) entropy = BigInt(text)
    } catch (err) {
      skip('kernel entropy_avail', err)
    }
    return [{measurement: 'kernel', tags: {}, fields: kernelFields(stat.bootTime, stat.kernel, entropy), ts}]
  }

  /**
   * One small synchronous read per process: three syscalls, no thread-pool round trips. A process
   * may exit between readdir and read (ENOENT, or ESRCH from a half-torn-down task); it is skipped.
   */
  async function gatherProcesses(ts: number, signal: AbortSignal): Promise<Point[]> {
    const pids = (await readdir(procRoot)).filter((name) => /^\d+$/.test(name))
    const counts = new ProcessCounts()
    const buf = Buffer.allocUnsafe(4096)
    for (let i = 0; i < pids.length; i++) {
      if (i > 0 && i % PID_BATCH === 0) {
        await new Promise((resolve) => setImmediate(resolve))
        signal.throwIfAborted()
      }
      const text = readPidStat(join(procRoot, pids[i]!, 'stat'), buf)
      if (text === undefined) continue
      const st = parsePidStat(text)
      if (st) counts.add(st.state, st.threads)
    }
    return [{measurement: 'processes', tags: {}, fields: counts.fields(), ts}]
  }

  async function gatherDisk(ts: number, signal: AbortSignal): Promise<Point[]> {
    let mounts: Mount[]
    try {
      mounts = parseMountinfo(readText(proc('self', 'mountinfo')))
    } catch {
      mounts = parseMounts(readText(proc('mounts')))
    }
    const candidates = mounts.filter(
      (m) => !PSEUDO_FS.has(m.fstype) && !ignoreFs.has(m.fstype) && (!mountPoints || mountPoints.has(m.mountPoint)),
    )
    // The same filesystem mounted twice (bind mounts, one disk at two paths) is reported once:
    // under its first real mount, else its first bind mount (a container sees the host disk only
    // through bind-mounted files such as /etc/hosts). An explicit mount_points list is honoured as given.
    const chosen = new Map<string, Mount>()
    if (!mountPoints) {
      for (const m of candidates) {
        const identity = mountIdentity(m)
        if (!identity) continue
        const current = chosen.get(identity)
        if (!current || (current.opts.includes('bind') && !m.opts.includes('bind'))) chosen.set(identity, m)
      }
    }
    const selected = candidates.filter((m) => {
      const identity = mountIdentity(m)
      return mountPoints || !identity || chosen.get(identity) === m
    })
    const results = await Promise.all(
      selected.map(async (m): Promise<Point | undefined> => {
        let st: StatFsValues
        try {
          st = toStatFsValues(await withTimeout(statfs(m.mountPoint), STATFS_TIMEOUT_MS, signal))
        } catch (err) {
          if (signal.aborted) throw err
          log.debug('statfs failed, mount skipped', {path: m.mountPoint, error: err instanceof Error ? err.message : String(err)})
          return undefined
        }
        if (st.blocks * st.bsize === 0n) return undefined // no storage behind it, as Telegraf skips
        const device = (await resolveDevice(m)).replaceAll('/dev/', '')
        const tags: Tags = {path: m.mountPoint, device, fstype: m.fstype, mode: mountMode(m.opts)}
        return {measurement: 'disk', tags, fields: diskFields(st), ts}
      }),
    )
    return results.filter((p): p is Point => p !== undefined)
  }

  /** gopsutil names the device behind `/dev/root` and `/dev/mapper/*` links (`vda1`, `dm-0`). */
  async function resolveDevice(m: Mount): Promise<string> {
    try {
      if (m.device === '/dev/root' && m.devId) {
        const target = await readlink(join(sysRoot, 'dev', 'block', m.devId))
        return `/dev/${basename(target)}`
      }
      if (m.device.startsWith('/dev/mapper/')) {
        const [resolved, root] = await Promise.all([realpath(join(devRoot, m.device.slice('/dev/'.length))), realpath(devRoot)])
        const rel = resolved.startsWith(root + '/') ? resolved.slice(root.length + 1) : basename(resolved)
        return `/dev/${rel}`
      }
    } catch {
      // keep the name from the mount table
    }
    return m.device
  }

  async function gatherDiskio(ts: number): Promise<Point[]> {
    const stats = parseDiskstats(readText(proc('diskstats')))
    const byName = new Map<string, DiskStats>()
    const points: Point[] = []
    const elapsed = prevDiskio ? ts - prevDiskio.ts : undefined
    for (const d of stats) {
      if (diskioFilter ? !diskioFilter(d.name) : VIRTUAL_BLOCK_DEVICE.test(d.name)) continue
      if (neverUsed(d)) continue // gopsutil drops devices whose counters are all zero
      byName.set(d.name, d)
      points.push({measurement: 'diskio', tags: {name: d.name}, fields: diskioFields(d, prevDiskio?.byName.get(d.name), elapsed), ts})
    }
    prevDiskio = {ts, byName}
    return points
  }

  async function gatherNet(ts: number): Promise<Point[]> {
    const devs = parseNetDev(readText(proc('net', 'dev')))
    const points: Point[] = []
    for (const dev of devs) {
      if (netFilter) {
        if (!netFilter(dev.name)) continue
      } else if (!isUpAndNotLoopback(dev.name)) continue
      points.push({measurement: 'net', tags: {interface: dev.name}, fields: netFields(dev, interfaceSpeed(dev.name)), ts})
    }
    if (!ignoreProtocolStats) {
      try {
        const snmp = parseNetSnmp(readText(proc('net', 'snmp')))
        if (snmp.size > 0) points.push({measurement: 'net', tags: {interface: 'all'}, fields: Object.fromEntries(snmp), ts})
      } catch {
        // Telegraf ignores an unreadable /proc/net/snmp silently
      }
    }
    return points
  }

  /** IFF_UP and IFF_LOOPBACK from sysfs; without sysfs, only `lo` is taken for loopback. */
  function isUpAndNotLoopback(name: string): boolean {
    let flags: number
    try {
      flags = Number.parseInt(readText(join(sysRoot, 'class', 'net', name, 'flags')).trim(), 16)
    } catch {
      return name !== 'lo'
    }
    const IFF_UP = 0x1
    const IFF_LOOPBACK = 0x8
    return (flags & IFF_UP) !== 0 && (flags & IFF_LOOPBACK) === 0
  }

  /** Link speed in Mbit/s, -1 when the interface has none (virtual, down), as Telegraf reports. */
  function interfaceSpeed(name: string): number {
    try {
      const v = Number.parseInt(readText(join(sysRoot, 'class', 'net', name, 'speed')).trim(), 10)
      return Number.isFinite(v) ? v : -1
    } catch {
      return -1
    }
  }

  /** One measurement's failure costs that measurement only; an abort fails the whole collection. */
  async function guard(what: string, work: () => Promise<Point[]>, signal: AbortSignal): Promise<Point[]> {
    try {
      return await work()
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err
      skip(what, err)
      return []
    }
  }

  return {
    name: 'host',
    async collect(signal: AbortSignal): Promise<Point[]> {
      signal.throwIfAborted()
      const ts = ctx.clock.now()
      let stat: ProcStat | undefined
      try {
        stat = parseProcStat(readText(proc('stat')))
      } catch (err) {
        skip('cpu', err)
      }
      const first = stat && sampleOf(stat, ts)
      const cpuCount = first?.cpuCount ?? 0
      // cpu may have to wait for its second sample; everything else is read meanwhile
      const parts = await Promise.all([
        first ? guard('cpu', () => gatherCpu(first, ts, signal), signal) : [],
        guard('mem', () => gatherMemSwap(ts), signal),
        guard('system', () => gatherSystem(cpuCount, ts), signal),
        guard('processes', () => gatherProcesses(ts, signal), signal),
        guard('disk', () => gatherDisk(ts, signal), signal),
        guard('diskio', () => gatherDiskio(ts), signal),
        guard('net', () => gatherNet(ts), signal),
        stat ? guard('kernel', () => gatherKernel(stat, ts), signal) : [],
      ])
      signal.throwIfAborted()
      return decorate(parts.flat(), ctx, inputTags)
    },
  }
}

function readPidStat(path: string, buf: Buffer): string | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined // gone (ENOENT/ESRCH) or not ours to read
  }
  try {
    const n = readSync(fd, buf, 0, buf.length, 0)
    if (n < buf.length) return buf.toString('latin1', 0, n)
    return readFileSync(path, 'latin1') // a stat line longer than 4 KiB: read it whole
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** What identifies a filesystem across its mounts: the device number, else the device path. */
function mountIdentity(m: Mount): string {
  return m.devId || (m.device.startsWith('/') ? m.device : '')
}

function neverUsed(d: DiskStats): boolean {
  return (
    d.reads === 0n &&
    d.writes === 0n &&
    d.mergedReads === 0n &&
    d.mergedWrites === 0n &&
    d.readSectors === 0n &&
    d.writeSectors === 0n &&
    d.readTime === 0n &&
    d.writeTime === 0n &&
    d.iopsInProgress === 0n &&
    d.ioTime === 0n &&
    d.weightedIoTime === 0n
  )
}

function mountMode(opts: string[]): string {
  if (opts.includes('rw')) return 'rw'
  if (opts.includes('ro')) return 'ro'
  return 'unknown'
}

function toStatFsValues(st: HostStatFs): StatFsValues {
  const b = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(Math.trunc(v)))
  return {bsize: b(st.bsize), blocks: b(st.blocks), bfree: b(st.bfree), bavail: b(st.bavail), files: b(st.files), ffree: b(st.ffree)}
}

function withTimeout<T>(work: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => finish(() => reject(signal.reason))
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${ms} ms`))), ms)
    function finish(settle: () => void): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      settle()
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, {once: true})
    work.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    )
  })
}

// ---------------------------------------------------------------------------------------------
// inputs.host: its config schema (defaults included), sample block and factory

export const hostInputSchema = section({
  enabled: bool().default(true),
  /** Default: agent.interval (filled in after parsing). */
  interval: interval().optional(),
  jitter: duration().optional(),
  tags: tagsSchema.optional(),
  aggregate: aggregateSchema.optional(),
  cpu: section({percpu: bool().default(true), totalcpu: bool().default(true)}).prefault({}),
  disk: section({ignore_fs: stringList.optional(), mount_points: stringList.optional()}).prefault({}),
  net: section({interfaces: stringList.optional(), ignore_protocol_stats: bool().default(false)}).prefault({}),
  diskio: section({devices: stringList.optional()}).prefault({}),
})

export const hostInput = defineCollector({
  kind: 'host',
  multiple: false,
  schema: hostInputSchema,
  sample: `# Host metrics (cpu, mem, swap, disk, diskio, net, system, processes, kernel), Telegraf-compatible names.
host:
  # Collect host metrics at all.
  enabled: true
  # Collection interval (default: agent.interval); a duration or a cron expression.
~  interval: 10s
  # Extra tags for these points.
~  tags: {role: web}
  cpu:
    # One series per CPU core.
    percpu: true
    # One series for all cores together (cpu=cpu-total).
    totalcpu: true
  disk:
    # Filesystem types to skip.
~    ignore_fs: [tmpfs, devtmpfs, overlay, squashfs]
    # Only these mount points (default: all).
~    mount_points: [/, /var]
  net:
    # Only these interfaces (default: all but loopback).
~    interfaces: [eth0]
    # Skip the protocol counters (netstat).
    ignore_protocol_stats: false
  diskio:
    # Only these devices (default: all).
~    devices: [sda, nvme0n1]`,
  create: (config, ctx) => createHostCollector(config, ctx),
})
