import type { Presence as PresencePort } from "@chat4all/domain"
import { Schema } from "effect"
import { Iso, iso } from "./Common.js"

export const Presence = Schema.Struct({
  userId: Schema.String,
  status: Schema.Literal("online", "away", "offline"),
  lastSeen: Schema.NullOr(Iso).annotations({ description: "The last heartbeat; null for a user never seen" }),
}).annotations({ identifier: "Presence" })
export type Presence = typeof Presence.Type

export const fromPresence = (state: PresencePort.PresenceState): Presence => ({
  userId: state.userId,
  status: state.status,
  lastSeen: state.lastSeen === undefined ? null : iso(state.lastSeen),
})
