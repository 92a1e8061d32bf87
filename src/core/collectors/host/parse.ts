/**
 * Parsers for the /proc (and /var/run/utmp) formats the host collector reads. Pure functions over
 * file contents, so they are tested with fixtures and never touch the file system themselves.
 * Each mirrors what gopsutil (the library behind Telegraf's system inputs) extracts.
 */

/** The ten jiffy counters of one `cpu` line of /proc/stat, in kernel order. */
export interface CpuTimes {
  user: number
  nice: number
  system: number
  idle: number
  iowait: number
  irq: number
  softirq: number
  steal: number
  guest: number
  guestNice: number
}

export const CPU_TIME_KEYS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guestNice'] as const

export interface ProcStat {
  /** keyed `cpu-total` (the aggregate line, named as gopsutil names it) and `cpu0`..`cpuN` */
  cpus: Map<string, CpuTimes>
  /** number of `cpuN` lines: the online logical CPUs */
  cpuCount: number
  /** boot time, seconds since the epoch (`btime`) */
  bootTime: number
  /** the system-wide counters Telegraf's `kernel` input reports; a line the kernel does not write is absent */
  kernel: KernelStat
}

/** Counters of /proc/stat besides the cpu lines (see proc(5)). */
export interface KernelStat {
  /** `intr`: interrupts serviced since boot (its first number, the total) */
  interrupts?: bigint
  /** `ctxt`: context switches since boot */
  contextSwitches?: bigint
  /** `processes`: forks since boot */
  processesForked?: bigint
  /** `page`: pages paged in and out (only kernels before 2.6 write this line) */
  diskPagesIn?: bigint
  diskPagesOut?: bigint
}

export function parseProcStat(text: string): ProcStat {
  const cpus = new Map<string, CpuTimes>()
  let cpuCount = 0
  let bootTime = 0
  const kernel: KernelStat = {}
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu')) {
      const parts = line.split(/\s+/)
      const label = parts[0]!
      const name = label === 'cpu' ? 'cpu-total' : label
      if (label !== 'cpu') cpuCount++
      const n = (i: number): number => {
        const v = Number(parts[i])
        return Number.isFinite(v) ? v : 0 // older kernels lack steal/guest/guest_nice columns
      }
      cpus.set(name, {
        user: n(1),
        nice: n(2),
        system: n(3),
        idle: n(4),
        iowait: n(5),
        irq: n(6),
        softirq: n(7),
        steal: n(8),
        guest: n(9),
        guestNice: n(10),
      })
    } else if (line.startsWith('btime ')) {
      bootTime = Number(line.slice(6).trim())
    } else {
      const parts = line.trim().split(/\s+/)
      const n = (i: number): bigint | undefined => (/^\d+$/.test(parts[i] ?? '') ? BigInt(parts[i]!) : undefined)
      if (parts[0] === 'intr') kernel.interrupts = n(1)
      else if (parts[0] === 'ctxt') kernel.contextSwitches = n(1)
      else if (parts[0] === 'processes') kernel.processesForked = n(1)
      else if (parts[0] === 'page') {
        kernel.diskPagesIn = n(1)
        kernel.diskPagesOut = n(2)
      }
    }
  }
  return {cpus, cpuCount, bootTime, kernel}
}

/**
 * Physical cores as gopsutil's `cpu.Counts(false)` finds them (Telegraf's `system.n_physical_cpus`):
 * the distinct `topology/core_cpus_list` contents of the CPUs in sysfs (each core lists its
 * hyperthreads), else the distinct `thread_siblings_list` contents (the older name of the same
 * file). Returns 0 when sysfs has neither; the caller then falls back to /proc/cpuinfo.
 */
export function countDistinctCoreLists(coreCpusLists: readonly string[], threadSiblingsLists: readonly string[]): number {
  for (const lists of [coreCpusLists, threadSiblingsLists]) {
    const distinct = new Set(lists.map((l) => l.trim()).filter((l) => l !== '' && !l.includes('\n')))
    if (distinct.size > 0) return distinct.size
  }
  return 0
}

/**
 * gopsutil's /proc/cpuinfo fallback for physical cores: the sum of `cpu cores` over the distinct
 * `physical id`s (sockets). 0 when the file names no sockets (some ARM and virtual machines).
 */
export function parseCpuinfoPhysicalCores(text: string): number {
  const coresBySocket = new Map<number, number>()
  let socket: number | undefined
  let cores: number | undefined
  const endSection = (): void => {
    if (socket !== undefined && cores !== undefined) coresBySocket.set(socket, cores)
    socket = cores = undefined
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim().toLowerCase()
    if (line === '') {
      endSection()
      continue
    }
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const key = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    if ((key !== 'physical id' && key !== 'cpu cores') || !/^\d+$/.test(value)) continue
    if (key === 'physical id') socket = Number(value)
    else cores = Number(value)
  }
  endSection() // a file without the final blank line still counts its last processor
  let total = 0
  for (const n of coresBySocket.values()) total += n
  return total
}

/** /proc/meminfo as `key → value`; values in kB lines are converted to bytes, page counts kept as is. */
export function parseMeminfo(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>()
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const key = line.slice(0, colon).trim()
    let value = line.slice(colon + 1).trim()
    const kb = value.endsWith(' kB')
    if (kb) value = value.slice(0, -3)
    if (!/^\d+$/.test(value)) continue
    out.set(key, kb ? BigInt(value) * 1024n : BigInt(value))
  }
  return out
}

/** `name value` lines (/proc/vmstat). */
export function parseKeyValueLines(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>()
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ')
    if (sp < 0) continue
    const value = line.slice(sp + 1).trim()
    if (/^-?\d+$/.test(value)) out.set(line.slice(0, sp), BigInt(value))
  }
  return out
}

export interface LoadAvg {
  load1: number
  load5: number
  load15: number
}

export function parseLoadavg(text: string): LoadAvg {
  const [a, b, c] = text.trim().split(/\s+/)
  return {load1: Number(a), load5: Number(b), load15: Number(c)}
}

/** Seconds since boot, truncated as the kernel's sysinfo(2) `uptime` (what gopsutil reports). */
export function parseUptime(text: string): number {
  return Math.floor(Number(text.trim().split(/\s+/)[0]))
}

/** Telegraf's (deprecated but still graphed) `uptime_format`: "1 day,  3:07", "14 days, 11:07", " 0:05". */
export function formatUptime(uptime: number): string {
  const days = Math.floor(uptime / 86400)
  let out = ''
  if (days !== 0) out += `${days} day${days > 1 ? 's' : ''}, `
  const totalMinutes = Math.floor(uptime / 60)
  const hours = Math.floor(totalMinutes / 60) % 24
  const minutes = totalMinutes % 60
  out += `${String(hours).padStart(2, ' ')}:${String(minutes).padStart(2, '0')}`
  return out
}

export interface DiskStats {
  name: string
  reads: bigint
  mergedReads: bigint
  readSectors: bigint
  readTime: bigint
  writes: bigint
  mergedWrites: bigint
  writeSectors: bigint
  writeTime: bigint
  iopsInProgress: bigint
  ioTime: bigint
  weightedIoTime: bigint
}

/** /proc/diskstats; lines with fewer than 14 columns are skipped as gopsutil does. */
export function parseDiskstats(text: string): DiskStats[] {
  const out: DiskStats[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 14) continue
    const b = (i: number): bigint => (/^\d+$/.test(f[i]!) ? BigInt(f[i]!) : 0n)
    out.push({
      name: f[2]!,
      reads: b(3),
      mergedReads: b(4),
      readSectors: b(5),
      readTime: b(6),
      writes: b(7),
      mergedWrites: b(8),
      writeSectors: b(9),
      writeTime: b(10),
      iopsInProgress: b(11),
      ioTime: b(12),
      weightedIoTime: b(13),
    })
  }
  return out
}

export interface NetDevStats {
  name: string
  bytesRecv: bigint
  packetsRecv: bigint
  errIn: bigint
  dropIn: bigint
  bytesSent: bigint
  packetsSent: bigint
  errOut: bigint
  dropOut: bigint
}

/** /proc/net/dev: two header lines, then `iface: 8 receive columns, 8 transmit columns`. */
export function parseNetDev(text: string): NetDevStats[] {
  const out: NetDevStats[] = []
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const name = line.slice(0, colon).trim()
    const f = line.slice(colon + 1).trim().split(/\s+/)
    if (f.length < 16 || name.includes('|')) continue
    const b = (i: number): bigint => (/^\d+$/.test(f[i]!) ? BigInt(f[i]!) : 0n)
    out.push({
      name,
      bytesRecv: b(0),
      packetsRecv: b(1),
      errIn: b(2),
      dropIn: b(3),
      bytesSent: b(8),
      packetsSent: b(9),
      errOut: b(10),
      dropOut: b(11),
    })
  }
  return out
}

/** Protocols gopsutil's ProtoCounters reads from /proc/net/snmp (the Telegraf field prefix). */
const SNMP_PROTOCOLS = new Set(['ip', 'icmp', 'icmpmsg', 'tcp', 'udp', 'udplite'])

/**
 * /proc/net/snmp: pairs of `Proto: Name1 Name2 …` / `Proto: v1 v2 …` lines. Returns Telegraf's
 * field names, `<protocol>_<stat>` lowercased (`tcp_activeopens`, `icmpmsg_intype3`).
 */
export function parseNetSnmp(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>()
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const header = lines[i]!
    const values = lines[i + 1]!
    const colon = header.indexOf(':')
    if (colon < 0 || values.slice(0, colon) !== header.slice(0, colon)) continue
    const proto = header.slice(0, colon).toLowerCase()
    if (!SNMP_PROTOCOLS.has(proto)) continue
    const names = header.slice(colon + 1).trim().split(/\s+/)
    const nums = values.slice(colon + 1).trim().split(/\s+/)
    if (names.length !== nums.length) continue
    names.forEach((name, j) => {
      if (/^-?\d+$/.test(nums[j]!)) out.set(`${proto}_${name.toLowerCase()}`, BigInt(nums[j]!))
    })
  }
  return out
}

export interface Mount {
  /** `major:minor` of the mounted device (mountinfo only; '' from /proc/mounts) */
  devId: string
  /** root of the mount within its filesystem; not '/' for bind mounts */
  root: string
  mountPoint: string
  fstype: string
  device: string
  /** per-mount options, plus `bind` for bind mounts as gopsutil adds it */
  opts: string[]
}

/** Undoes the octal escapes the kernel uses in mount tables (`\040` for a space, …). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

/**
 * /proc/self/mountinfo:
 * `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
 */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = []
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const pre = line.slice(0, sep).split(' ')
    const post = line.slice(sep + 3).split(' ')
    if (pre.length < 6 || post.length < 2) continue
    const root = unescapeMountField(pre[3]!)
    const opts = pre[5]!.split(',')
    if (root !== '' && root !== '/') opts.push('bind')
    out.push({
      devId: pre[2]!,
      root,
      mountPoint: unescapeMountField(pre[4]!),
      fstype: post[0]!,
      device: unescapeMountField(post[1]!),
      opts,
    })
  }
  return out
}

/** /proc/mounts (fallback when mountinfo is unavailable): `device mountpoint fstype opts 0 0`. */
export function parseMounts(text: string): Mount[] {
  const out: Mount[] = []
  for (const line of text.split('\n')) {
    const f = line.split(' ')
    if (f.length < 4) continue
    out.push({
      devId: '',
      root: '/',
      mountPoint: unescapeMountField(f[1]!),
      fstype: f[2]!,
      device: unescapeMountField(f[0]!),
      opts: f[3]!.split(','),
    })
  }
  return out
}

export interface PidStat {
  state: string
  threads: number
}

/**
 * The state and thread count from /proc/[pid]/stat. The command name is in parentheses and may
 * itself contain spaces and ')', so fields are counted from the last ')', as Telegraf does.
 */
export function parsePidStat(text: string): PidStat | undefined {
  const close = text.lastIndexOf(')')
  if (close < 0) return undefined
  const f = text.slice(close + 2).split(' ')
  if (f.length < 18 || f[0] === '') return undefined
  const threads = Number(f[17])
  return {state: f[0]![0]!, threads: Number.isFinite(threads) ? threads : 0}
}

/** glibc's `struct utmp` on Linux: 384 bytes, `ut_type` int16 at 0, `ut_user` char[32] at 44. */
const UTMP_RECORD_SIZE = 384
const UTMP_USER_OFFSET = 44
const UTMP_USER_SIZE = 32
const USER_PROCESS = 7

/** Logged-in users from a utmp file: the user names of USER_PROCESS records (what gopsutil counts). */
export function parseUtmpUsers(buf: Uint8Array): string[] {
  const users: string[] = []
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  for (let off = 0; off + UTMP_RECORD_SIZE <= buf.byteLength; off += UTMP_RECORD_SIZE) {
    if (view.getInt16(off, true) !== USER_PROCESS) continue
    const raw = buf.subarray(off + UTMP_USER_OFFSET, off + UTMP_USER_OFFSET + UTMP_USER_SIZE)
    const nul = raw.indexOf(0)
    users.push(Buffer.from(nul < 0 ? raw : raw.subarray(0, nul)).toString('utf8'))
  }
  return users
}

/** Telegraf's filter globs (`eth*`, `enp0s[0-1]`, `sd?`): a name matches when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): (name: string) => boolean {
  const res = patterns.map((p) => {
    let src = ''
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!
      if (c === '*') src += '.*'
      else if (c === '?') src += '.'
      else if (c === '[') {
        const end = p.indexOf(']', i + 1)
        if (end < 0) src += '\\['
        else {
          let cls = p.slice(i + 1, end).replace(/\\/g, '\\\\')
          if (cls.startsWith('!')) cls = '^' + cls.slice(1)
          src += `[${cls}]`
          i = end
        }
      } else src += c.replace(/[.+^${}()|\\\]]/g, '\\$&')
    }
    return new RegExp(`^${src}$`)
  })
  return (name) => res.some((re) => re.test(name))
}
