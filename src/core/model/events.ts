import type {Point} from './point.js'

/**
 * Events (deploy markers, log matches, alert transitions) are points in measurement `events`:
 * tags {source, …user tags}, fields {value: 1, title, text?}. `count_over_time(events{source="tail"}[5m])`
 * counts them in rules; title/text are read as raw string fields.
 */
export function eventPoint(e: {title: string; text?: string; tags?: Record<string, string>; source: string; ts: number}): Point {
  return {measurement: 'events', tags: {source: e.source, ...e.tags}, fields: {value: 1, title: e.title, ...(e.text ? {text: e.text} : {})}, ts: e.ts}
}
