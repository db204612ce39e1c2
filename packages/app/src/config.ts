import { Config, ConfigError, Either, LogLevel, Option, Redacted } from "effect"

/** The app's settings, each read from the environment (API.md, "Configuration"). */

/** An optional variable where set-but-empty (`VAR=`) means unset, as shells and compose files write it. */
const optional = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((value) => value.trim() !== "")))

/** 0 takes any free port (the banner says which). */
export const port = Config.integer("PORT").pipe(
  Config.validate({
    message: "PORT must be an integer from 0 to 65535",
    validation: (n) => n >= 0 && n <= 65535,
  }),
  Config.withDefault(8080),
)
export const host = Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
export const dataDir = Config.string("DATA_DIR").pipe(Config.withDefault("./.chat4all"))
/** Absent: the embedded PostgreSQL under DATA_DIR. */
export const databaseUrl = optional("DATABASE_URL").pipe(Config.map(Option.map(Redacted.make)))
const levels: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  off: LogLevel.None,
  none: LogLevel.None,
}

/** `debug`, `info` (default), `warn`, `error`, ... in any case. */
export const logLevel = Config.string("LOG_LEVEL").pipe(
  Config.mapOrFail((text) => {
    const level = levels[text.trim().toLowerCase()]
    return level === undefined
      ? Either.left(ConfigError.InvalidData([], `${text} is not one of ${Object.keys(levels).join(", ")}`))
      : Either.right(level)
  }),
  Config.withDefault(LogLevel.Info),
)

/** How tokens are verified: one of the two, the secret generated into DATA_DIR when neither is set. */
export const jwtSecret = optional("CHAT4ALL_JWT_SECRET").pipe(Config.map(Option.map(Redacted.make)))
export const jwksUrl = optional("CHAT4ALL_JWKS_URL").pipe(
  Config.mapOrFail((value) =>
    Option.match(value, {
      onNone: () => Either.right(Option.none<URL>()),
      onSome: (text) =>
        URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)
          ? Either.right(Option.some(new URL(text)))
          : Either.left(ConfigError.InvalidData([], `${text} is not an http(s) URL`)),
    }),
  ),
)

/** `off` turns every rate limit off (benchmarks); anything else but `on` is a configuration error. */
export const rateLimits = Config.literal("on", "off")("CHAT4ALL_RATE_LIMITS").pipe(Config.withDefault("on"))

/** Sends per user per conversation: the sustained rate per second and the burst above it. */
export const sendRatePerSecond = Config.number("CHAT4ALL_RATE_LIMIT_SENDS_PER_S").pipe(Config.withDefault(10))
export const sendBurst = Config.integer("CHAT4ALL_RATE_LIMIT_SENDS_BURST").pipe(Config.withDefault(30))

/** Request bodies above this many bytes answer 413 (API.md: 1 MiB). */
export const maxBodyBytes = 1024 * 1024

/** Connections to a PostgreSQL server (DATABASE_URL); the embedded database takes one. */
export const databasePoolMax = Config.integer("CHAT4ALL_DB_POOL_MAX").pipe(Config.withDefault(10))
