import { Effect } from "effect"
import { now } from "../ports/Clock.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import type { Stamp } from "../rules/ConversationCommand.js"

/** A fresh event id and the current time, for a command about to be decided. */
export const stamp: Effect.Effect<Stamp, never, IdGenerator> = Effect.gen(function* () {
  const ids = yield* IdGenerator
  return { eventId: yield* ids.eventId, at: yield* now }
})
