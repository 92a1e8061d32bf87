import type {StateDb} from '../../state/db.js'

/**
 * What each channel was last told about each group — Alertmanager's notification log. The
 * dispatcher compares a group's alerts with it to decide whether there is news (a new alert, a
 * resolution) or a repeat is due; kept in state.db so a restart does not notify again.
 */
export interface NotificationLogEntry {
  firing: string[]
  resolved: string[]
  notifiedAt: number
}

export interface LogKey {
  routeId: string
  groupKey: string
  receiver: string
  channel: string
}

export class NotificationLog {
  constructor(private readonly db: StateDb) {}

  get(k: LogKey): NotificationLogEntry | undefined {
    const r = this.db
      .prepare('SELECT firing, resolved, notified_at FROM notify_log WHERE route_id = ? AND group_key = ? AND receiver = ? AND channel = ?')
      .get(k.routeId, k.groupKey, k.receiver, k.channel) as {firing: string; resolved: string; notified_at: number} | undefined
    return r ? {firing: JSON.parse(r.firing) as string[], resolved: JSON.parse(r.resolved) as string[], notifiedAt: r.notified_at} : undefined
  }

  set(k: LogKey, e: NotificationLogEntry): void {
    this.db
      .prepare('INSERT OR REPLACE INTO notify_log (route_id, group_key, receiver, channel, firing, resolved, notified_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(k.routeId, k.groupKey, k.receiver, k.channel, JSON.stringify([...e.firing].sort()), JSON.stringify([...e.resolved].sort()), e.notifiedAt)
  }

  /** Does any channel remember telling anyone that this alert fires in this group? */
  notifiedFiring(routeId: string, groupKey: string, fingerprint: string): boolean {
    const rows = this.db.prepare('SELECT firing FROM notify_log WHERE route_id = ? AND group_key = ?').all(routeId, groupKey) as Array<{firing: string}>
    return rows.some((r) => (JSON.parse(r.firing) as string[]).includes(fingerprint))
  }

  /** HA mode, on becoming the notifier: the log becomes what the cluster's shared log says was delivered. */
  replaceAll(entries: ReadonlyArray<{key: LogKey; entry: NotificationLogEntry}>): void {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM notify_log').run()
        for (const e of entries) this.set(e.key, e.entry)
      })
      .immediate()
  }

  /** Forget entries not touched since `before`. */
  purge(before: number): number {
    return this.db.prepare('DELETE FROM notify_log WHERE notified_at < ?').run(before).changes
  }
}
