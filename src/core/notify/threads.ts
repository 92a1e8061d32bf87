import type {StateDb} from '../state/db.js'
import type {ThreadRef, ThreadStore} from './channels/common.js'

/** Slack thread anchors in state.db, so replies still land in the right thread after a restart. */
export function dbThreadStore(db: StateDb, now: () => number = Date.now): ThreadStore {
  return {
    get(key) {
      const r = db.prepare('SELECT ts, channel FROM notify_threads WHERE stream = ?').get(key) as ThreadRef | undefined
      return r ? {ts: r.ts, channel: r.channel} : undefined
    },
    set(key, ref) {
      db.prepare('INSERT OR REPLACE INTO notify_threads (stream, ts, channel, created_at) VALUES (?, ?, ?, ?)').run(key, ref.ts, ref.channel, now())
    },
    clear(key) {
      db.prepare('DELETE FROM notify_threads WHERE stream = ?').run(key)
    },
  }
}
