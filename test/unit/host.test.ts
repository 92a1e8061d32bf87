import assert from 'node:assert/strict'
import {cp, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {describe, it, before, after} from 'node:test'
import {fileURLToPath} from 'node:url'

import YAML from 'yaml'

import {ManualClock} from '../../src/core/clock.js'
import {createHostCollector, hostSampleConfig, type HostCollectorOptions, type HostInputConfig, type HostStatFs} from '../../src/core/collectors/host.js'
import {CPU_STATE_FILE, cpuUsage, loadCpuState, sampleOf, saveCpuState} from '../../src/core/collectors/host/cpu.js'
import {
  compileGlobs,
  countDistinctCoreLists,
  formatUptime,
  parseCpuinfoPhysicalCores,
  parseMountinfo,
  parseNetSnmp,
  parsePidStat,
  parseProcStat,
  parseUtmpUsers,
} from '../../src/core/collectors/host/parse.js'
import type {CollectorContext} from '../../src/core/collectors/types.js'
import {silentLogger, type Logger} from '../../src/core/log.js'
import {fieldType, type FieldType, type Point} from '../../src/core/model/point.js'

// compiled to dist/test/unit; the fixtures stay in the source tree
const here = dirname(fileURLToPath(import.meta.url))
const FIXTURE = resolve(here, '../../../test/fixtures/proc/host1')
const NOW = Date.UTC(2024, 0, 15, 12, 0, 0)

// ---------- helpers ----------

function close(actual: unknown, expected: number, what: string): void {
  assert.equal(typeof actual, 'number', `${what} is a float`)
  assert.ok(Math.abs((actual as number) - expected) < 1e-9, `${what}: ${String(actual)} ≈ ${expected}`)
}

function recordingLogger(): Logger & {warnings: string[]} {
  const warnings: string[] = []
  const logger: Logger & {warnings: string[]} = {
    ...silentLogger,
    warnings,
    warn: (msg, fields) => void warnings.push(`${msg} ${JSON.stringify(fields)}`),
    child: () => logger,
  }
  return logger
}

function context(stateDir: string, clock = new ManualClock(NOW)): CollectorContext & {clock: ManualClock; log: ReturnType<typeof recordingLogger>} {
  return {host: 'web01', globalTags: {region: 'eu'}, stateDir, clock, log: recordingLogger()}
}

/** statfs results by mount point; anything else fails like an unreachable NFS server. */
const STATFS: Record<string, HostStatFs> = {
  '/': {bsize: 4096, blocks: 1_000_000, bfree: 400_000, bavail: 350_000, files: 65_536, ffree: 60_000},
  '/home': {bsize: 4096n, blocks: 2_000_000n, bfree: 1_000_000n, bavail: 1_000_000n, files: 131_072n, ffree: 131_000n},
  '/boot/efi': {bsize: 512, blocks: 1_046_508, bfree: 1_030_000, bavail: 1_030_000, files: 0, ffree: 0},
  '/mnt/my disk': {bsize: 4096, blocks: 100, bfree: 0, bavail: 0, files: 10, ffree: 0},
  '/var': {bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0},
  '/srv/data': {bsize: 4096n, blocks: 2_000_000n, bfree: 1_000_000n, bavail: 1_000_000n, files: 131_072n, ffree: 131_000n},
  '/dev/shm': {bsize: 4096, blocks: 1000, bfree: 1000, bavail: 1000, files: 500, ffree: 499},
  '/data': {bsize: 4096, blocks: 1000, bfree: 500, bavail: 500, files: 500, ffree: 499},
  '/etc/hostname': {bsize: 4096, blocks: 1000, bfree: 500, bavail: 500, files: 500, ffree: 499},
}

interface Harness {
  root: string
  procRoot: string
  stateDir: string
  statfsCalls: string[]
  sleeps: number[]
  options(extra?: HostCollectorOptions): HostCollectorOptions
  /** makes the next /proc/stat read return the second sample */
  advanceStat(): Promise<void>
}

/** A private copy of the fixture tree (the tests rewrite /proc/stat) and a fresh state dir. */
async function harness(): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'mon-host-'))
  await cp(FIXTURE, join(root, 'host'), {recursive: true, verbatimSymlinks: true})
  const base = join(root, 'host')
  const utmpPath = join(root, 'utmp')
  await writeFile(utmpPath, utmp([[7, 'alice'], [7, 'alice'], [7, 'bob'], [6, 'LOGIN'], [2, 'reboot']]))
  const h: Harness = {
    root,
    procRoot: join(base, 'proc'),
    stateDir: join(root, 'state'),
    statfsCalls: [],
    sleeps: [],
    options: (extra = {}) => ({
      procRoot: h.procRoot,
      sysRoot: join(base, 'sys'),
      devRoot: join(base, 'dev'),
      utmpPath,
      statfs: async (path) => {
        h.statfsCalls.push(path)
        const st = STATFS[path]
        if (!st) throw Object.assign(new Error(`statfs ${path}: EHOSTDOWN`), {code: 'EHOSTDOWN'})
        return st
      },
      sleep: async (ms) => {
        h.sleeps.push(ms)
        await h.advanceStat()
      },
      ...extra,
    }),
    advanceStat: async () => cp(join(base, 'stat.t1'), join(base, 'proc', 'stat')),
  }
  return h
}

function utmp(records: Array<[type: number, user: string]>): Buffer {
  const buf = Buffer.alloc(384 * records.length)
  records.forEach(([type, user], i) => {
    buf.writeInt16LE(type, i * 384)
    buf.write(user, i * 384 + 44, 'utf8')
  })
  return buf
}

function byMeasurement(points: Point[], measurement: string): Point[] {
  return points.filter((p) => p.measurement === measurement)
}

function one(points: Point[], measurement: string, tags: Record<string, string> = {}): Point {
  const found = points.filter((p) => p.measurement === measurement && Object.entries(tags).every(([k, v]) => p.tags[k] === v))
  assert.equal(found.length, 1, `exactly one ${measurement} ${JSON.stringify(tags)} point`)
  return found[0]!
}

function types(p: Point): Record<string, FieldType> {
  return Object.fromEntries(Object.entries(p.fields).map(([k, v]) => [k, fieldType(v)]))
}

const F = 'float' as const
const I = 'integer' as const
const S = 'string' as const
const all = <T extends string>(names: string[], t: T): Record<string, T> => Object.fromEntries(names.map((n) => [n, t]))

/** Telegraf's field names and InfluxDB types, per measurement. */
const EXPECTED_FIELDS: Record<string, Record<string, FieldType>> = {
  cpu: all(
    ['usage_user', 'usage_system', 'usage_idle', 'usage_nice', 'usage_iowait', 'usage_irq', 'usage_softirq', 'usage_steal', 'usage_guest', 'usage_guest_nice'],
    F,
  ),
  mem: {
    ...all(
      [
        'total', 'available', 'used', 'active', 'buffered', 'cached', 'commit_limit', 'committed_as', 'dirty', 'free', 'high_free', 'high_total',
        'huge_pages_free', 'huge_page_size', 'huge_pages_total', 'inactive', 'low_free', 'low_total', 'mapped', 'page_tables', 'shared', 'slab',
        'sreclaimable', 'sunreclaim', 'swap_cached', 'swap_free', 'swap_total', 'vmalloc_chunk', 'vmalloc_total', 'vmalloc_used', 'write_back_tmp',
        'write_back',
      ],
      I,
    ),
    used_percent: F,
    available_percent: F,
  },
  swap: {total: I, used: I, free: I, used_percent: F, in: I, out: I},
  system: {load1: F, load5: F, load15: F, n_cpus: I, n_physical_cpus: I, n_users: I, n_unique_users: I, uptime: I, uptime_format: S},
  processes: all(['blocked', 'zombies', 'stopped', 'running', 'sleeping', 'total', 'unknown', 'dead', 'paging', 'total_threads', 'idle', 'parked'], I),
  disk: {...all(['total', 'free', 'used', 'inodes_total', 'inodes_free', 'inodes_used'], I), used_percent: F, inodes_used_percent: F},
  diskio: all(
    ['reads', 'writes', 'read_bytes', 'write_bytes', 'read_time', 'write_time', 'io_time', 'weighted_io_time', 'iops_in_progress', 'merged_reads', 'merged_writes'],
    I,
  ),
  net: all(['bytes_sent', 'bytes_recv', 'packets_sent', 'packets_recv', 'err_in', 'err_out', 'drop_in', 'drop_out', 'speed'], I),
  // disk_pages_in/out only come from kernels before 2.6 (the `page` line of /proc/stat)
  kernel: all(['boot_time', 'context_switches', 'interrupts', 'processes_forked', 'entropy_avail'], I),
}

/** Hand-computed from test/fixtures/proc/host1/proc/stat → stat.t1 (every CPU's total delta is 10 s). */
const EXPECTED_CPU: Record<string, Record<string, number>> = {
  // cpu0: user +3.0 s of which guest +0.6, nice +0.2 of which guest_nice +0.1, system +1, idle +5,
  // iowait +0.2, irq +0.1, softirq +0.3, steal +0.2 → total (guest excluded) +10 s
  cpu0: {
    usage_user: 24, usage_system: 10, usage_idle: 50, usage_nice: 1, usage_iowait: 2,
    usage_irq: 1, usage_softirq: 3, usage_steal: 2, usage_guest: 6, usage_guest_nice: 1,
  },
  cpu1: {
    usage_user: 80, usage_system: 10, usage_idle: 5, usage_nice: 0, usage_iowait: 0,
    usage_irq: 0, usage_softirq: 5, usage_steal: 0, usage_guest: 0, usage_guest_nice: 0,
  },
  // both together: total delta 20 s
  'cpu-total': {
    usage_user: 52, usage_system: 10, usage_idle: 27.5, usage_nice: 0.5, usage_iowait: 1,
    usage_irq: 0.5, usage_softirq: 4, usage_steal: 1, usage_guest: 3, usage_guest_nice: 0.5,
  },
}

function assertCpuMatchesFixture(points: Point[]): void {
  const cpu = byMeasurement(points, 'cpu')
  assert.deepEqual(cpu.map((p) => p.tags.cpu), ['cpu0', 'cpu1', 'cpu-total'])
  for (const p of cpu) {
    const expected = EXPECTED_CPU[p.tags.cpu!]!
    assert.deepEqual(Object.keys(p.fields).sort(), Object.keys(expected).sort())
    for (const [field, value] of Object.entries(expected)) close(p.fields[field], value, `${p.tags.cpu} ${field}`)
  }
}

// ---------- pure parts ----------

describe('host: parsers', () => {
  it('formats uptime as Telegraf does', () => {
    const cases: Array<[number, string]> = [
      [0, ' 0:00'],
      [59, ' 0:00'],
      [3_660, ' 1:01'],
      [86_399, '23:59'],
      [86_400, '1 day,  0:00'],
      [93_784, '1 day,  2:03'],
      [14 * 86_400 + 11 * 3600 + 7 * 60, '14 days, 11:07'],
    ]
    for (const [seconds, text] of cases) assert.equal(formatUptime(seconds), text, `${seconds}s`)
  })

  it('takes state and threads after the last ")" of /proc/[pid]/stat', () => {
    const rest = '1 405 405 0 -1 4194304 100 0 0 0 10 3 0 0 20 0 12 0 64342 3133440 411'
    const cases: Array<[string, {state: string; threads: number} | undefined]> = [
      [`405 (bash) S ${rest}\n`, {state: 'S', threads: 12}],
      [`405 (my (odd) proc) x) R ${rest}\n`, {state: 'R', threads: 12}],
      [`405 (a b c) I ${rest}`, {state: 'I', threads: 12}],
      ['405 (truncated', undefined],
      ['405 (short) S 1 2 3', undefined],
      ['', undefined],
    ]
    for (const [text, expected] of cases) assert.deepEqual(parsePidStat(text), expected, text)
  })

  it('matches Telegraf-style globs', () => {
    const cases: Array<[string[], string, boolean]> = [
      [['eth*'], 'eth0', true],
      [['eth*'], 'veth0', false],
      [['enp0s[0-1]'], 'enp0s1', true],
      [['enp0s[0-1]'], 'enp0s2', false],
      [['sd?'], 'sda', true],
      [['sd?'], 'sda1', false],
      [['lo', 'wlan0'], 'wlan0', true],
      [['a.b'], 'axb', false],
      [['nvme[!1]n1'], 'nvme0n1', true],
      [['nvme[!1]n1'], 'nvme1n1', false],
    ]
    for (const [patterns, name, expected] of cases) assert.equal(compileGlobs(patterns)(name), expected, `${patterns.join(',')} ~ ${name}`)
  })

  it('reads mountinfo: octal escapes, bind mounts, per-mount options', () => {
    const mounts = parseMountinfo(
      [
        '31 27 253:0 / /mnt/my\\040disk rw,noatime - xfs /dev/mapper/vg-data rw,attr2',
        '30 27 254:2 /data /srv/data ro,relatime shared:2 - ext4 /dev/vda2 rw',
        'garbage line',
      ].join('\n'),
    )
    assert.deepEqual(mounts, [
      {devId: '253:0', root: '/', mountPoint: '/mnt/my disk', fstype: 'xfs', device: '/dev/mapper/vg-data', opts: ['rw', 'noatime']},
      {devId: '254:2', root: '/data', mountPoint: '/srv/data', fstype: 'ext4', device: '/dev/vda2', opts: ['ro', 'relatime', 'bind']},
    ])
  })

  it('names /proc/net/snmp counters <protocol>_<stat> in lower case', async () => {
    const snmp = parseNetSnmp(await readFile(join(FIXTURE, 'proc/net/snmp'), 'utf8'))
    assert.equal(snmp.get('tcp_activeopens'), 90n)
    assert.equal(snmp.get('tcp_maxconn'), -1n)
    assert.equal(snmp.get('tcp_currestab'), 3n)
    assert.equal(snmp.get('ip_defaultttl'), 64n)
    assert.equal(snmp.get('icmpmsg_intype3'), 1n)
    assert.equal(snmp.get('udplite_indatagrams'), 0n)
    assert.ok([...snmp.keys()].every((k) => /^(ip|icmp|icmpmsg|tcp|udp|udplite)_[a-z0-9]+$/.test(k)))
  })

  it('reads the kernel counters of /proc/stat, the page line of old kernels included', () => {
    const stat = parseProcStat('cpu  1 2 3 4\nintr 100 1 2 3\nctxt 200\nbtime 1700000000\nprocesses 30\npage 5741 1808\nswap 1 0\n')
    assert.deepEqual(stat.kernel, {interrupts: 100n, contextSwitches: 200n, processesForked: 30n, diskPagesIn: 5741n, diskPagesOut: 1808n})
    assert.deepEqual(parseProcStat('cpu  1 2 3 4\nbtime 1\n').kernel, {}, 'lines the kernel does not write are absent, not 0')
  })

  it('counts physical cores as gopsutil does', () => {
    // distinct core_cpus_list contents; thread_siblings_list only when core_cpus_list is missing
    assert.equal(countDistinctCoreLists(['0,4\n', '1,5\n', '0,4\n', '1,5\n'], ['0-7']), 2)
    assert.equal(countDistinctCoreLists([], ['0-1\n', '0-1\n', '2-3\n', '2-3\n']), 2)
    assert.equal(countDistinctCoreLists([], []), 0)
    const cpuinfo = (cpus: Array<[physicalId: number, cores: number]>): string =>
      cpus.map(([id, cores], i) => `processor\t: ${i}\nphysical id\t: ${id}\ncpu cores\t: ${cores}\n`).join('\n')
    assert.equal(parseCpuinfoPhysicalCores(cpuinfo([[0, 4], [0, 4], [1, 4], [1, 4]])), 8, 'cpu cores summed over distinct sockets')
    assert.equal(parseCpuinfoPhysicalCores(cpuinfo([[0, 2], [0, 2]]) + '\n'), 2)
    assert.equal(parseCpuinfoPhysicalCores('processor\t: 0\nBogoMIPS\t: 50.00\n\n'), 0, 'no socket information (ARM)')
  })

  it('counts USER_PROCESS records of utmp only', () => {
    assert.deepEqual(parseUtmpUsers(utmp([[7, 'alice'], [6, 'LOGIN'], [8, 'gone'], [7, 'bob']])), ['alice', 'bob'])
    assert.deepEqual(parseUtmpUsers(Buffer.alloc(100)), []) // a truncated record is ignored
  })

  it('computes cpu usage from two /proc/stat samples exactly as Telegraf', async () => {
    const t0 = parseProcStat(await readFile(join(FIXTURE, 'proc/stat'), 'utf8'))
    const t1 = parseProcStat(await readFile(join(FIXTURE, 'stat.t1'), 'utf8'))
    assert.equal(t0.bootTime, 1_700_000_000)
    assert.equal(t0.cpuCount, 2)
    for (const [cpu, expected] of Object.entries(EXPECTED_CPU)) {
      const usage = cpuUsage(t0.cpus.get(cpu)!, t1.cpus.get(cpu)!)
      assert.ok(usage, cpu)
      for (const [field, value] of Object.entries(expected)) close(usage[field], value, `${cpu} ${field}`)
      // guest time is taken out of user/nice and reported on its own, so the ten fields add up to 100 %
      const sum = Object.values(usage)
        .map((v) => v as number)
        .reduce((a, b) => a + b)
      close(sum, 100, `${cpu} sum`)
    }
    assert.equal(cpuUsage(t0.cpus.get('cpu0')!, t0.cpus.get('cpu0')!), undefined, 'no time passed')
    assert.equal(cpuUsage(t1.cpus.get('cpu0')!, t0.cpus.get('cpu0')!), undefined, 'counters went backwards')
  })

  it('has a sample config that parses and only uses known options', () => {
    const uncommented = hostSampleConfig
      .split('\n')
      .map((line) => line.replace(/^(\s*)# (?!#)/, '$1'))
      .join('\n')
    const parsed = YAML.parse(uncommented) as {host: HostInputConfig}
    const expected: HostInputConfig = {
      enabled: true,
      interval: '10s',
      cpu: {percpu: true, totalcpu: true},
      disk: {mount_points: ['/'], ignore_fs: ['tmpfs', 'devtmpfs', 'devfs', 'iso9660', 'overlay', 'aufs', 'squashfs']},
      diskio: {devices: ['sda', 'sdb', 'vd*']},
      net: {interfaces: ['eth*', 'enp0s[0-1]', 'lo'], ignore_protocol_stats: false},
      tags: {rack: 'a1'},
    }
    assert.deepEqual(parsed.host, expected)
    assert.equal(YAML.parse(hostSampleConfig).host.cpu, null, 'everything is commented out by default')
  })
})

// ---------- the collector on a fixture /proc tree ----------

describe('host: collector on fixture /proc', () => {
  let h: Harness
  before(async () => {
    h = await harness()
  })
  after(async () => {
    await rm(h.root, {recursive: true, force: true})
  })

  it('emits every measurement with Telegraf names, types, tags and values', async () => {
    const ctx = context(h.stateDir)
    const collector = createHostCollector({tags: {rack: 'a1'}}, ctx, h.options())
    assert.equal(collector.name, 'host')
    const points = await collector.collect(AbortSignal.timeout(5000))

    // no previous sample anywhere: one wait, then the second sample
    assert.deepEqual(h.sleeps, [250])
    assert.deepEqual(ctx.log.warnings, [])
    assert.deepEqual(
      [...new Set(points.map((p) => p.measurement))],
      ['cpu', 'mem', 'swap', 'system', 'processes', 'disk', 'diskio', 'net', 'kernel'],
    )
    for (const p of points) {
      assert.equal(p.ts, NOW, 'one timestamp per collection')
      assert.equal(p.tags.host, 'web01')
      assert.equal(p.tags.region, 'eu')
      assert.equal(p.tags.rack, 'a1')
      if (p.measurement === 'net' && p.tags.interface === 'all') continue // protocol counters: checked below
      const expected = {...EXPECTED_FIELDS[p.measurement]!}
      if (p.measurement === 'processes' && !('parked' in p.fields)) delete expected.parked
      assert.deepEqual(types(p), expected, `${p.measurement} ${JSON.stringify(p.tags)} fields and types`)
    }

    assertCpuMatchesFixture(points)

    // meminfo: MemTotal 16e6 kB, free 4e6, buffers 0.5e6, cached 3e6 + SReclaimable 0.5e6
    const kB = (n: number): bigint => BigInt(n) * 1024n
    const mem = one(points, 'mem').fields
    assert.equal(mem.total, kB(16_000_000))
    assert.equal(mem.free, kB(4_000_000))
    assert.equal(mem.available, kB(10_000_000))
    assert.equal(mem.buffered, kB(500_000))
    assert.equal(mem.cached, kB(3_500_000))
    assert.equal(mem.used, kB(8_000_000))
    close(mem.used_percent, 50, 'mem used_percent')
    close(mem.available_percent, 62.5, 'mem available_percent')
    assert.equal(mem.slab, kB(600_000))
    assert.equal(mem.shared, kB(88_720))
    assert.equal(mem.huge_pages_total, 4n, 'page counts are not scaled')
    assert.equal(mem.huge_page_size, kB(2048))
    assert.equal(mem.write_back, kB(12))
    assert.equal(mem.swap_total, kB(2_000_000))

    const swap = one(points, 'swap').fields
    assert.deepEqual(
      {...swap, used_percent: Math.round(swap.used_percent as number)},
      {total: kB(2_000_000), used: kB(500_000), free: kB(1_500_000), used_percent: 25, in: 409_600n, out: 1_024_000n},
    )

    assert.deepEqual(one(points, 'system').fields, {
      load1: 0.52,
      load5: 0.58,
      load15: 0.59,
      n_cpus: 2n,
      n_physical_cpus: 1n, // cpu0 and cpu1 are hyperthreads of one core (core_cpus_list 0-1)
      n_users: 3n,
      n_unique_users: 2n,
      uptime: 93_784n,
      uptime_format: '1 day,  2:03',
    })

    // one process per state; pid 999's stat vanished before it could be read
    assert.deepEqual(one(points, 'processes').fields, {
      blocked: 1n,
      zombies: 1n,
      stopped: 2n,
      running: 1n,
      sleeping: 3n,
      total: 12n,
      unknown: 0n,
      dead: 1n,
      paging: 0n,
      total_threads: 26n,
      idle: 1n,
      parked: 2n,
    })

    // pseudo and ignored filesystems are never statfs()ed; /srv/data is /home's disk again, bind-
    // mounted; /etc/hostname is a file bind-mounted from the disk that is mounted whole at /data
    assert.deepEqual(h.statfsCalls.sort(), ['/', '/boot/efi', '/data', '/home', '/mnt/my disk', '/mnt/nfs', '/var'])
    const disks = byMeasurement(points, 'disk')
    assert.deepEqual(
      disks.map((p) => [p.tags.path, p.tags.device, p.tags.fstype, p.tags.mode]),
      [
        ['/', 'vda1', 'ext4', 'rw'],
        ['/home', 'vda2', 'ext4', 'rw'],
        ['/boot/efi', 'vda15', 'vfat', 'ro'],
        ['/mnt/my disk', 'dm-0', 'xfs', 'rw'],
        ['/data', 'vda4', 'ext4', 'rw'],
      ],
    )
    const root = one(points, 'disk', {path: '/'}).fields
    assert.equal(root.total, 4_096_000_000n)
    assert.equal(root.free, 1_433_600_000n)
    assert.equal(root.used, 2_457_600_000n)
    close(root.used_percent, (600_000 / 950_000) * 100, 'disk used_percent (used / (used + free))')
    assert.equal(root.inodes_used, 5536n)
    close(root.inodes_used_percent, 8.447265625, 'disk inodes_used_percent')
    close(one(points, 'disk', {path: '/boot/efi'}).fields.inodes_used_percent, 0, 'no inodes')
    close(one(points, 'disk', {path: '/mnt/my disk'}).fields.used_percent, 100, 'full disk')

    // loop/ram devices and never-used devices are left out
    assert.deepEqual(byMeasurement(points, 'diskio').map((p) => p.tags.name), ['vda', 'vda1', 'dm-0'])
    assert.deepEqual(one(points, 'diskio', {name: 'vda'}).fields, {
      reads: 30_239n,
      writes: 5547n,
      read_bytes: 1_853_082n * 512n,
      write_bytes: 1_220_000n * 512n,
      read_time: 7702n,
      write_time: 6418n,
      io_time: 3888n,
      weighted_io_time: 14_640n,
      iops_in_progress: 2n,
      merged_reads: 6631n,
      merged_writes: 19_816n,
    })

    // up, non-loopback interfaces (lo is loopback, docker0 is down), then the protocol counters
    assert.deepEqual(byMeasurement(points, 'net').map((p) => p.tags.interface), ['eth0', 'wlan0', 'all'])
    assert.deepEqual(one(points, 'net', {interface: 'eth0'}).fields, {
      bytes_sent: 521_317n,
      bytes_recv: 201_930_871n,
      packets_sent: 4410n,
      packets_recv: 160_440n,
      err_in: 3n,
      err_out: 1n,
      drop_in: 7n,
      drop_out: 2n,
      speed: 1000n,
    })
    assert.equal(one(points, 'net', {interface: 'wlan0'}).fields.speed, -1n)
    const proto = one(points, 'net', {interface: 'all'}).fields
    assert.equal(proto.tcp_activeopens, 90n)
    assert.equal(proto.udp_indatagrams, 131n)
    assert.ok(Object.values(proto).every((v) => typeof v === 'bigint'))

    // Telegraf's kernel input: intr (its total), ctxt, processes and btime of /proc/stat, the entropy pool
    assert.deepEqual(one(points, 'kernel').fields, {
      boot_time: 1_700_000_000n,
      context_switches: 602_350n,
      interrupts: 265_939n,
      processes_forked: 6270n,
      entropy_avail: 256n,
    })
  })

  it('counts physical CPUs from sysfs topology, else /proc/cpuinfo, else leaves n_physical_cpus out', async () => {
    const h2 = await harness()
    try {
      const system = async (): Promise<Point['fields']> =>
        one(await createHostCollector({}, context(h2.stateDir), h2.options()).collect(AbortSignal.timeout(5000)), 'system').fields
      const topology = join(h2.root, 'host', 'sys', 'devices', 'system', 'cpu')
      await writeFile(join(topology, 'cpu1', 'topology', 'core_cpus_list'), '1\n')
      await writeFile(join(topology, 'cpu0', 'topology', 'core_cpus_list'), '0\n')
      assert.equal((await system()).n_physical_cpus, 2n, 'two cores without hyperthreads')
      await rm(topology, {recursive: true})
      await writeFile(
        join(h2.procRoot, 'cpuinfo'),
        [0, 1, 2, 3].map((cpu) => `processor\t: ${cpu}\nphysical id\t: ${cpu >> 1}\ncore id\t\t: 0\ncpu cores\t: 1\n`).join('\n'),
      )
      assert.equal((await system()).n_physical_cpus, 2n, 'two sockets of one core each, from /proc/cpuinfo')
      await rm(join(h2.procRoot, 'cpuinfo'))
      const fields = await system()
      assert.equal(fields.n_cpus, 2n)
      assert.ok(!('n_physical_cpus' in fields), 'unknown, so not reported as 0')
    } finally {
      await rm(h2.root, {recursive: true, force: true})
    }
  })

  it('reports kernel without entropy_avail when the entropy pool is unreadable, and says so once', async () => {
    const h2 = await harness()
    try {
      await rm(join(h2.procRoot, 'sys'), {recursive: true})
      const ctx = context(h2.stateDir)
      const points = await createHostCollector({}, ctx, h2.options()).collect(AbortSignal.timeout(5000))
      assert.deepEqual(Object.keys(one(points, 'kernel').fields), ['boot_time', 'context_switches', 'interrupts', 'processes_forked'])
      assert.equal(ctx.log.warnings.length, 1)
      assert.match(ctx.log.warnings[0]!, /kernel entropy_avail/)
    } finally {
      await rm(h2.root, {recursive: true, force: true})
    }
  })

  it('honours the cpu, disk, diskio and net options', async () => {
    const h2 = await harness()
    try {
      const cfg: HostInputConfig = {
        cpu: {percpu: false},
        disk: {mount_points: ['/home', '/srv/data', '/dev/shm'], ignore_fs: []},
        diskio: {devices: ['loop*', '/dev/zram0']},
        net: {interfaces: ['lo', 'docker*'], ignore_protocol_stats: true},
      }
      const points = await createHostCollector(cfg, context(h2.stateDir), h2.options()).collect(AbortSignal.timeout(5000))
      assert.deepEqual(byMeasurement(points, 'cpu').map((p) => p.tags.cpu), ['cpu-total'])
      // listed mount points are reported as given, even the same device twice
      assert.deepEqual(byMeasurement(points, 'disk').map((p) => p.tags.path), ['/dev/shm', '/home', '/srv/data'])
      // named devices are reported even if virtual; never-used ones still are not (as gopsutil)
      assert.deepEqual(byMeasurement(points, 'diskio').map((p) => p.tags.name), ['loop1'])
      // listed interfaces are reported whatever their state; no protocol counters
      assert.deepEqual(byMeasurement(points, 'net').map((p) => p.tags.interface), ['lo', 'docker0'])
      assert.equal(one(points, 'net', {interface: 'lo'}).fields.speed, -1n)

      // start over from the first sample, without the state the run above left
      await cp(join(FIXTURE, 'proc/stat'), join(h2.procRoot, 'stat'))
      const perCpuOnly = await createHostCollector({cpu: {totalcpu: false}}, context(join(h2.root, 'state2')), h2.options()).collect(
        AbortSignal.timeout(5000),
      )
      assert.deepEqual(byMeasurement(perCpuOnly, 'cpu').map((p) => p.tags.cpu), ['cpu0', 'cpu1'])
    } finally {
      await rm(h2.root, {recursive: true, force: true})
    }
  })

  it('keeps the previous samples in memory when long-running (cpu and diskio rates)', async () => {
    const h3 = await harness()
    try {
      const ctx = context(h3.stateDir)
      const collector = createHostCollector({}, ctx, h3.options())
      const first = await collector.collect(AbortSignal.timeout(5000))
      assert.equal(h3.sleeps.length, 1)
      assert.equal(one(first, 'diskio', {name: 'vda'}).fields.io_util, undefined, 'no rate without a previous sample')

      // 10 s later: the state file is gone, the counters moved
      await rm(join(h3.stateDir, CPU_STATE_FILE))
      ctx.clock.advance(10_000)
      const statPath = join(h3.procRoot, 'stat')
      const t1 = await readFile(statPath, 'utf8')
      await writeFile(statPath, t1.replace(/^cpu0 5300 /m, 'cpu0 5400 ').replace(/^cpu {2}11100 /m, 'cpu  11200 '))
      const diskstatsPath = join(h3.procRoot, 'diskstats')
      const diskstats = await readFile(diskstatsPath, 'utf8')
      // vda: +10 reads, +10 writes, +30 ms reading, +50 ms writing, +100 ms busy
      await writeFile(diskstatsPath, diskstats.replace('vda 30239 6631 1853082 7702 5547 19816 1220000 6418 2 3888', 'vda 30249 6631 1853082 7732 5557 19816 1220000 6468 2 3988'))

      const second = await collector.collect(AbortSignal.timeout(5000))
      assert.equal(h3.sleeps.length, 1, 'no second wait: the previous sample came from memory')
      assert.deepEqual(byMeasurement(second, 'cpu').map((p) => p.tags.cpu), ['cpu0', 'cpu-total'], 'cpu1 did not move')
      close(one(second, 'cpu', {cpu: 'cpu0'}).fields.usage_user, 100, 'cpu0 only ran user code')
      const vda = one(second, 'diskio', {name: 'vda'}).fields
      close(vda.io_await, 80 / 20, 'io_await (ms per I/O)')
      close(vda.io_svctm, 100 / 20, 'io_svctm')
      close(vda.io_util, (100 * 100) / 10_000, 'io_util (% of the 10 s)')
      assert.equal(second[0]!.ts, NOW + 10_000)
    } finally {
      await rm(h3.root, {recursive: true, force: true})
    }
  })
})

// ---------- one-shot runs and the state file ----------

describe('host: cpu state file for one-shot runs', () => {
  async function withState(
    state: {ageMs: number; bootTime?: number; dropCpu1?: boolean} | 'corrupt' | 'none',
    statNow: 't0' | 't1',
  ): Promise<{h: Harness; points: Point[]}> {
    const h = await harness()
    if (statNow === 't1') await h.advanceStat()
    if (state === 'corrupt') {
      await saveCpuState(h.stateDir, sampleOf(parseProcStat('cpu 1 2 3\n'), NOW))
      await writeFile(join(h.stateDir, CPU_STATE_FILE), '{"version":1,"ts":')
    } else if (state !== 'none') {
      const t0 = parseProcStat(await readFile(join(FIXTURE, 'proc/stat'), 'utf8'))
      if (state.bootTime !== undefined) t0.bootTime = state.bootTime
      if (state.dropCpu1) {
        t0.cpus.delete('cpu1')
        t0.cpuCount = 1
      }
      await saveCpuState(h.stateDir, sampleOf(t0, NOW - state.ageMs))
    }
    const points = await createHostCollector({}, context(h.stateDir), h.options()).collect(AbortSignal.timeout(5000))
    return {h, points}
  }

  const cases: Array<{name: string; state: Parameters<typeof withState>[0]; statNow: 't0' | 't1'; sleeps: number[]}> = [
    {name: 'a fresh state file is used: no wait', state: {ageMs: 60_000}, statNow: 't1', sleeps: []},
    {name: 'a state file just under 10 minutes old is used', state: {ageMs: 599_000}, statNow: 't1', sleeps: []},
    {name: 'a stale state file (over 10 minutes) is ignored', state: {ageMs: 11 * 60_000}, statNow: 't0', sleeps: [250]},
    {name: 'a state file from before a reboot is ignored', state: {ageMs: 60_000, bootTime: 1_600_000_000}, statNow: 't0', sleeps: [250]},
    {name: 'a state file with another CPU count is ignored', state: {ageMs: 60_000, dropCpu1: true}, statNow: 't0', sleeps: [250]},
    {name: 'a state file from the future is ignored', state: {ageMs: -60_000}, statNow: 't0', sleeps: [250]},
    {name: 'a corrupt state file is ignored', state: 'corrupt', statNow: 't0', sleeps: [250]},
    {name: 'no state file: wait and sample twice', state: 'none', statNow: 't0', sleeps: [250]},
    {name: 'a state file taken 100 ms ago: wait the remaining 150 ms, then use it', state: {ageMs: 100}, statNow: 't0', sleeps: [150]},
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const {h, points} = await withState(c.state, c.statNow)
      try {
        assert.deepEqual(h.sleeps, c.sleeps)
        assertCpuMatchesFixture(points)
        // the newest sample replaces the state, for the next run
        const saved = await loadCpuState(h.stateDir)
        assert.ok(saved)
        assert.equal(saved.ts, NOW)
        assert.equal(saved.bootTime, 1_700_000_000)
        assert.equal(saved.cpuCount, 2)
        assert.equal(saved.cpus.get('cpu-total')!.user, 11_100)
      } finally {
        await rm(h.root, {recursive: true, force: true})
      }
    })
  }

  it('writes the state atomically, leaving no temp files', async () => {
    const {h} = await withState('none', 't0')
    try {
      const {readdir} = await import('node:fs/promises')
      assert.deepEqual(await readdir(h.stateDir), [CPU_STATE_FILE])
      const raw = JSON.parse(await readFile(join(h.stateDir, CPU_STATE_FILE), 'utf8')) as {cpus: Record<string, number[]>}
      assert.deepEqual(raw.cpus.cpu0, [5300, 120, 1600, 25_500, 270, 60, 130, 45, 260, 20])
    } finally {
      await rm(h.root, {recursive: true, force: true})
    }
  })

  it('stops waiting for the second sample when aborted', async () => {
    const h = await harness()
    try {
      const {sleep: _injected, ...opts} = h.options({cpuSampleWaitMs: 60_000})
      void _injected
      const collector = createHostCollector({}, context(h.stateDir), opts) // the real timer
      const controller = new AbortController()
      const started = performance.now()
      setTimeout(() => controller.abort(new Error('shutdown')), 30)
      await assert.rejects(collector.collect(controller.signal), /shutdown/)
      assert.ok(performance.now() - started < 5_000, 'returned promptly')
    } finally {
      await rm(h.root, {recursive: true, force: true})
    }
  })

  it('still reports the other measurements when a source is unreadable, and says so once', async () => {
    const h = await harness()
    try {
      await rm(join(h.procRoot, 'diskstats'))
      await rm(join(h.procRoot, 'net'), {recursive: true})
      const ctx = context(h.stateDir)
      const collector = createHostCollector({}, ctx, h.options())
      const points = await collector.collect(AbortSignal.timeout(5000))
      assert.deepEqual([...new Set(points.map((p) => p.measurement))], ['cpu', 'mem', 'swap', 'system', 'processes', 'disk', 'kernel'])
      assert.equal(ctx.log.warnings.length, 2)
      assert.match(ctx.log.warnings.join('\n'), /"measurement":"diskio"/)
      await collector.collect(AbortSignal.timeout(5000))
      assert.equal(ctx.log.warnings.length, 2, 'not repeated every interval')
    } finally {
      await rm(h.root, {recursive: true, force: true})
    }
  })
})

// ---------- this machine ----------

describe('host: collector on the real /proc', {skip: process.platform !== 'linux'}, () => {
  let stateDir: string
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'mon-host-real-'))
  })
  after(async () => {
    await rm(stateDir, {recursive: true, force: true})
  })

  it('emits the expected measurements and fields, in sane ranges, quickly', async (t) => {
    const ctx: CollectorContext = {host: 'real', globalTags: {}, stateDir, clock: {now: () => Date.now()}, log: silentLogger}
    const collector = createHostCollector({}, ctx)
    const started = performance.now()
    const points = await collector.collect(AbortSignal.timeout(10_000))
    const firstMs = performance.now() - started

    const measurements = new Set(points.map((p) => p.measurement))
    for (const m of ['cpu', 'mem', 'swap', 'system', 'processes']) assert.ok(measurements.has(m), `has ${m}`)

    const cpus = byMeasurement(points, 'cpu')
    assert.ok(cpus.some((p) => p.tags.cpu === 'cpu-total'))
    const nCpus = Number(one(points, 'system').fields.n_cpus)
    assert.equal(cpus.length, nCpus + 1)
    for (const p of [...cpus, one(points, 'mem'), one(points, 'swap'), ...byMeasurement(points, 'disk')]) {
      for (const [field, value] of Object.entries(p.fields)) {
        if (!field.endsWith('_percent') && !field.startsWith('usage_')) continue
        assert.equal(typeof value, 'number', `${p.measurement}.${field} is a float`)
        assert.ok((value as number) >= 0 && (value as number) <= 100, `${p.measurement}.${field} = ${String(value)} in 0..100`)
      }
    }
    for (const p of points) {
      if (p.measurement === 'net' && p.tags.interface === 'all') continue
      const expected = {...EXPECTED_FIELDS[p.measurement]!}
      if (p.measurement === 'processes' && !('parked' in p.fields)) delete expected.parked
      if (p.measurement === 'system' && !('n_users' in p.fields)) {
        delete expected.n_users // no utmp on this machine: left out, as Telegraf does
        delete expected.n_unique_users
      }
      if (p.measurement === 'diskio' && 'io_util' in p.fields) Object.assign(expected, {io_util: F})
      assert.deepEqual(types(p), expected, `${p.measurement} ${JSON.stringify(p.tags)}`)
    }
    const mem = one(points, 'mem').fields
    assert.ok((mem.total as bigint) > 0n && (mem.used as bigint) <= (mem.total as bigint))
    assert.ok(Number(one(points, 'processes').fields.total) > 0)
    assert.ok(Number(one(points, 'system').fields.uptime) > 0)
    const physical = Number(one(points, 'system').fields.n_physical_cpus)
    assert.ok(physical >= 1 && physical <= nCpus, `n_physical_cpus ${physical} within 1..n_cpus (${nCpus})`)
    assert.ok(Number(one(points, 'kernel').fields.context_switches) > 0)

    // steady state: the previous sample is in memory, so the next collection has cpu points
    // without waiting (its speed is measured in bench/, not asserted here)
    await new Promise((r) => setTimeout(r, 300))
    const again = await collector.collect(AbortSignal.timeout(10_000))
    assert.ok(byMeasurement(again, 'cpu').length > 0)
    t.diagnostic(`host collect: first ${firstMs.toFixed(1)} ms (incl. 250 ms cpu wait), ${points.length} points`)
  })

  it('counts processes while others start and exit under it', async () => {
    const {spawn} = await import('node:child_process')
    const ctx = {...context(stateDir, new ManualClock(Date.now())), host: 'real'}
    const collector = createHostCollector({}, ctx, {sleep: async () => {}})
    // the churn runs in a shell of its own: spawned from this process, each fork of the (large) test
    // process came between the collector's awaits, and a collect waited behind rounds of them (once
    // past its 10 s abort on a slow machine)
    const churn = spawn('sh', ['-c', 'while :; do true & true & true & true & wait; done'], {stdio: 'ignore'})
    const ended = new Promise((resolve) => churn.on('exit', resolve))
    try {
      for (let i = 0; i < 15; i++) {
        const points = await collector.collect(AbortSignal.timeout(10_000))
        const procs = one(points, 'processes').fields
        assert.ok(Number(procs.total) > 0)
        assert.ok(Number(procs.total_threads) >= Number(procs.total))
      }
      assert.equal(churn.exitCode, null, 'the churning shell ran through every collect')
    } finally {
      churn.kill('SIGKILL')
      await ended
    }
    assert.deepEqual(ctx.log.warnings, [])
  })
})
