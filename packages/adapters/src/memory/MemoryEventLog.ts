import { type Event, EventLog, type Ids } from "@chat4all/domain"
import { Effect, Layer } from "effect"
import { MemoryState, type TenantState } from "./MemoryState.js"

/** The position after which to read, from a cursor this log handed out: a decimal position. */
const parse = (tenant: TenantState, cursor: string): number | undefined => {
  if (!/^[0-9]{1,15}$/.test(cursor)) return undefined
  const position = Number(cursor)
  return position <= tenant.events.length ? position : undefined
}

const visibleTo = (tenant: TenantState, userId: Ids.UserId, event: Event.Event): boolean =>
  (event.type === "member.removed" && event.data.userId === userId) ||
  tenant.conversations.get(event.conversationId)?.isMember(userId) === true

export const make = Effect.gen(function* () {
  const state = yield* MemoryState
  return EventLog.EventLog.of({
    head: (tenantId) => Effect.sync(() => String(state.tenant(tenantId).events.length)),
    since: (tenantId, userId, cursor, limit) =>
      Effect.suspend(() => {
        const tenant = state.tenant(tenantId)
        const from = parse(tenant, cursor)
        if (from === undefined) return Effect.fail(new EventLog.InvalidCursor({ cursor }))
        const events: Array<Event.Event> = []
        let position = from
        while (position < tenant.events.length && events.length < limit) {
          const event = tenant.events[position]!
          position++
          if (visibleTo(tenant, userId, event)) events.push(event)
        }
        let hasMore = false
        for (let p = position; p < tenant.events.length && !hasMore; p++)
          hasMore = visibleTo(tenant, userId, tenant.events[p]!)
        return Effect.succeed({ events, nextCursor: String(position), hasMore })
      }),
  })
})

export const layer = Layer.effect(EventLog.EventLog, make)
