/** PromQL's evaluation model (issue 18): not yet wired into commands; see docs/query.md. */
export type * from './ast.js'
export {ANOMALY_DEFAULT_PERIODS, ANOMALY_MAX_PERIODS, anomalyLookbackMs, DEFAULT_LOOKBACK_MS, type EvalOptions, extraHistoryMs, instantQuery, literalNumber, PromEvalError, rangeQuery, type RangeSeries, type Value, type VectorElement} from './engine.js'
export {type Labels, MemorySeriesSource, monSeries, type RawSeries, type Sample, type SeriesSource} from './series.js'
export {formatDuration, formatPromExpr} from './format.js'
