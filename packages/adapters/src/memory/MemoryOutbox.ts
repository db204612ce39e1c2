import { Outbox } from "@chat4all/domain"
import { Clock, Effect, Layer } from "effect"
import { MemoryState } from "./MemoryState.js"

export const make = Effect.gen(function* () {
  const state = yield* MemoryState
  return Outbox.Outbox.of({
    claim: ({ limit, leaseMs }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const claimed: Array<Outbox.OutboxEntry> = []
        for (const row of state.outbox.values()) {
          if (claimed.length >= limit) break
          if (row.availableAt > now || row.leasedUntil > now) continue
          row.leasedUntil = now + leaseMs
          row.attempts++
          claimed.push({ id: row.id, event: row.event, attempts: row.attempts })
        }
        return claimed
      }),
    complete: (ids) =>
      Effect.sync(() => {
        for (const id of ids) state.outbox.delete(id)
      }),
    release: (id, retryAt) =>
      Effect.sync(() => {
        const row = state.outbox.get(id)
        if (row === undefined) return
        row.leasedUntil = 0
        row.availableAt = retryAt
      }),
    depth: Effect.sync(() => {
      let oldestAt: number | undefined
      for (const row of state.outbox.values()) oldestAt = Math.min(oldestAt ?? row.event.at, row.event.at)
      return { count: state.outbox.size, oldestAt }
    }),
  })
})

export const layer = Layer.effect(Outbox.Outbox, make)
