import { randomUUID } from "node:crypto"
import { IdGenerator, type Ids } from "@chat4all/domain"
import { Clock, Effect, Layer } from "effect"

/** `<13-digit ms>-<uuid v4>` from the Clock and node's CSPRNG: 122 random bits keep ids unique within a millisecond. */
const seedId = Effect.map(Clock.currentTimeMillis, (ms) => `${String(ms).padStart(13, "0")}-${randomUUID()}`)

/** The live IdGenerator. */
export const layer: Layer.Layer<IdGenerator.IdGenerator> = Layer.succeed(IdGenerator.IdGenerator, {
  messageId: seedId as Effect.Effect<Ids.MessageId>,
  eventId: seedId as Effect.Effect<Ids.EventId>,
  conversationId: seedId as Effect.Effect<Ids.ConversationId>,
})
