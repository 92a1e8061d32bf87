import type {ParsedQuery} from './ast.js'
import {parseQuery} from './parser.js'

/**
 * Parsed queries by their exact text, for a server that is asked the same few queries again and
 * again (a dashboard refreshing its panels through the daemon's Prometheus API): the parse and type
 * check were ~5 % of the daemon's CPU for a 24 h instant query, every request the same text.
 *
 * A parsed query is never modified after parsing (the evaluator and the executor only read it; an
 * alert rule holds one for its whole life the same way), so one may serve every request with that
 * text. Only successful parses are kept (a bad query throws each time, with its caret). Bounded:
 * at most `maxEntries` texts, least recently used first out, and none longer than `maxTextLength`
 * characters (a large generated query is parsed each time rather than held).
 */
export class ParseCache {
  private readonly entries = new Map<string, ParsedQuery>()

  constructor(
    readonly maxEntries = 256,
    readonly maxTextLength = 4096,
    private readonly parse: (text: string) => ParsedQuery = parseQuery,
  ) {}

  /** The parsed query of `text` (throws as parseQuery does). */
  get(text: string): ParsedQuery {
    const known = this.entries.get(text)
    if (known !== undefined) {
      // most recently used last: the Map's order is the eviction order
      this.entries.delete(text)
      this.entries.set(text, known)
      return known
    }

    const parsed = this.parse(text)
    if (text.length <= this.maxTextLength && this.maxEntries > 0) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
      this.entries.set(text, parsed)
    }

    return parsed
  }

  get size(): number {
    return this.entries.size
  }
}
