import { Presence } from "@chat4all/domain"
import { Clock, Effect, Layer } from "effect"

interface Entry {
  status: "online" | "away"
  lastSeen: number
  expiresAt: number
}

/** Presence on one node: a heartbeat holds a status until its TTL lapses, then the user reads as offline. */
export const make = Effect.sync(() => {
  const entries = new Map<string, Entry>()
  const keyOf = (tenantId: string, userId: string) => `${tenantId}\u0000${userId}`
  const read = (now: number, userId: Presence.PresenceState["userId"], entry: Entry | undefined) =>
    new Presence.PresenceState(
      entry === undefined
        ? { userId, status: "offline" }
        : { userId, status: entry.expiresAt > now ? entry.status : "offline", lastSeen: entry.lastSeen },
    )
  return Presence.Presence.of({
    heartbeat: (tenantId, userId, status, ttlMs) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const entry = { status, lastSeen: now, expiresAt: now + ttlMs }
        entries.set(keyOf(tenantId, userId), entry)
        return read(now, userId, entry)
      }),
    offline: (tenantId, userId) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const key = keyOf(tenantId, userId)
        const entry = entries.get(key)
        if (entry !== undefined) entry.expiresAt = now
        return read(now, userId, entry)
      }),
    get: (tenantId, userIds) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        userIds.map((userId) => read(now, userId, entries.get(keyOf(tenantId, userId)))),
      ),
  })
})

export const layer = Layer.effect(Presence.Presence, make)
