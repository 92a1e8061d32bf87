/** The configuration system: discovery, loading, validation, interpolation, redaction, sample. */
export {DURATION_EXAMPLES, SIZE_EXAMPLES, formatDuration, formatSize, parseDuration, parseSize, tryParseDuration, tryParseSize} from './duration.js'
export {CONFIG_FILE_NAME, defaultConfigPath, defaultDataDir, expandPath, findConfigFile, resolveDataDir} from './paths.js'
export {loadConfig, type LoadOptions, type LoadedConfig} from './load.js'
export {defaultConfig, parseConfigText, salvageDataDir, type ParseOptions} from './parse.js'
export {ConfigError, didYouMean, editDistance, formatPath, formatProblem, type ConfigProblem} from './problems.js'
export {interpolateString, InterpolationProblem, type InterpolatedString, type InterpolationOptions} from './interpolate.js'
export {REDACTED, isSecretKey, redactConfig, redactString, redactUrls, secretValues} from './redact.js'
export {SAMPLE_REQUIRED_ENV, sampleConfig, type SampleOptions} from './sample.js'
export {
  DEFAULT_RETENTION,
  agentSchema,
  apiSchema,
  configShape,
  execInputSchema,
  hostInputSchema,
  httpInputSchema,
  influxStoreSchema,
  inputsSchema,
  isCronExpression,
  isLoopbackHost,
  listenerInputSchema,
  logSchema,
  monConfigSchema,
  notifySchema,
  parseHostPort,
  prometheusInputSchema,
  retentionSchema,
  rulesSchema,
  spoolSchema,
  sqliteStoreSchema,
  storeSchema,
  tcpInputSchema,
  type AgentConfig,
  type ApiConfig,
  type ExecInputConfig,
  type HostInputConfig,
  type HttpInputConfig,
  type InfluxStoreConfig,
  type InputsConfig,
  type ListenerInputConfig,
  type LogConfig,
  type MonConfig,
  type MonConfigInput,
  type ParsedConfig,
  type PrometheusInputConfig,
  type RetentionConfig,
  type RulesConfig,
  type SpoolConfig,
  type SqliteStoreConfig,
  type StoreConfig,
  type TcpInputConfig,
} from './schema.js'
