import type {Tags} from '../../model/point.js'

/** One step of the tag-set trie: the id of the tag set that ends here, and the steps after it. */
interface TagNode<T> {
  value?: T
  /** tag name → tag value → node */
  next?: Map<string, Map<string, TagNode<T>>>
}

/**
 * An in-memory index of (measurement, tag set) → T that answers a hit without building the
 * canonical series key: a trie over the tag pairs in name order, so a lookup is a few Map gets
 * on the short strings the point already holds. Building `seriesKey()` (sort, escape, concatenate)
 * and hashing the long result for every point was most of the embedded store's ingest time.
 * Tags with an empty value are skipped, as `seriesKey()` (and InfluxDB) drop them.
 */
export class SeriesIndex<T> {
  private readonly roots = new Map<string, TagNode<T>>()

  get(measurement: string, tags: Tags): T | undefined {
    let node = this.roots.get(measurement)
    if (!node) return undefined
    for (const name of sortedNames(tags)) {
      const v = tags[name]
      if (v === '' || v === undefined) continue
      node = node.next?.get(name)?.get(v)
      if (!node) return undefined
    }

    return node.value
  }

  set(measurement: string, tags: Tags, value: T): void {
    let node = this.roots.get(measurement)
    if (!node) this.roots.set(measurement, (node = {}))
    for (const name of sortedNames(tags)) {
      const v = tags[name]
      if (v === '' || v === undefined) continue
      node.next ??= new Map()
      let byValue = node.next.get(name)
      if (!byValue) node.next.set(name, (byValue = new Map()))
      let child = byValue.get(v)
      if (!child) byValue.set(v, (child = {}))
      node = child
    }

    node.value = value
  }

  clear(): void {
    this.roots.clear()
  }
}

/** Tag names in code-unit order (as `seriesKey()` sorts them); usually already sorted, then not copied. */
function sortedNames(tags: Tags): string[] {
  const names = Object.keys(tags)
  for (let i = 1; i < names.length; i++) if (names[i - 1] > names[i]) return names.sort()
  return names
}

/** (measurement, field name) → T, two levels of Map so a hit concatenates nothing. */
export class FieldIndex<T> {
  private readonly byMeasurement = new Map<string, Map<string, T>>()

  get(measurement: string, name: string): T | undefined {
    return this.byMeasurement.get(measurement)?.get(name)
  }

  set(measurement: string, name: string, value: T): void {
    let names = this.byMeasurement.get(measurement)
    if (!names) this.byMeasurement.set(measurement, (names = new Map()))
    names.set(name, value)
  }

  clear(): void {
    this.byMeasurement.clear()
  }
}
