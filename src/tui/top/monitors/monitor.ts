import type {Widgets} from 'blessed'
import {formatAge, formatInterval} from '../format.js'
import type {Theme} from '../theme.js'

/**
 * A panel of the dashboard (gtop's "monitor"): it owns its widget and turns data into what the
 * widget shows. `update` compares what it would draw with what it drew last and touches the
 * widget only when that differs, returning whether the panel must be redrawn — the render loop
 * redraws only those panels (no flicker, little work at a 1 s refresh).
 */
export interface ViewContext {
  theme: Theme
  host: string
  windowMs: number
  /** the `/` filter, lower-cased ('' for none) */
  filter: string
  now: number
  /** the backend is failing: an empty panel is waiting for it, not for `mon collect` */
  outage: boolean
  /** the host's newest point when the window has none (see MetricsSnapshot.lastSeen) */
  lastSeen?: number
}

export interface Monitor<T> {
  readonly element: Widgets.BlessedElement
  update(data: T, view: ViewContext): boolean
  /** After a resize: measure again and redraw from the last data. */
  relayout(): void
}

/** Remembers the last drawn state of a panel. */
export class Drawn {
  private last?: string

  /** true (and remembers it) when `state` differs from what was drawn last */
  changed(state: unknown): boolean {
    const key = JSON.stringify(state)
    if (key === this.last) return false
    this.last = key
    return true
  }

  forget(): void {
    this.last = undefined
  }
}

/** The panel's inner size (inside the border). */
export function innerSize(el: Widgets.BlessedElement): {width: number; height: number} {
  const width = typeof el.width === 'number' ? el.width : 0
  const height = typeof el.height === 'number' ? el.height : 0
  return {width: Math.max(0, width - 2), height: Math.max(0, height - 2)}
}

/** Visible length of a string with blessed tags. */
export function visibleLength(text: string): number {
  return text.replace(/\{\/?[\w-]*\}/g, '').length
}

/**
 * The first label variant that fits the panel's top border (longest first); the last one, cut,
 * when none does. Labels longer than the border would wrap into the panel.
 */
export function fitLabel(el: Widgets.BlessedElement, variants: string[]): string {
  const room = (typeof el.width === 'number' ? el.width : 80) - 4
  for (const v of variants) if (visibleLength(v) <= room) return v
  const plain = variants[variants.length - 1]!.replace(/\{\/?[\w-]*\}/g, '')
  return plain.slice(0, Math.max(0, room))
}

/** The hint a panel shows while it has no data. */
export function noDataHint(what: string, view: ViewContext): string {
  if (view.outage) return `no ${what}: waiting for the backend`
  // data that stopped is not data that never came: say how old the newest is
  if (view.lastSeen !== undefined) return `no ${what} for ${view.host} in the last ${formatInterval(view.windowMs)}: newest ${formatAge(view.now - view.lastSeen)} old — is \`mon collect\` running?`
  return `no ${what} for ${view.host} yet — run \`mon collect\``
}

/** Whether a row passes the `/` filter (case-insensitive substring of any of the texts). */
export function passes(filter: string, ...texts: string[]): boolean {
  return filter === '' || texts.some((t) => t.toLowerCase().includes(filter))
}
