import { IdentityStore } from "@chat4all/domain"
import { Effect, Layer } from "effect"
import { MemoryState } from "./MemoryState.js"

export const make = Effect.gen(function* () {
  const state = yield* MemoryState
  return IdentityStore.IdentityStore.of({
    put: (identity) =>
      Effect.sync(() => {
        const tenant = state.tenant(identity.tenantId)
        let channels = tenant.identities.get(identity.userId)
        if (channels === undefined) {
          channels = new Map()
          tenant.identities.set(identity.userId, channels)
        }
        channels.set(identity.channel, identity)
        return identity
      }),
    list: (tenantId, userIds) =>
      Effect.sync(() => {
        const tenant = state.tenant(tenantId)
        return userIds.flatMap((userId) => [...(tenant.identities.get(userId)?.values() ?? [])])
      }),
    findByAddress: (tenantId, channel, address) =>
      Effect.sync(() => {
        for (const channels of state.tenant(tenantId).identities.values()) {
          const identity = channels.get(channel)
          if (identity?.address === address) return identity
        }
        return undefined
      }),
    remove: (tenantId, userId, channel) =>
      Effect.sync(() => state.tenant(tenantId).identities.get(userId)?.delete(channel) === true),
  })
})

export const layer = Layer.effect(IdentityStore.IdentityStore, make)
