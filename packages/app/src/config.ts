import { Config, LogLevel } from "effect"

/** The app's settings, each read from the environment (API.md, "Configuration"). */

export const port = Config.port("PORT").pipe(Config.withDefault(8080))
export const host = Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
export const dataDir = Config.string("DATA_DIR").pipe(Config.withDefault("./.chat4all"))
/** Absent: the embedded PostgreSQL under DATA_DIR. */
export const databaseUrl = Config.option(Config.redacted("DATABASE_URL"))
export const logLevel = Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))

/** How tokens are verified: one of the two, the secret generated into DATA_DIR when neither is set. */
export const jwtSecret = Config.option(Config.redacted("CHAT4ALL_JWT_SECRET"))
export const jwksUrl = Config.option(Config.url("CHAT4ALL_JWKS_URL"))

/** `off` turns every rate limit off (benchmarks); anything else but `on` is a configuration error. */
export const rateLimits = Config.literal("on", "off")("CHAT4ALL_RATE_LIMITS").pipe(Config.withDefault("on"))

/** Sends per user per conversation: the sustained rate per second and the burst above it. */
export const sendRatePerSecond = Config.number("CHAT4ALL_RATE_LIMIT_SENDS_PER_S").pipe(Config.withDefault(10))
export const sendBurst = Config.integer("CHAT4ALL_RATE_LIMIT_SENDS_BURST").pipe(Config.withDefault(30))

/** Request bodies above this many bytes answer 413 (API.md: 1 MiB). */
export const maxBodyBytes = 1024 * 1024
