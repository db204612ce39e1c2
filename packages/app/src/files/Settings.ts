import { Config, Context, Duration, Effect, Layer } from "effect"

/** How uploads age: the time an unfinished upload lives after its last progress, and how often expired ones are swept. */
export class FilesSettings extends Context.Tag("@chat4all/app/FilesSettings")<
  FilesSettings,
  {
    readonly ttlMs: number
    readonly sweepIntervalMs: number
  }
>() {}

/** `CHAT4ALL_UPLOAD_EXPIRY` (default 24 hours) and `CHAT4ALL_UPLOAD_SWEEP_INTERVAL` (default 1 minute). */
export const layerConfig = Layer.effect(
  FilesSettings,
  Effect.gen(function* () {
    const ttl = yield* Config.duration("CHAT4ALL_UPLOAD_EXPIRY").pipe(Config.withDefault(Duration.hours(24)))
    const sweep = yield* Config.duration("CHAT4ALL_UPLOAD_SWEEP_INTERVAL").pipe(
      Config.withDefault(Duration.minutes(1)),
    )
    return { ttlMs: Duration.toMillis(ttl), sweepIntervalMs: Math.max(10, Duration.toMillis(sweep)) }
  }),
)
