import {formatDuration} from '../../config/duration.js'
import {formatMatcher} from '../../model/matcher.js'
import type {CompiledNotify} from '../notifier.js'
import {flattenRoutes, groupKeyFor, groupLabelsFor, matchRoutes, routeMutedBy, type CompiledRoute} from './router.js'
import type {Silences} from '../mute/silences.js'

/**
 * What `mon notify routes` shows: the route tree, and for a label set the routes and receivers it
 * reaches (like `amtool config routes test`), with what would hold a notification back right now.
 */

export interface RouteView {
  id: string
  depth: number
  matchers: string[]
  receiver: string
  groupBy: string[]
  groupWait: string
  groupInterval: string
  repeatInterval: string
  continue: boolean
  muteTimeIntervals: string[]
  activeTimeIntervals: string[]
  escalation?: string
}

export interface RouteMatchView extends RouteView {
  groupKey: string
  groupLabels: Record<string, string>
  /** why this route would send nothing at the given time */
  mutedBy?: string
  channels: string[]
}

export interface RoutesExplanation {
  labels: Record<string, string>
  /** receivers reached, in route order, without repeats (amtool's output) */
  receivers: string[]
  routes: RouteMatchView[]
  /** ids of active silences that match the labels */
  silencedBy: string[]
}

function view(r: CompiledRoute, depth: number): RouteView {
  const v: RouteView = {
    id: r.id,
    depth,
    matchers: r.matchers.map(formatMatcher),
    receiver: r.receiver,
    groupBy: r.groupByAll ? ['...'] : r.groupBy,
    groupWait: formatDuration(r.groupWaitMs),
    groupInterval: formatDuration(r.groupIntervalMs),
    repeatInterval: formatDuration(r.repeatIntervalMs),
    continue: r.continue,
    muteTimeIntervals: r.muteTimeIntervals,
    activeTimeIntervals: r.activeTimeIntervals,
  }
  if (r.escalation) v.escalation = r.escalation
  return v
}

export function routeTree(notify: CompiledNotify): RouteView[] {
  return notify.root ? flattenRoutes(notify.root).map(({route, depth}) => view(route, depth)) : []
}

export function explainRoutes(notify: CompiledNotify, labels: Record<string, string>, opts: {now: number; silences?: Silences}): RoutesExplanation {
  const depths = new Map(notify.root ? flattenRoutes(notify.root).map(({route, depth}) => [route.id, depth] as const) : [])
  const routes = notify.root ? matchRoutes(notify.root, labels) : []
  const out: RouteMatchView[] = routes.map((r) => {
    const groupLabels = groupLabelsFor(r, labels)
    const m: RouteMatchView = {
      ...view(r, depths.get(r.id) ?? 0),
      groupKey: groupKeyFor(r, groupLabels),
      groupLabels,
      channels: (notify.receivers.get(r.receiver) ?? []).map((c) => c.key),
    }
    const muted = routeMutedBy(r, notify.intervals, opts.now)
    if (muted) m.mutedBy = muted
    return m
  })
  return {
    labels,
    receivers: [...new Set(out.map((r) => r.receiver))],
    routes: out,
    silencedBy: opts.silences ? opts.silences.silencedBy(labels, opts.now) : [],
  }
}
