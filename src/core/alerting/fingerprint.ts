import {createHash} from 'node:crypto'

/**
 * The stable identity of one alert: the group and the full label set (which includes `alertname`
 * and the rule's own labels such as `severity`), sorted, hashed with SHA-256, first 16 hex digits.
 * The same condition on the same series always gets the same fingerprint — across evaluations,
 * restarts and machines — so it is the key for dedup, state, acks, silences and the notifier's
 * dedup_key. Label order does not matter; a label with an empty value counts as absent.
 */
export function alertFingerprint(group: string, labels: Record<string, string>): string {
  const h = createHash('sha256')
  h.update(group)
  for (const name of Object.keys(labels).sort()) {
    const v = labels[name]
    if (v === '' || v === undefined) continue
    h.update('\u0000')
    h.update(name)
    h.update('\u0000')
    h.update(v)
  }

  return h.digest('hex').slice(0, 16)
}

/**
 * The notifier's grouping key (Alertmanager's `group_by`): the values of the given labels, in
 * the order given, so alerts sharing them are sent together. `['...']` groups by every label
 * (each alert on its own); an empty list puts everything in one group.
 */
export function groupKey(labels: Record<string, string>, by: readonly string[]): string {
  if (by.includes('...')) return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]))
  return JSON.stringify(by.map((k) => [k, labels[k] ?? '']))
}
