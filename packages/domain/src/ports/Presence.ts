import { Context, type Effect, Schema } from "effect"
import type { TenantId } from "../model/Ids.js"
import { UserId } from "../model/Ids.js"

export const PresenceStatus = Schema.Literal("online", "away", "offline")
export type PresenceStatus = typeof PresenceStatus.Type

export class PresenceState extends Schema.Class<PresenceState>("PresenceState")({
  userId: UserId,
  status: PresenceStatus,
  /** Epoch ms of the last heartbeat; undefined for a user never seen. */
  lastSeen: Schema.optional(Schema.Number),
}) {}

/**
 * Who is online. A heartbeat holds a status for `ttlMs`; once it lapses the user reads as offline with
 * the time of their last heartbeat. Cluster-wide when the adapter is shared (JetStream KV).
 */
export class Presence extends Context.Tag("@chat4all/domain/Presence")<
  Presence,
  {
    readonly heartbeat: (
      tenantId: TenantId,
      userId: UserId,
      status: "online" | "away",
      ttlMs: number,
    ) => Effect.Effect<PresenceState>
    readonly offline: (tenantId: TenantId, userId: UserId) => Effect.Effect<PresenceState>
    readonly get: (
      tenantId: TenantId,
      userIds: ReadonlyArray<UserId>,
    ) => Effect.Effect<ReadonlyArray<PresenceState>>
  }
>() {}
