import {isScalar, type Document, type Node} from 'yaml'
import {PositionFinder, locateNode, type ConfigPath} from '../config/problems.js'
import type {SourcePosition} from '../errors.js'

/**
 * Where a character of a YAML string value is in the file. Errors inside a rule's `expr` or an
 * annotation template are reported at the character itself, whatever the scalar's style: plain,
 * quoted (escapes such as `\"` and `''`), literal `|` or folded `>` blocks with their indentation.
 *
 * The value and the source are walked side by side; characters the value does not have in the
 * source (indentation, line folding, the backslash of an escape) are skipped. Returns the offset
 * in the source text.
 */
export function sourceOffsetOf(node: Node | undefined, text: string, valueOffset: number): number | undefined {
  if (!node || !isScalar(node) || !node.range || typeof node.value !== 'string') return node?.range?.[0]
  const value = node.value
  const [start, end] = node.range
  let j = contentStart(node.type, text, start)
  const single = node.type === 'QUOTE_SINGLE'
  const limit = Math.min(valueOffset, value.length)
  let i = 0
  while (i < limit && j < end) {
    const c = value[i]
    const s = text[j]
    if (s === c) {
      i++
      j += single && c === "'" && text[j + 1] === "'" ? 2 : 1
    } else if (s === ' ' || s === '\t' || s === '\n' || s === '\r') {
      j++ // indentation or a folded line break
    } else if (c === ' ' || c === '\n') {
      i++ // a line break folded into the value
    } else if (s === '\\' && node.type === 'QUOTE_DOUBLE') {
      j += 2 // an escape: one character of the value
      i++
    } else {
      i++
      j++
    }
  }

  // land on the character itself, not on the indentation or the backslash of an escape before it
  while (j < end && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r') && value[i] !== text[j]) j++
  if (node.type === 'QUOTE_DOUBLE' && text[j] === '\\' && value[i] !== '\\') j++
  return Math.min(j, Math.max(start, end - 1))
}

function contentStart(type: string | undefined, text: string, start: number): number {
  if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') return start + 1
  if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
    const nl = text.indexOf('\n', start)
    return nl === -1 ? start : nl + 1
  }

  return start
}

/** Positions of values (and characters inside them) in one parsed YAML file, by path. */
export class YamlLocator {
  constructor(
    readonly doc: Document,
    readonly text: string,
    readonly positions: PositionFinder,
  ) {}

  /** Where the value at `path` is written; `valueOffset` points inside a string value, `key` at its key. */
  at(path: ConfigPath, opts: {valueOffset?: number; key?: boolean} = {}): SourcePosition {
    const found = locateNode(this.doc, path)
    const node = opts.key ? (found.keyNode ?? found.node) : found.node
    const offset = opts.valueOffset === undefined ? node?.range?.[0] : sourceOffsetOf(node, this.text, opts.valueOffset)
    return offset === undefined ? this.positions.of(node) : this.positions.at(offset)
  }
}
