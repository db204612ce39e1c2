import { type Delivery, Identities } from "@chat4all/domain"
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { TenantConnectors } from "../../connectors/TenantConnectors.js"
import { fromIdentity } from "../../wire/Identity.js"
import { Api } from "../Api.js"
import { CurrentCaller } from "../Authentication.js"
import { answer } from "./ConnectorErrors.js"

export const IdentitiesHandlers = HttpApiBuilder.group(Api, "identities", (handlers) =>
  Effect.gen(function* () {
    const connectors = yield* TenantConnectors
    return handlers
      .handle("put", ({ path, payload }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const channel = path.channel as Delivery.ChannelName
          const normalize = yield* answer(connectors.normalizer(caller.tenantId, channel))
          const identity = yield* answer(
            Identities.putIdentity(caller, path.userId, channel, payload, normalize),
          )
          return fromIdentity(identity)
        }),
      )
      .handle("list", ({ path }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const found = yield* answer(Identities.listIdentities(caller, path.userId))
          return { items: found.map(fromIdentity) }
        }),
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const channel = path.channel as Delivery.ChannelName
          return fromIdentity(yield* answer(Identities.getIdentity(caller, path.userId, channel)))
        }),
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          yield* answer(Identities.removeIdentity(caller, path.userId, path.channel as Delivery.ChannelName))
        }),
      )
  }),
)
