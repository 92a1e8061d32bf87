import {randomUUID} from 'node:crypto'
import {InputError, UserError} from '../../errors.js'
import {formatMatcher, matches, matchesAll, parseMatcher, type Matcher} from '../../model/matcher.js'
import type {StateDb} from '../../state/db.js'

/**
 * Silences: label matchers (=, !=, =~, !~; regexes anchored) with a start and an end, who made
 * them and why, kept in state.db so every process (daemon, CLI, `mon top`) sees the same ones.
 * A silenced alert still fires and is listed; it just is not notified. Like Alertmanager, a silence
 * is never deleted by expiring it: its end moves to now, so the history stays.
 */

export type SilenceState = 'active' | 'pending' | 'expired'

export interface Silence {
  id: string
  matchers: Matcher[]
  startsAt: number
  endsAt: number
  createdBy: string
  comment: string
  createdAt: number
  updatedAt: number
  state: SilenceState
}

export interface NewSilence {
  /** Matcher objects or their text (`severity="critical"`, `host=~"web-.*"`). */
  matchers: Array<Matcher | string>
  /** default: now */
  startsAt?: number
  endsAt: number
  createdBy: string
  comment?: string
}

interface Row {
  id: string
  matchers: string
  starts_at: number
  ends_at: number
  created_by: string
  comment: string
  created_at: number
  updated_at: number
}

export function silenceState(s: {startsAt: number; endsAt: number}, now: number): SilenceState {
  if (s.endsAt <= now) return 'expired'
  return s.startsAt > now ? 'pending' : 'active'
}

function fromRow(r: Row, now: number): Silence {
  const s = {
    id: r.id,
    matchers: JSON.parse(r.matchers) as Matcher[],
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    createdBy: r.created_by,
    comment: r.comment,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
  return {...s, state: silenceState(s, now)}
}

export function formatMatchers(ms: readonly Matcher[]): string {
  return `{${ms.map(formatMatcher).join(', ')}}`
}

/** A silence's matchers against one label set. */
export function silenceMatches(s: Pick<Silence, 'matchers'>, labels: Record<string, string>): boolean {
  return matchesAll(s.matchers, labels)
}

export class Silences {
  constructor(private readonly db: StateDb) {}

  createSilence(input: NewSilence, now: number): Silence {
    const silence = this.prepareSilence(input, now)
    this.insertSilence(silence)
    return silence
  }

  /** A checked new silence (a fresh id), not yet stored: what createSilence stores, and what a cluster daemon publishes first. */
  prepareSilence(input: NewSilence, now: number): Silence {
    const matchers = input.matchers.map((m) => (typeof m === 'string' ? parseMatcher(m) : m))
    if (matchers.length === 0) throw new InputError('a silence needs at least one matcher', {hint: 'e.g. alertname="DiskFull" host="db-1"'})
    // Alertmanager's rule: a silence whose matchers all match the empty string silences everything.
    if (matchers.every((m) => matches(m, {}))) {
      throw new InputError(`the silence ${formatMatchers(matchers)} would match every alert`, {hint: 'add a matcher that does not match the empty string, e.g. alertname="DiskFull"'})
    }
    const startsAt = input.startsAt ?? now
    if (!(input.endsAt > startsAt)) throw new InputError('a silence must end after it starts')
    if (input.endsAt <= now) throw new InputError('the silence would already be over', {hint: 'give an end time in the future (or a duration such as 2h)'})
    if (!input.createdBy.trim()) throw new InputError('a silence needs its creator (createdBy)')
    const silence: Silence = {
      id: randomUUID(),
      matchers,
      startsAt,
      endsAt: input.endsAt,
      createdBy: input.createdBy.trim(),
      comment: (input.comment ?? '').trim(),
      createdAt: now,
      updatedAt: now,
      state: silenceState({startsAt, endsAt: input.endsAt}, now),
    }
    return silence
  }

  /** Stores a silence as it is (its id kept); one with that id already stored stays as it was. Returns whether it was new. */
  insertSilence(s: Omit<Silence, 'state'>): boolean {
    return (
      this.db
        .prepare('INSERT OR IGNORE INTO notify_silences (id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(s.id, JSON.stringify(s.matchers), s.startsAt, s.endsAt, s.createdBy, s.comment, s.createdAt, s.updatedAt).changes === 1
    )
  }

  /** By full id or a unique prefix of at least 4 characters (ids are long to type). */
  getSilence(idOrPrefix: string, now: number): Silence | undefined {
    const exact = this.db.prepare('SELECT * FROM notify_silences WHERE id = ?').get(idOrPrefix) as Row | undefined
    if (exact) return fromRow(exact, now)
    if (idOrPrefix.length < 4) return undefined
    const rows = this.db.prepare("SELECT * FROM notify_silences WHERE id LIKE ? ESCAPE '\\' LIMIT 2").all(idOrPrefix.replace(/[\\%_]/g, '\\$&') + '%') as Row[]
    if (rows.length > 1) throw new InputError(`silence id prefix '${idOrPrefix}' is ambiguous`, {hint: 'give more characters of the id'})
    return rows[0] ? fromRow(rows[0], now) : undefined
  }

  /** End a silence now (a pending one ends before it starts). Expiring an expired silence is an error. */
  expireSilence(idOrPrefix: string, now: number): Silence {
    const s = this.getSilence(idOrPrefix, now)
    if (!s) throw new InputError(`no silence with id '${idOrPrefix}'`, {hint: 'list them with: mon alerts silence list'})
    if (s.state === 'expired') throw new UserError(`silence ${s.id} has already expired`)
    const startsAt = Math.min(s.startsAt, now)
    this.db.prepare('UPDATE notify_silences SET starts_at = ?, ends_at = ?, updated_at = ? WHERE id = ?').run(startsAt, now, now, s.id)
    return {...s, startsAt, endsAt: now, updatedAt: now, state: 'expired'}
  }

  /** Newest first. */
  listSilences(opts: {now: number; state?: SilenceState | 'all'}): Silence[] {
    const rows = this.db.prepare('SELECT * FROM notify_silences ORDER BY created_at DESC, id').all() as Row[]
    const all = rows.map((r) => fromRow(r, opts.now))
    const state = opts.state ?? 'all'
    return state === 'all' ? all : all.filter((s) => s.state === state)
  }

  /** Active silences at `now`, for checking many alerts at once. */
  active(now: number): Silence[] {
    const rows = this.db.prepare('SELECT * FROM notify_silences WHERE starts_at <= ? AND ends_at > ?').all(now, now) as Row[]
    return rows.map((r) => fromRow(r, now))
  }

  /** Ids of the active silences that match these labels. */
  silencedBy(labels: Record<string, string>, now: number): string[] {
    return this.active(now)
      .filter((s) => silenceMatches(s, labels))
      .map((s) => s.id)
  }

  isSilenced(labels: Record<string, string>, now: number): boolean {
    return this.silencedBy(labels, now).length > 0
  }

  /** Forget silences that ended before `before` (retention). */
  purgeExpired(before: number): number {
    return this.db.prepare('DELETE FROM notify_silences WHERE ends_at < ?').run(before).changes
  }
}
