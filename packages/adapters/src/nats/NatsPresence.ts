import { Fanout, type Ids, Presence } from "@chat4all/domain"
import { StorageType } from "@nats-io/jetstream"
import { type KV, Kvm } from "@nats-io/kv"
import { Clock, Data, Duration, Effect, Layer, Schema } from "effect"
import { encodeToken } from "./internal/tokens.js"
import { NatsClient } from "./NatsClient.js"

export interface Options {
  /** The KV bucket (one per deployment). */
  readonly bucket: string
  /**
   * How long the bucket keeps a user's last heartbeat: after this the user reads as never seen. A
   * heartbeat's own TTL (seconds to minutes) is kept in the value and checked on read.
   */
  readonly retention: Duration.DurationInput
  readonly storage: "file" | "memory"
}

export const defaults: Options = { bucket: "chat4all_presence", retention: "7 days", storage: "file" }

/** Presence could not be read or written: the KV bucket is unreachable. A defect, as the port has no error. */
export class PresenceUnavailable extends Data.TaggedError("PresenceUnavailable")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    return `presence: could not ${this.operation}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** What the bucket holds per user: the status of the last heartbeat, its time and when it lapses. */
const Stored = Schema.parseJson(
  Schema.Struct({
    status: Schema.Literal("online", "away"),
    lastSeen: Schema.Number,
    expiresAt: Schema.Number,
  }),
)
type Stored = typeof Stored.Type
const encodeStored = Schema.encodeSync(Stored)
const decodeStored = Schema.decodeUnknownOption(Stored)

const keyOf = (tenantId: Ids.TenantId, userId: Ids.UserId) =>
  `${encodeToken(tenantId)}.${encodeToken(userId)}`

const stateOf = (now: number, userId: Ids.UserId, stored: Stored | undefined) =>
  new Presence.PresenceState(
    stored === undefined
      ? { userId, status: "offline" }
      : { userId, status: stored.expiresAt > now ? stored.status : "offline", lastSeen: stored.lastSeen },
  )

/**
 * Presence in a JetStream KV bucket, shared by every node: a user's key holds the status of their last
 * heartbeat, its time and its expiry; a read after the expiry is offline with that time as lastSeen.
 */
export const make = (options: Options = defaults) =>
  Effect.gen(function* () {
    const client = yield* NatsClient
    const kv: KV = yield* Effect.tryPromise({
      try: () =>
        new Kvm(client.jetstream).create(options.bucket, {
          history: 1,
          ttl: Duration.toMillis(options.retention),
          storage: options.storage === "memory" ? StorageType.Memory : StorageType.File,
        }),
      catch: (cause) =>
        new Fanout.FanoutUnavailable({
          operation: `create or open the presence KV bucket ${options.bucket}`,
          cause: cause instanceof Error ? cause : new Error(String(cause)),
        }),
    })

    const call = <A>(operation: string, f: () => Promise<A>) =>
      Effect.tryPromise({ try: f, catch: (cause) => new PresenceUnavailable({ operation, cause }) }).pipe(
        Effect.timeoutFail({
          duration: "5 seconds",
          onTimeout: () => new PresenceUnavailable({ operation, cause: new Error("no answer in 5 s") }),
        }),
        Effect.orDie,
      )

    const read = (tenantId: Ids.TenantId, userId: Ids.UserId) =>
      Effect.map(
        call(`read the presence of ${userId}`, () => kv.get(keyOf(tenantId, userId))),
        (entry): Stored | undefined =>
          entry === null || entry.operation !== "PUT"
            ? undefined
            : decodeStored(entry.string()).pipe((o) => (o._tag === "Some" ? o.value : undefined)),
      )

    const write = (tenantId: Ids.TenantId, userId: Ids.UserId, stored: Stored) =>
      call(`write the presence of ${userId}`, () => kv.put(keyOf(tenantId, userId), encodeStored(stored)))

    return Presence.Presence.of({
      heartbeat: (tenantId, userId, status, ttlMs) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const stored = { status, lastSeen: now, expiresAt: now + ttlMs }
          yield* write(tenantId, userId, stored)
          return stateOf(now, userId, stored)
        }),
      offline: (tenantId, userId) =>
        Effect.gen(function* () {
          const found = yield* read(tenantId, userId)
          const now = yield* Clock.currentTimeMillis
          if (found === undefined) return stateOf(now, userId, undefined)
          const stored = { ...found, expiresAt: Math.min(found.expiresAt, now) }
          yield* write(tenantId, userId, stored)
          return stateOf(now, userId, stored)
        }),
      get: (tenantId, userIds) =>
        Effect.gen(function* () {
          const found = yield* Effect.forEach(userIds, (userId) => read(tenantId, userId), {
            concurrency: 32,
          })
          const now = yield* Clock.currentTimeMillis
          return userIds.map((userId, i) => stateOf(now, userId, found[i]))
        }),
    })
  })

export const layer = (
  options: Options = defaults,
): Layer.Layer<Presence.Presence, Fanout.FanoutUnavailable, NatsClient> =>
  Layer.effect(Presence.Presence, make(options))
