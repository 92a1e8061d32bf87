/**
 * InfluxDB line protocol: parse, validate and serialize.
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * `parseLineProtocol` builds points; `validateLineProtocol` gives the same verdict (the same
 * errors, the same entries kept) without building anything, for callers that keep the text as it
 * came; `checkAsciiLineProtocol` is its fast path on bytes for an ASCII body with no bad entry.
 * `serializePoint(s)` and `PointSerializer` write points. `parseLineColumns` is the embedded store's
 * fast path: the common shape of body straight into runs per series field (undefined otherwise).
 *
 * Files: common.ts (types, limits, precisions, character classes), parse.ts (text), bytes.ts
 * (the ASCII fast path), columns.ts (the store's fast path), serialize.ts, escape.ts. Import from this index.
 *
 * Behaviour and error messages follow InfluxDB's own parser (influxdata/influxdb `models/points.go`,
 * the 1.x/2.x write path, which Telegraf's output is made for). Where we differ it is on purpose
 * and marked "Deviation" below. In short:
 *
 * - Escapes: `\,` `\ ` in measurements (and `\=`, which InfluxDB also unescapes there); `\,` `\=`
 *   `\ ` in tag keys, tag values and field keys; `\"` and `\\` in string field values. A
 *   backslash before any other character is a literal backslash, so `\\` outside a string value
 *   is two backslashes, as in InfluxDB 1.x/2.x and Telegraf. (The docs' "escaping backslashes"
 *   table and InfluxDB 3 read `\\` as one backslash; we follow the servers we write to.) As a
 *   consequence a name ending with a backslash cannot be written in line protocol at all:
 *   `serializePoint` throws for those instead of writing something that InfluxDB would read
 *   differently. A newline in a name (Prometheus allows one in a label value) is written `\n`, as
 *   Telegraf's serializer does; InfluxDB and this parser read it back as a backslash and an `n`,
 *   so both stores hold the same value and writing it again gives the same text.
 * - String field values may contain literal newlines, so one point can span several physical
 *   lines. Line and column numbers in errors are physical (1-based, columns in code points).
 * - Every line is parsed; bad lines are reported and skipped, good ones returned, so the caller
 *   picks reject-all or partial write (InfluxDB does a partial write).
 * - Timestamps become integer milliseconds (the {@link Point} model): finer precisions are
 *   floored (toward negative infinity), computed from the digits so 19-digit nanosecond stamps
 *   are exact. The accepted range is InfluxDB's, ±9223372036854775806 ns.
 * - Duplicate field keys: the last value wins (TSM behaviour). Duplicate tag keys: error.
 *
 * Deviations from InfluxDB 1.x, each for a reason given where it is implemented:
 * - `\r\n` line endings are accepted (1.x reads the `\r` as part of the last token).
 * - Only spaces separate the sections (1.x also skips tabs there), as influxdata/line-protocol v2
 *   and InfluxDB 3.
 * - A newline outside quotes always ends an entry, even after a backslash.
 * - `+1`, `inf` say "invalid number" (1.x: "invalid boolean"); range errors say
 *   "value out of range" rather than quoting Go's strconv error.
 * - Unsigned `u` values are always accepted (1.x needs a build flag; 2.x accepts them).
 * - String values are limited to 64KiB, as documented (the 1.x server enforces 1MiB).
 * - `\"` is not unescaped in measurements and field keys (1.x/2.x do; the docs, Telegraf's parser
 *   and InfluxDB 3 do not).
 * - A byte order mark at the start of the input is skipped.
 */
export {formatLineError, MAX_KEY_BYTES, MAX_STRING_FIELD_BYTES, parsePrecision, type LineError, type ParseOptions, type ParseResult, type Precision, type ValidateOptions, type ValidateResult} from './common.js'
export {parseLineProtocol, validateLineProtocol} from './parse.js'
export {checkAsciiLineProtocol, checkAsciiLineProtocolParts, type AsciiCheck} from './bytes.js'
export {parseLineColumns, type ColumnSeries, type LineColumns} from './columns.js'
export {PointSerializer, serializePoint, serializePoints} from './serialize.js'
