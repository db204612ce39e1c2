import { Effect, Either } from "effect"
import { ChannelIdentity } from "../model/ChannelIdentity.js"
import { IdentityConflict, IdentityNotFound } from "../model/ConnectorConfig.js"
import { appChannel, type ChannelName } from "../model/Delivery.js"
import { Forbidden, InvalidRequest } from "../model/Errors.js"
import type { UserId } from "../model/Ids.js"
import { now } from "../ports/Clock.js"
import { IdentityStore } from "../ports/IdentityStore.js"
import type { Caller } from "./Caller.js"

/**
 * The canonical form of an address on a channel, or what a valid one looks like. The app passes the
 * connector's `normalizeAddress` when it has a connector for the channel.
 */
export type Normalize = (address: string) => Either.Either<string, { readonly expected: string }>

/** The longest address and display name kept. */
export const maxAddressLength = 256
export const maxDisplayNameLength = 256

/** A user manages their own channel identities; services and admins manage anyone's in their tenant. */
const requireOwnerOrManager = (caller: Caller, userId: UserId): Effect.Effect<void, Forbidden> =>
  caller.userId === userId || caller.isPrivileged
    ? Effect.void
    : Effect.fail(
        new Forbidden({
          message: "a user manages their own channel identities only (services and admins: any)",
        }),
      )

const requireConnectorChannel = (channel: ChannelName): Effect.Effect<void, InvalidRequest> =>
  channel === appChannel
    ? Effect.fail(
        new InvalidRequest({
          field: "channel",
          message: "`app` is the engine's own channel (WebSocket and HTTP); name a connector's channel",
        }),
      )
    : Effect.void

export interface PutIdentityInput {
  readonly address: string
  readonly displayName?: string | undefined
}

/**
 * Sets the user's address on a channel, in the connector's canonical form when there is a connector to
 * say what that is. An address another user of the tenant already holds on the channel is a conflict:
 * inbound messages from it must find one user.
 */
export const putIdentity = (
  caller: Caller,
  userId: UserId,
  channel: ChannelName,
  input: PutIdentityInput,
  normalize: Normalize | undefined,
) =>
  Effect.gen(function* () {
    yield* requireOwnerOrManager(caller, userId)
    yield* requireConnectorChannel(channel)
    const given = input.address.trim()
    if (given.length === 0 || given.length > maxAddressLength)
      return yield* new InvalidRequest({
        field: "address",
        message: `must be 1-${maxAddressLength} characters`,
      })
    if (input.displayName !== undefined && input.displayName.length > maxDisplayNameLength)
      return yield* new InvalidRequest({
        field: "displayName",
        message: `must be at most ${maxDisplayNameLength} characters`,
      })
    const normalized = normalize === undefined ? Either.right(given) : normalize(given)
    if (Either.isLeft(normalized))
      return yield* new InvalidRequest({
        field: "address",
        message: `is not a valid ${channel} address; expected ${normalized.left.expected}`,
      })
    const address = normalized.right
    const store = yield* IdentityStore
    const owner = yield* store.findByAddress(caller.tenantId, channel, address)
    if (owner !== undefined && owner.userId !== userId)
      return yield* new IdentityConflict({ channel, address, ownerId: owner.userId })
    return yield* store.put(
      new ChannelIdentity({
        tenantId: caller.tenantId,
        userId,
        channel,
        address,
        ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
        updatedAt: yield* now,
      }),
    )
  })

/** The user's identities, by channel. */
export const listIdentities = (caller: Caller, userId: UserId) =>
  Effect.gen(function* () {
    yield* requireOwnerOrManager(caller, userId)
    const store = yield* IdentityStore
    const found = yield* store.list(caller.tenantId, [userId])
    return [...found].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0))
  })

export const getIdentity = (caller: Caller, userId: UserId, channel: ChannelName) =>
  Effect.gen(function* () {
    const all = yield* listIdentities(caller, userId)
    const found = all.find((i) => i.channel === channel)
    if (found === undefined) return yield* new IdentityNotFound({ userId, channel })
    return found
  })

export const removeIdentity = (caller: Caller, userId: UserId, channel: ChannelName) =>
  Effect.gen(function* () {
    yield* requireOwnerOrManager(caller, userId)
    const store = yield* IdentityStore
    if (!(yield* store.remove(caller.tenantId, userId, channel)))
      return yield* new IdentityNotFound({ userId, channel })
  })
