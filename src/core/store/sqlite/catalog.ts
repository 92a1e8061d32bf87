/** What the embedded store holds: `mon store info`, measurements, field keys, tag keys and values. */
import type Database from 'better-sqlite3'
import {statSync} from 'node:fs'
import type {Tags} from '../../model/point.js'
import type {FieldInfo, StoreInfo} from '../types.js'
import {keptStatement} from './statements.js'

export function catalogInfo(db: Database.Database, path: string): StoreInfo {
  const series = (db.prepare('SELECT count(*) AS n FROM series').get() as {n: number}).n
  const chunks = db.prepare('SELECT count(*) AS c, coalesce(sum(n), 0) AS n, min(t_start) AS lo, max(t_end) AS hi FROM chunks').get() as {
    c: number
    n: number
    lo: number | null
    hi: number | null
  }
  const head = db.prepare('SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM head').get() as {n: number; lo: number | null; hi: number | null}
  const points = chunks.n + head.n
  const bytes = fileSize(path) + fileSize(path + '-wal')
  const pageSize = db.pragma('page_size', {simple: true}) as number
  const livePages = (db.pragma('page_count', {simple: true}) as number) - (db.pragma('freelist_count', {simple: true}) as number)
  const lo = minDefined(chunks.lo, head.lo)
  const hi = maxDefined(chunks.hi, head.hi)
  return {
    backend: 'sqlite',
    location: path,
    series,
    points,
    oldest: lo,
    newest: hi,
    bytesOnDisk: bytes,
    bytesPerPoint: points > 0 ? (livePages * pageSize) / points : undefined,
    details: {liveBytes: livePages * pageSize, chunks: chunks.c, headRows: head.n, fields: (db.prepare('SELECT count(*) AS n FROM fields').get() as {n: number}).n},
  }
}

export function catalogMeasurements(db: Database.Database): string[] {
  return (keptStatement(db, 'SELECT DISTINCT measurement FROM series ORDER BY measurement').all() as Array<{measurement: string}>).map((r) => r.measurement)
}

export function catalogFieldKeys(db: Database.Database, measurement: string): FieldInfo[] {
  return keptStatement<[string], FieldInfo>(db, 'SELECT name, type FROM fields WHERE measurement = ? ORDER BY name').all(measurement)
}

/**
 * A measurement's series' tags (JSON text), each a string rather than a row object: the over-time
 * pushdown of every instant query asks for the tag keys, and making an object per row was about
 * half of that read.
 */
function seriesTags(db: Database.Database, measurement: string): string[] {
  return keptStatement<[string], string>(db, 'SELECT tags FROM series WHERE measurement = ?').pluck(true).all(measurement)
}

export function catalogTagKeys(db: Database.Database, measurement: string): string[] {
  const keys = new Set<string>()
  for (const tags of seriesTags(db, measurement)) {
    for (const k of Object.keys(JSON.parse(tags) as Tags)) keys.add(k)
  }

  return [...keys].sort()
}

export function catalogTagValues(db: Database.Database, measurement: string, key: string): string[] {
  const values = new Set<string>()
  for (const tags of seriesTags(db, measurement)) {
    const v = (JSON.parse(tags) as Tags)[key]
    if (v !== undefined) values.add(v)
  }

  return [...values].sort()
}

function fileSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

export function minDefined(a: number | null, b: number | null): number | undefined {
  if (a === null) return b ?? undefined
  if (b === null) return a
  return Math.min(a, b)
}

function maxDefined(a: number | null, b: number | null): number | undefined {
  if (a === null) return b ?? undefined
  if (b === null) return a
  return Math.max(a, b)
}
