import { type Caller, type Ids, Presence } from "@chat4all/domain"
import { Effect } from "effect"

/** A heartbeat holds a status this long (API.md: a heartbeat lapses after 60 s). */
export const heartbeatTtlMs = 60_000

/**
 * Presence use cases. They belong beside the others in `@chat4all/domain` (`usecases/`), which has none
 * for presence yet; until then the app keeps these two here so that handlers still only call use cases.
 */
export const heartbeat = (caller: Caller.Caller, status: "online" | "away") =>
  Effect.flatMap(Presence.Presence, (presence) =>
    presence.heartbeat(caller.tenantId, caller.userId, status, heartbeatTtlMs),
  )

/** Presence of users of the caller's tenant, in the order asked. */
export const presenceOf = (caller: Caller.Caller, userIds: ReadonlyArray<Ids.UserId>) =>
  Effect.flatMap(Presence.Presence, (presence) => presence.get(caller.tenantId, userIds))
