import { Clock, Effect, Layer } from "effect"
import type { ConversationId, EventId, MessageId } from "../model/Ids.js"
import { IdGenerator } from "../ports/IdGenerator.js"

let counter = 0

/** A UUID v4 made from a counter and a per-process salt: valid, unique, and cheap (no CSPRNG). */
const countedUuid = (salt: string): string => {
  const n = (++counter).toString(16).padStart(12, "0").slice(-12)
  return `${salt}-0000-4000-8000-${n}`
}

/**
 * An IdGenerator for tests and benchmarks: seed-format ids from the Clock and a counter, so they are
 * unique within a millisecond without randomness. Production uses `@chat4all/adapters/system`.
 */
export const layer: Layer.Layer<IdGenerator> = Layer.sync(IdGenerator, () => {
  const salt = Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, "0")
  const next = Effect.map(
    Clock.currentTimeMillis,
    (ms) => `${String(ms).padStart(13, "0")}-${countedUuid(salt)}`,
  )
  return {
    messageId: next as Effect.Effect<MessageId>,
    eventId: next as Effect.Effect<EventId>,
    conversationId: next as Effect.Effect<ConversationId>,
  }
})
