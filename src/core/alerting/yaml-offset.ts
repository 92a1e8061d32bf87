import {isScalar, type Node} from 'yaml'

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

  // land on the character itself, not on the indentation before it
  while (j < end && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r') && value[i] !== text[j]) j++
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
