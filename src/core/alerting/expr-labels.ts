import {formatExpr, type PromExpr} from '../query/ast.js'
import {METRIC_NAME} from '../query/eval/series.js'

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

export function outputLabels(e: PromExpr): OutputLabels {
  switch (e.kind) {
    case 'number':
    case 'string':
      return {closed: true, labels: [], source: formatExpr(e)}
    case 'vector':
      return {closed: false, labels: equalityLabels(e.matchers), source: formatExpr(e)}
    case 'matrix':
      return outputLabels(e.selector)
    case 'subquery':
    case 'unary':
      return outputLabels(e.expr)
    case 'aggregation':
      if (e.without) return {...outputLabels(e.expr), source: formatExpr(e)}
      if (e.op === 'topk' || e.op === 'bottomk') return outputLabels(e.expr)
      return {closed: true, labels: e.op === 'count_values' && e.param?.kind === 'string' ? [...e.grouping, e.param.value] : [...e.grouping], source: formatExpr(e)}
    case 'call': {
      if (e.func === 'absent' || e.func === 'absent_over_time') {
        const arg = e.args[0]
        const sel = arg?.kind === 'vector' ? arg : arg?.kind === 'matrix' ? arg.selector : undefined
        return {closed: true, labels: sel ? equalityLabels(sel.matchers) : [], source: formatExpr(e)}
      }

      if (e.func === 'time' || e.func === 'vector' || e.func === 'scalar') return {closed: true, labels: [], source: formatExpr(e)}
      const first = e.args.find((a) => a.kind !== 'number' && a.kind !== 'string')
      if (!first) return {closed: true, labels: [], source: formatExpr(e)}
      const inner = outputLabels(first)
      if (e.func === 'label_replace' || e.func === 'label_join') {
        const dst = e.args[1]
        return {...inner, labels: dst?.kind === 'string' ? [...new Set([...inner.labels, dst.value])] : inner.labels, closed: dst?.kind === 'string' ? inner.closed : false}
      }

      if (e.func === 'histogram_quantile') return {...inner, labels: inner.labels.filter((l) => l !== 'le')}
      return inner
    }

    case 'binary': {
      if (e.lhs.kind === 'number') return outputLabels(e.rhs)
      if (e.rhs.kind === 'number') return outputLabels(e.lhs)
      const left = outputLabels(e.lhs)
      const right = outputLabels(e.rhs)
      if (e.op === 'or') return {closed: left.closed && right.closed, labels: left.labels.filter((l) => right.labels.includes(l)), source: left.source}
      if (e.op === 'and' || e.op === 'unless') return left
      // group_right keeps the right side's labels; include labels come from the other side
      const many = e.matching?.group === 'right' ? right : left
      const include = e.matching?.include ?? []
      if (e.matching?.on && !e.matching.group) return {closed: true, labels: e.matching.labels.filter((l) => l !== METRIC_NAME), source: left.source}
      if (e.matching?.group) return {...many, labels: [...new Set([...many.labels, ...include])]}
      if (['>', '<', '>=', '<=', '==', '!='].includes(e.op)) return left
      if (left.closed) return left
      if (right.closed) return right
      return {closed: false, labels: [...new Set([...left.labels, ...right.labels])], source: left.source}
    }
  }
}

function equalityLabels(ms: Array<{name: string; op: string}>): string[] {
  return [...new Set(ms.filter((m) => m.op === '=' && m.name !== METRIC_NAME).map((m) => m.name))]
}
