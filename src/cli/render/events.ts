import type {StoredEvent} from '../../core/model/events.js'
import {renderTable} from './table.js'

/** The user tags of an event (source has its own column). */
export function eventTags(e: StoredEvent): string {
  return Object.entries(e.tags)
    .filter(([k]) => k !== 'source')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

/** `mon events`: time, source, tags, title (and text when any event has one), oldest first. */
export function renderEvents(events: StoredEvent[]): string {
  const withText = events.some((e) => e.text !== undefined)
  const headers = ['time', 'source', 'tags', 'title', ...(withText ? ['text'] : [])]
  const rows = events.map((e) => [new Date(e.ts).toISOString(), e.source, eventTags(e), e.title, ...(withText ? [oneLine(e.text ?? '')] : [])])
  return renderTable(headers, rows)
}

function oneLine(s: string): string {
  const flat = s.replace(/\s*\n\s*/g, ' ⏎ ')
  return flat.length > 80 ? flat.slice(0, 79) + '…' : flat
}
