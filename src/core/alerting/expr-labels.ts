import {formatExpr, isAgg, type Expr} from '../query/ast.js'

/**
 * Which labels an expression's result can carry, worked out from the expression alone, so that
 * `mon rules check` can say "`mean(x) by host` only yields host" when a template reads
 * `$labels.instance`.
 *
 * `closed` means the result carries at most `labels` (an aggregation keeps only its `by` tags;
 * absent() only its `=` matchers). An open result (a raw selector, rate()) carries the series'
 * tags, which only the data knows; `labels` then lists the ones that are certain to be there.
 */
export interface OutputLabels {
  closed: boolean
  labels: string[]
  /** the sub-expression that decides it, for messages */
  source: string
}

export function outputLabels(e: Expr): OutputLabels {
  switch (e.kind) {
    case 'number':
      return {closed: true, labels: [], source: formatExpr(e)}
    case 'selector':
      return {closed: false, labels: equalityLabels(e.matchers), source: formatExpr(e)}
    case 'neg':
      return outputLabels(e.expr)
    case 'call': {
      if (isAgg(e.fn)) return {closed: true, labels: [...(e.by ?? [])], source: formatExpr(e)}
      if (e.fn === 'absent') {
        const sel = e.args[0]
        return {closed: true, labels: sel.kind === 'selector' ? equalityLabels(sel.matchers) : [], source: formatExpr(e)}
      }

      return outputLabels(e.args[0])
    }

    case 'binary': {
      if (e.left.kind === 'number') return outputLabels(e.right)
      if (e.right.kind === 'number') return outputLabels(e.left)
      // a comparison keeps the left side; arithmetic joins on identical tag sets, so the tighter side decides
      const left = outputLabels(e.left)
      if (['>', '<', '>=', '<=', '==', '!='].includes(e.op)) return left
      const right = outputLabels(e.right)
      if (left.closed) return left
      if (right.closed) return right
      return {closed: false, labels: [...new Set([...left.labels, ...right.labels])], source: left.source}
    }
  }
}

function equalityLabels(ms: Array<{name: string; op: string}>): string[] {
  return [...new Set(ms.filter((m) => m.op === '=').map((m) => m.name))]
}
