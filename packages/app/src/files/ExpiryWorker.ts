import { Files } from "@chat4all/domain"
import { Effect, Layer, Schedule } from "effect"
import { FilesSettings } from "./Settings.js"

const batch = 100

/** One sweep: batches of expired uploads removed until none is left; a failure is logged and retried next time. */
const sweep = Effect.gen(function* () {
  let total = 0
  for (;;) {
    const removed = yield* Files.sweepExpired(batch)
    total += removed
    if (removed < batch) break
  }
  if (total > 0) yield* Effect.logInfo(`removed ${total} expired upload${total === 1 ? "" : "s"}`)
}).pipe(
  Effect.catchAllCause((cause) =>
    Effect.logError("the upload expiry sweep failed; retrying at the next one", cause),
  ),
)

/** Removes unfinished and failed uploads whose time ran out, every `sweepIntervalMs`, for as long as the app runs. */
export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    const settings = yield* FilesSettings
    yield* Effect.forkScoped(sweep.pipe(Effect.repeat(Schedule.spaced(settings.sweepIntervalMs))))
  }),
)
