import {parseDuration} from '../../config/duration.js'
import {matchesAll, parseMatcher, type Matcher} from '../../model/matcher.js'
import type {RouteConfig, TimeIntervalConfig} from '../config.js'
import {anyIntervalContains, compileTimeInterval, type CompiledTimeInterval} from '../mute/time-intervals.js'

/**
 * The route tree, with Alertmanager's semantics: an alert enters at the root (which matches
 * everything), descends into the first child whose matchers match — and on into further siblings
 * while the matching child says `continue: true` — and is delivered by the deepest routes it
 * reaches. receiver, group_by, group_wait, group_interval, repeat_interval and escalation are
 * inherited from the parent; mute/active time intervals are not (as in Alertmanager).
 */

export const ROUTE_DEFAULTS = {group_wait: '30s', group_interval: '5m', repeat_interval: '4h'} as const

export interface CompiledRoute {
  /** position in the tree: `0` is the root, `0.2` its third child */
  id: string
  /** Alertmanager's route key: `{}` for the root, then `/{matchers}` per level */
  key: string
  matchers: Matcher[]
  receiver: string
  /** label names to group by; ignored when groupByAll */
  groupBy: string[]
  groupByAll: boolean
  groupWaitMs: number
  groupIntervalMs: number
  repeatIntervalMs: number
  continue: boolean
  muteTimeIntervals: string[]
  activeTimeIntervals: string[]
  escalation?: string
  routes: CompiledRoute[]
}

function matchersKey(ms: Matcher[]): string {
  return `{${ms.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(',')}}`
}

export function compileRoutes(root: RouteConfig): CompiledRoute {
  const build = (cfg: RouteConfig, parent: CompiledRoute | undefined, id: string): CompiledRoute => {
    const matchers = cfg.matchers.map(parseMatcher)
    const groupBy = cfg.group_by ?? (parent ? (parent.groupByAll ? ['...'] : parent.groupBy) : [])
    const route: CompiledRoute = {
      id,
      key: parent ? `${parent.key}/${matchersKey(matchers)}` : '{}',
      matchers,
      receiver: cfg.receiver ?? parent?.receiver ?? '',
      groupBy: groupBy.includes('...') ? [] : [...groupBy].sort(),
      groupByAll: groupBy.includes('...'),
      groupWaitMs: cfg.group_wait ? parseDuration(cfg.group_wait) : (parent?.groupWaitMs ?? parseDuration(ROUTE_DEFAULTS.group_wait)),
      groupIntervalMs: cfg.group_interval ? parseDuration(cfg.group_interval) : (parent?.groupIntervalMs ?? parseDuration(ROUTE_DEFAULTS.group_interval)),
      repeatIntervalMs: cfg.repeat_interval ? parseDuration(cfg.repeat_interval) : (parent?.repeatIntervalMs ?? parseDuration(ROUTE_DEFAULTS.repeat_interval)),
      continue: cfg.continue,
      muteTimeIntervals: cfg.mute_time_intervals,
      activeTimeIntervals: cfg.active_time_intervals,
      escalation: cfg.escalation ?? parent?.escalation,
      routes: [],
    }
    route.routes = cfg.routes.map((child, i) => build(child, route, `${id}.${i}`))
    return route
  }
  return build(root, undefined, '0')
}

/** The routes an alert with these labels is delivered by, in tree order. */
export function matchRoutes(route: CompiledRoute, labels: Record<string, string>): CompiledRoute[] {
  if (!matchesAll(route.matchers, labels)) return []
  const out: CompiledRoute[] = []
  for (const child of route.routes) {
    const found = matchRoutes(child, labels)
    if (found.length === 0) continue
    out.push(...found)
    if (!child.continue) break
  }
  return out.length > 0 ? out : [route]
}

/** The labels that make the group: the route's group_by names the alert has (all labels for `...`). */
export function groupLabelsFor(route: CompiledRoute, labels: Record<string, string>): Record<string, string> {
  if (route.groupByAll) return {...labels}
  const out: Record<string, string> = {}
  for (const name of route.groupBy) if (labels[name] !== undefined && labels[name] !== '') out[name] = labels[name]
  return out
}

/** Alertmanager's group key: `{}/{severity="critical"}:{alertname="HighCPU", host="web-01"}`. */
export function groupKeyFor(route: CompiledRoute, groupLabels: Record<string, string>): string {
  const pairs = Object.keys(groupLabels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(groupLabels[k])}`)
  return `${route.key}:{${pairs.join(', ')}}`
}

/** Every route of the tree, depth first (for `mon notify routes`). */
export function flattenRoutes(route: CompiledRoute, depth = 0): Array<{route: CompiledRoute; depth: number}> {
  return [{route, depth}, ...route.routes.flatMap((r) => flattenRoutes(r, depth + 1))]
}

/** Named time intervals, compiled. */
export type TimeIntervals = Map<string, CompiledTimeInterval[]>

export function compileTimeIntervals(list: readonly TimeIntervalConfig[]): TimeIntervals {
  return new Map(list.map((t) => [t.name, t.time_intervals.map(compileTimeInterval)]))
}

/**
 * Why a route sends nothing at `at`, if it does not: inside one of its mute_time_intervals, or
 * outside all of its active_time_intervals.
 */
export function routeMutedBy(route: CompiledRoute, intervals: TimeIntervals, at: number): string | undefined {
  for (const name of route.muteTimeIntervals) if (anyIntervalContains(intervals.get(name) ?? [], at)) return `mute_time_intervals: ${name}`
  if (route.activeTimeIntervals.length > 0 && !route.activeTimeIntervals.some((name) => anyIntervalContains(intervals.get(name) ?? [], at))) {
    return `outside active_time_intervals: ${route.activeTimeIntervals.join(', ')}`
  }
  return undefined
}
