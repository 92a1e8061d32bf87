import {mkdir, readFile, rename, unlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {FieldValue} from '../../model/point.js'
import {CPU_TIME_KEYS, type CpuTimes, type ProcStat} from './parse.js'

/** Telegraf's total: guest and guest_nice are already counted inside user and nice. */
function totalTime(t: CpuTimes): number {
  return t.user + t.system + t.nice + t.iowait + t.irq + t.softirq + t.steal + t.idle
}

/**
 * The `usage_*` percentages between two samples of one CPU, exactly as Telegraf's cpu input
 * computes them: guest time is subtracted from user (and guest_nice from nice) so the non-guest
 * fields plus idle add up to 100, and usage_guest/usage_guest_nice are reported on top.
 * Computed on the integer tick counts (the ratio is the same). Undefined when no time passed or the counters went backwards (Telegraf emits nothing then).
 */
export function cpuUsage(prev: CpuTimes, cur: CpuTimes): Record<string, FieldValue> | undefined {
  // On the integer tick counts, not seconds as gopsutil does: ticks / 100 adds rounding error that
  // can put an idle CPU at 100.00000000075 %; with whole numbers each share stays within 0..100.
  const totalDelta = totalTime(cur) - totalTime(prev)
  if (!(totalDelta > 0)) return undefined
  return {
    usage_user: (100 * (cur.user - prev.user - (cur.guest - prev.guest))) / totalDelta,
    usage_system: (100 * (cur.system - prev.system)) / totalDelta,
    usage_idle: (100 * (cur.idle - prev.idle)) / totalDelta,
    usage_nice: (100 * (cur.nice - prev.nice - (cur.guestNice - prev.guestNice))) / totalDelta,
    usage_iowait: (100 * (cur.iowait - prev.iowait)) / totalDelta,
    usage_irq: (100 * (cur.irq - prev.irq)) / totalDelta,
    usage_softirq: (100 * (cur.softirq - prev.softirq)) / totalDelta,
    usage_steal: (100 * (cur.steal - prev.steal)) / totalDelta,
    usage_guest: (100 * (cur.guest - prev.guest)) / totalDelta,
    usage_guest_nice: (100 * (cur.guestNice - prev.guestNice)) / totalDelta,
  }
}

/** A /proc/stat sample as kept between collections (in memory, and on disk for one-shot runs). */
export interface CpuSample {
  /** wall clock (ms) when it was taken, from the injected clock */
  ts: number
  bootTime: number
  cpuCount: number
  cpus: Map<string, CpuTimes>
}

export function sampleOf(stat: ProcStat, ts: number): CpuSample {
  return {ts, bootTime: stat.bootTime, cpuCount: stat.cpuCount, cpus: stat.cpus}
}

export const CPU_STATE_FILE = 'host-cpu.json'
/** An older previous sample would turn "usage now" into "average usage over the last hour". */
export const CPU_STATE_MAX_AGE_MS = 10 * 60 * 1000
const STATE_VERSION = 1

interface CpuStateFile {
  version: number
  ts: number
  bootTime: number
  cpuCount: number
  cpus: Record<string, number[]>
}

/**
 * Whether `prev` can serve as the first of two samples for `cur`: same boot (counters restart at
 * boot), same number of CPUs (hotplug renumbers them), taken before `now` and less than 10 min ago.
 */
export function isUsablePrevious(prev: CpuSample, cur: Pick<CpuSample, 'bootTime' | 'cpuCount'>, now: number): boolean {
  const age = now - prev.ts
  return prev.bootTime === cur.bootTime && prev.cpuCount === cur.cpuCount && age >= 0 && age < CPU_STATE_MAX_AGE_MS
}

/** Reads the persisted sample; undefined when missing or unreadable (a corrupt file is just ignored). */
export async function loadCpuState(stateDir: string): Promise<CpuSample | undefined> {
  let raw: string
  try {
    raw = await readFile(join(stateDir, CPU_STATE_FILE), 'utf8')
  } catch {
    return undefined
  }
  try {
    const data = JSON.parse(raw) as Partial<CpuStateFile>
    if (data.version !== STATE_VERSION || typeof data.ts !== 'number' || typeof data.bootTime !== 'number') return undefined
    if (typeof data.cpuCount !== 'number' || typeof data.cpus !== 'object' || data.cpus === null) return undefined
    const cpus = new Map<string, CpuTimes>()
    for (const [name, values] of Object.entries(data.cpus)) {
      if (!Array.isArray(values) || values.length !== CPU_TIME_KEYS.length || !values.every((v) => typeof v === 'number')) return undefined
      const t = {} as CpuTimes
      CPU_TIME_KEYS.forEach((k, i) => (t[k] = values[i]!))
      cpus.set(name, t)
    }
    return {ts: data.ts, bootTime: data.bootTime, cpuCount: data.cpuCount, cpus}
  } catch {
    return undefined
  }
}

/** Writes the sample atomically (temp file + rename) so a concurrent reader never sees half a file. */
export async function saveCpuState(stateDir: string, sample: CpuSample): Promise<void> {
  const data: CpuStateFile = {
    version: STATE_VERSION,
    ts: sample.ts,
    bootTime: sample.bootTime,
    cpuCount: sample.cpuCount,
    cpus: Object.fromEntries([...sample.cpus].map(([name, t]) => [name, CPU_TIME_KEYS.map((k) => t[k])])),
  }
  await mkdir(stateDir, {recursive: true})
  const target = join(stateDir, CPU_STATE_FILE)
  const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  try {
    await writeFile(tmp, JSON.stringify(data), {mode: 0o600})
    await rename(tmp, target)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}
