/**
 * Field sets of the host measurements, computed from parsed /proc data exactly as Telegraf's
 * inputs (via gopsutil) compute them. Integers are bigint (InfluxDB `i`), ratios are floats.
 */
import type {FieldValue} from '../../model/point.js'
import type {DiskStats, KernelStat, LoadAvg, NetDevStats} from './parse.js'

type Fields = Record<string, FieldValue>

const ZERO = 0n

/** Telegraf `mem` on Linux (gopsutil VirtualMemory from /proc/meminfo). */
export function memFields(meminfo: Map<string, bigint>): Fields {
  const get = (key: string): bigint => meminfo.get(key) ?? ZERO
  const total = get('MemTotal')
  const free = get('MemFree')
  const buffers = get('Buffers')
  const sreclaimable = get('SReclaimable')
  // gopsutil counts reclaimable slab as cache, like free(1) does
  const cached = get('Cached') + sreclaimable
  // MemAvailable exists since Linux 3.14 (every kernel Node 20 runs on); gopsutil's fallback otherwise
  const available = meminfo.get('MemAvailable') ?? cached + free
  // gopsutil's uint64 would wrap below zero (possible in containers with odd meminfo); clamp instead
  let used = total - free - buffers - cached
  if (used < ZERO) used = ZERO
  const pct = (n: bigint): number => (total === ZERO ? 0 : (100 * Number(n)) / Number(total))
  return {
    total,
    available,
    used,
    used_percent: pct(used),
    available_percent: pct(available),
    active: get('Active'),
    buffered: buffers,
    cached,
    commit_limit: get('CommitLimit'),
    committed_as: get('Committed_AS'),
    dirty: get('Dirty'),
    free,
    high_free: get('HighFree'),
    high_total: get('HighTotal'),
    huge_pages_free: get('HugePages_Free'),
    huge_page_size: get('Hugepagesize'),
    huge_pages_total: get('HugePages_Total'),
    inactive: get('Inactive'),
    low_free: get('LowFree'),
    low_total: get('LowTotal'),
    mapped: get('Mapped'),
    page_tables: get('PageTables'),
    shared: get('Shmem'),
    slab: get('Slab'),
    sreclaimable,
    sunreclaim: get('SUnreclaim'),
    swap_cached: get('SwapCached'),
    swap_free: get('SwapFree'),
    swap_total: get('SwapTotal'),
    vmalloc_chunk: get('VmallocChunk'),
    vmalloc_total: get('VmallocTotal'),
    vmalloc_used: get('VmallocUsed'),
    write_back_tmp: get('WritebackTmp'),
    write_back: get('Writeback'),
  }
}

/** gopsutil multiplies pswpin/pswpout by a fixed 4 KiB page, whatever the real page size. */
const SWAP_PAGE_BYTES = 4096n

/** Telegraf `swap`: sizes from meminfo (= sysinfo(2) totalswap/freeswap), in/out from /proc/vmstat. */
export function swapFields(meminfo: Map<string, bigint>, vmstat: Map<string, bigint>): Fields {
  const total = meminfo.get('SwapTotal') ?? ZERO
  const free = meminfo.get('SwapFree') ?? ZERO
  const used = total - free
  return {
    total,
    used,
    free,
    used_percent: total === ZERO ? 0 : (100 * Number(used)) / Number(total),
    in: (vmstat.get('pswpin') ?? ZERO) * SWAP_PAGE_BYTES,
    out: (vmstat.get('pswpout') ?? ZERO) * SWAP_PAGE_BYTES,
  }
}

export function systemFields(
  load: LoadAvg,
  cpuCount: number,
  physicalCpuCount: number | undefined,
  uptime: number,
  uptimeFormat: string,
  users?: string[],
): Fields {
  const fields: Fields = {
    load1: load.load1,
    load5: load.load5,
    load15: load.load15,
    n_cpus: BigInt(cpuCount),
  }
  if (physicalCpuCount) fields.n_physical_cpus = BigInt(physicalCpuCount)
  if (users) {
    fields.n_users = BigInt(users.length)
    fields.n_unique_users = BigInt(new Set(users).size)
  }
  fields.uptime = BigInt(uptime)
  fields.uptime_format = uptimeFormat
  return fields
}

export interface StatFsValues {
  bsize: bigint
  blocks: bigint
  bfree: bigint
  bavail: bigint
  files: bigint
  ffree: bigint
}

/** Telegraf `disk` (gopsutil disk.Usage): note used_percent is used/(used+free), not used/total. */
export function diskFields(st: StatFsValues): Fields {
  const total = st.blocks * st.bsize
  const free = st.bavail * st.bsize
  const used = (st.blocks - st.bfree) * st.bsize
  const inodesTotal = st.files
  const inodesFree = st.ffree
  // gopsutil: a filesystem reporting more free than total inodes has no usable inode count
  const inodesUsed = inodesTotal >= inodesFree ? inodesTotal - inodesFree : ZERO
  return {
    total,
    free,
    used,
    used_percent: used + free === ZERO ? 0 : (Number(used) / (Number(used) + Number(free))) * 100,
    inodes_total: inodesTotal,
    inodes_free: inodesFree,
    inodes_used: inodesUsed,
    inodes_used_percent: inodesTotal === ZERO ? 0 : (Number(inodesUsed) / Number(inodesTotal)) * 100,
  }
}

/** /proc/diskstats counts 512-byte sectors whatever the device's sector size. */
const SECTOR_BYTES = 512n

/**
 * Telegraf `diskio`. The io_await/io_svctm/io_util rates need the previous sample of the same
 * device and are added only when one is known and no counter wrapped (as Telegraf does).
 */
export function diskioFields(d: DiskStats, prev?: DiskStats, elapsedMs?: number): Fields {
  const fields: Fields = {
    reads: d.reads,
    writes: d.writes,
    read_bytes: d.readSectors * SECTOR_BYTES,
    write_bytes: d.writeSectors * SECTOR_BYTES,
    read_time: d.readTime,
    write_time: d.writeTime,
    io_time: d.ioTime,
    weighted_io_time: d.weightedIoTime,
    iops_in_progress: d.iopsInProgress,
    merged_reads: d.mergedReads,
    merged_writes: d.mergedWrites,
  }
  if (prev) {
    const wrapped =
      d.reads < prev.reads || d.writes < prev.writes || d.readTime < prev.readTime || d.writeTime < prev.writeTime || d.ioTime < prev.ioTime
    if (!wrapped) {
      const deltaRWCount = Number(d.reads - prev.reads) + Number(d.writes - prev.writes)
      const deltaRWTime = Number(d.readTime - prev.readTime) + Number(d.writeTime - prev.writeTime)
      const deltaIOTime = Number(d.ioTime - prev.ioTime)
      if (deltaRWCount > 0) {
        fields.io_await = deltaRWTime / deltaRWCount
        fields.io_svctm = deltaIOTime / deltaRWCount
      }
      if (elapsedMs !== undefined && elapsedMs > 0) fields.io_util = (100 * deltaIOTime) / elapsedMs
    }
  }
  return fields
}

export function netFields(n: NetDevStats, speed: number): Fields {
  return {
    bytes_sent: n.bytesSent,
    bytes_recv: n.bytesRecv,
    packets_sent: n.packetsSent,
    packets_recv: n.packetsRecv,
    err_in: n.errIn,
    err_out: n.errOut,
    drop_in: n.dropIn,
    drop_out: n.dropOut,
    speed: BigInt(speed),
  }
}

/** Counts of /proc/[pid]/stat states, named as Telegraf's processes input names them on Linux. */
export class ProcessCounts {
  blocked = 0
  zombies = 0
  stopped = 0
  running = 0
  sleeping = 0
  total = 0
  unknown = 0
  dead = 0
  paging = 0
  idle = 0
  parked = 0
  totalThreads = 0

  add(state: string, threads: number): void {
    switch (state) {
      case 'R':
        this.running++
        break
      case 'S':
        this.sleeping++
        break
      case 'D':
        this.blocked++
        break
      case 'Z':
        this.zombies++
        break
      case 'X':
        this.dead++
        break
      case 'T':
      case 't':
        this.stopped++
        break
      case 'W':
        this.paging++
        break
      case 'I':
        this.idle++
        break
      case 'P':
        this.parked++
        break
      default:
        this.unknown++
    }
    this.total++
    this.totalThreads += threads
  }

  fields(): Fields {
    const fields: Fields = {
      blocked: BigInt(this.blocked),
      zombies: BigInt(this.zombies),
      stopped: BigInt(this.stopped),
      running: BigInt(this.running),
      sleeping: BigInt(this.sleeping),
      total: BigInt(this.total),
      unknown: BigInt(this.unknown),
      dead: BigInt(this.dead),
      paging: BigInt(this.paging),
      total_threads: BigInt(this.totalThreads),
      idle: BigInt(this.idle),
    }
    // Telegraf adds `parked` only once it has seen a parked kernel thread
    if (this.parked > 0) fields.parked = BigInt(this.parked)
    return fields
  }
}

/**
 * Telegraf `kernel` (its own input there): the /proc/stat counters plus the entropy pool. Fields
 * the kernel does not provide are left out (Telegraf fails the whole point on a missing entropy file).
 */
export function kernelFields(bootTime: number, stat: KernelStat, entropyAvail: bigint | undefined): Fields {
  const fields: Fields = {boot_time: BigInt(bootTime)}
  const put = (name: string, v: bigint | undefined): void => {
    if (v !== undefined) fields[name] = v
  }
  put('context_switches', stat.contextSwitches)
  put('interrupts', stat.interrupts)
  put('processes_forked', stat.processesForked)
  put('disk_pages_in', stat.diskPagesIn)
  put('disk_pages_out', stat.diskPagesOut)
  put('entropy_avail', entropyAvail)
  return fields
}
