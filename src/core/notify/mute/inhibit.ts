import {matchesAll, parseMatcher, type Matcher} from '../../model/matcher.js'
import type {InhibitRuleConfig} from '../config.js'

/**
 * Inhibition, as in Alertmanager: while an alert matching a rule's source matchers fires, alerts
 * matching its target matchers that carry the same values for the `equal` labels are not notified
 * (a label missing on both sides counts as equal). An alert that matches both sides of a rule is
 * not inhibited by alerts that also match both sides (including itself), so a rule like
 * "critical inhibits warning on the same host" cannot make alerts inhibit each other in a loop.
 */

export interface InhibitRule {
  source: Matcher[]
  target: Matcher[]
  equal: string[]
}

export interface InhibitableAlert {
  fingerprint: string
  labels: Record<string, string>
}

export function compileInhibitRules(rules: readonly InhibitRuleConfig[]): InhibitRule[] {
  return rules.map((r) => ({source: r.source_matchers.map(parseMatcher), target: r.target_matchers.map(parseMatcher), equal: r.equal}))
}

export class Inhibitor {
  constructor(private readonly rules: readonly InhibitRule[]) {}

  /**
   * The fingerprint of a firing alert that inhibits `target`, if any. `firing` is every alert
   * firing now (silenced ones included: a silenced outage still explains its symptoms).
   */
  inhibitedBy(target: InhibitableAlert, firing: Iterable<InhibitableAlert>): string | undefined {
    if (this.rules.length === 0) return undefined
    const sources = [...firing]
    for (const rule of this.rules) {
      if (!matchesAll(rule.target, target.labels)) continue
      const targetIsSource = matchesAll(rule.source, target.labels)
      for (const s of sources) {
        if (s.fingerprint === target.fingerprint) continue
        if (!matchesAll(rule.source, s.labels)) continue
        if (targetIsSource && matchesAll(rule.target, s.labels)) continue
        if (rule.equal.every((name) => (s.labels[name] ?? '') === (target.labels[name] ?? ''))) return s.fingerprint
      }
    }
    return undefined
  }
}
