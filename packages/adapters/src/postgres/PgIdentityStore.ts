import { IdentityStore } from "@chat4all/domain"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { unavailable } from "./internal/errors.js"
import { decodeRows, type IdentityRow, toIdentity } from "./internal/rows.js"

const columns = "tenant_id, user_id, channel, address, display_name, updated_at"

/**
 * IdentityStore over PostgreSQL: one address per user and channel. An address is not unique across users
 * (two contacts may share a number); `findByAddress` answers the most recently written owner.
 */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const cols = sql.literal(columns)

  return IdentityStore.IdentityStore.of({
    put: (identity) =>
      sql`
        INSERT INTO channel_identities (${cols})
        VALUES (${identity.tenantId}, ${identity.userId}, ${identity.channel}, ${identity.address},
                ${identity.displayName ?? null}, ${identity.updatedAt})
        ON CONFLICT (tenant_id, user_id, channel) DO UPDATE SET
          address = EXCLUDED.address, display_name = EXCLUDED.display_name, updated_at = EXCLUDED.updated_at`.pipe(
        Effect.as(identity),
        unavailable("IdentityStore.put"),
        Effect.withSpan("IdentityStore.put"),
      ),
    list: (tenantId, userIds) =>
      userIds.length === 0
        ? Effect.succeed([])
        : sql<IdentityRow>`
            SELECT ${cols} FROM channel_identities
            WHERE tenant_id = ${tenantId} AND user_id = ANY(${userIds}::text[])
            ORDER BY array_position(${userIds}::text[], user_id), channel`.pipe(
            Effect.flatMap((rows) => decodeRows("IdentityStore.list", () => rows.map(toIdentity))),
            unavailable("IdentityStore.list"),
            Effect.withSpan("IdentityStore.list"),
          ),
    findByAddress: (tenantId, channel, address) =>
      sql<IdentityRow>`
        SELECT ${cols} FROM channel_identities
        WHERE tenant_id = ${tenantId} AND channel = ${channel} AND address = ${address}
        ORDER BY updated_at DESC, user_id LIMIT 1`.pipe(
        Effect.flatMap((rows) =>
          decodeRows("IdentityStore.findByAddress", () =>
            rows[0] === undefined ? undefined : toIdentity(rows[0]),
          ),
        ),
        unavailable("IdentityStore.findByAddress"),
        Effect.withSpan("IdentityStore.findByAddress"),
      ),
    remove: (tenantId, userId, channel) =>
      sql`
        DELETE FROM channel_identities
        WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND channel = ${channel}
        RETURNING 1 AS removed`.pipe(
        Effect.map((rows) => rows.length > 0),
        unavailable("IdentityStore.remove"),
        Effect.withSpan("IdentityStore.remove"),
      ),
  })
})

export const layer: Layer.Layer<IdentityStore.IdentityStore, never, PgClient.PgClient> = Layer.effect(
  IdentityStore.IdentityStore,
  make,
)
