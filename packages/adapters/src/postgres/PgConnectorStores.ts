import {
  ConnectorConfig,
  ConnectorOutbox,
  ConnectorSettingsStore,
  type Ids,
  type Message,
  ProviderRefs,
  type Routing,
} from "@chat4all/domain"
import { PgClient } from "@effect/sql-pg"
import { Clock, type Context, Effect, Layer, Option, Schema } from "effect"
import { unavailable } from "./internal/errors.js"
import { type EventRow, eventSelect, toEvent } from "./internal/events.js"
import { decodeRows, millis } from "./internal/rows.js"

/**
 * The connector tables (migration 0004): tenants' connector configurations, provider references, and the
 * connector outbox.
 *
 * The outbox reads the event log the way the webhook store does (the fanout relay owns `outbox` and
 * deletes what it published): `connector_cursors` keeps, per tenant with connectors, the log position up
 * to which messages have been routed. Unlike webhook routing, planning a message needs the app (which
 * connectors the tenant has, what they carry), so it cannot be one statement: a router leases a tenant's
 * cursor (`FOR UPDATE SKIP LOCKED` on the row, then `lease_until` and a `claims` counter that fences the
 * lease), plans outside any transaction, and commits the sends with the cursor's move in one statement
 * that only applies while its claim still holds. Sends are unique per (message, recipient, channel), so a
 * stretch planned twice (a router that lost its lease midway) makes each send once.
 *
 * `connector_deliveries` then works like `webhook_deliveries`: claimed with `FOR UPDATE SKIP LOCKED`,
 * leased until `lease_until`, fenced by `claims`, retried at `next_attempt_at`.
 *
 * `provider_refs` maps a provider's message id to what it stands for; its primary key is the inbound
 * dedup key, unique per (tenant, connector, provider message id).
 *
 * `connector_settings.settings` holds what the app hands over, which the app seals before (AES-GCM).
 */
export const migration = `
CREATE TABLE connector_settings (
  tenant_id     text    NOT NULL,
  connector     text    NOT NULL,
  enabled       boolean NOT NULL,
  settings      jsonb   NOT NULL,
  inbox_user_id text    NOT NULL,
  created_at    bigint  NOT NULL,
  updated_at    bigint  NOT NULL,
  PRIMARY KEY (tenant_id, connector)
);

CREATE TABLE provider_refs (
  tenant_id           text   NOT NULL,
  connector           text   NOT NULL,
  provider_message_id text   NOT NULL,
  direction           text   NOT NULL CHECK (direction IN ('outbound', 'inbound')),
  message_id          text   NOT NULL,
  user_id             text   NOT NULL,
  channel             text   NOT NULL,
  created_at          bigint NOT NULL,
  PRIMARY KEY (tenant_id, connector, provider_message_id)
);

CREATE TABLE connector_cursors (
  tenant_id   text    PRIMARY KEY,
  position    bigint  NOT NULL,
  claims      integer NOT NULL DEFAULT 0,
  lease_until bigint  NOT NULL DEFAULT 0
);

CREATE TABLE connector_deliveries (
  id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id       text    NOT NULL,
  message_id      text    NOT NULL,
  user_id         text    NOT NULL,
  channel         text    NOT NULL,
  address         text    NOT NULL,
  status          text    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  failures        integer NOT NULL DEFAULT 0,
  claims          integer NOT NULL DEFAULT 0,
  next_attempt_at bigint  NOT NULL,
  lease_until     bigint  NOT NULL DEFAULT 0,
  last_error      text,
  created_at      bigint  NOT NULL,
  updated_at      bigint  NOT NULL,
  UNIQUE (tenant_id, message_id, user_id, channel)
);
CREATE INDEX connector_deliveries_due ON connector_deliveries (next_attempt_at, id) WHERE status = 'pending';
`

interface ConfigRow {
  readonly tenant_id: string
  readonly connector: string
  readonly enabled: boolean
  readonly settings: unknown
  readonly inbox_user_id: string
  readonly created_at: string | number
  readonly updated_at: string | number
}

const configColumns = "tenant_id, connector, enabled, settings, inbox_user_id, created_at, updated_at"
const decodeConfig = Schema.decodeUnknownSync(ConnectorConfig.ConnectorConfig)
const toConfig = (row: ConfigRow) =>
  decodeConfig({
    tenantId: row.tenant_id,
    connector: row.connector,
    enabled: row.enabled,
    settings: row.settings,
    inboxUserId: row.inbox_user_id,
    createdAt: millis(row.created_at),
    updatedAt: millis(row.updated_at),
  })

/** The ConnectorSettingsStore over PostgreSQL. */
export const makeSettings = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const cols = sql.literal(configColumns)
  type Service = Context.Tag.Service<ConnectorSettingsStore.ConnectorSettingsStore>

  const put: Service["put"] = (config) =>
    sql`
      INSERT INTO connector_settings (${cols})
      VALUES (${config.tenantId}, ${config.connector}, ${config.enabled}, ${JSON.stringify(config.settings)}::jsonb,
              ${config.inboxUserId}, ${config.createdAt}, ${config.updatedAt})
      ON CONFLICT (tenant_id, connector) DO UPDATE SET enabled = EXCLUDED.enabled, settings = EXCLUDED.settings,
        inbox_user_id = EXCLUDED.inbox_user_id, updated_at = EXCLUDED.updated_at`.pipe(
      Effect.asVoid,
      unavailable("ConnectorSettingsStore.put"),
      Effect.withSpan("ConnectorSettingsStore.put"),
    )

  const get: Service["get"] = (tenantId, connector) =>
    sql<ConfigRow>`SELECT ${cols} FROM connector_settings WHERE tenant_id = ${tenantId} AND connector = ${connector}`.pipe(
      Effect.flatMap((rows) =>
        decodeRows("ConnectorSettingsStore.get", () => Option.map(Option.fromNullable(rows[0]), toConfig)),
      ),
      unavailable("ConnectorSettingsStore.get"),
      Effect.withSpan("ConnectorSettingsStore.get"),
    )

  const list: Service["list"] = (tenantId) =>
    sql<ConfigRow>`SELECT ${cols} FROM connector_settings WHERE tenant_id = ${tenantId} ORDER BY connector COLLATE "C"`.pipe(
      Effect.flatMap((rows) => decodeRows("ConnectorSettingsStore.list", () => rows.map(toConfig))),
      unavailable("ConnectorSettingsStore.list"),
      Effect.withSpan("ConnectorSettingsStore.list"),
    )

  return ConnectorSettingsStore.ConnectorSettingsStore.of({ put, get, list })
})

interface RefRow {
  readonly tenant_id: string
  readonly connector: string
  readonly provider_message_id: string
  readonly direction: "outbound" | "inbound"
  readonly message_id: string
  readonly user_id: string
  readonly channel: string
  readonly created_at: string | number
}

const toRef = (row: RefRow): ProviderRefs.ProviderRef => ({
  tenantId: row.tenant_id as Ids.TenantId,
  connector: row.connector as ProviderRefs.ProviderRef["connector"],
  providerMessageId: row.provider_message_id,
  direction: row.direction,
  messageId: row.message_id as Ids.MessageId,
  userId: row.user_id as Ids.UserId,
  channel: row.channel as ProviderRefs.ProviderRef["channel"],
  createdAt: millis(row.created_at),
})

/** ProviderRefs over PostgreSQL. */
export const makeRefs = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  return ProviderRefs.ProviderRefs.of({
    record: (ref) =>
      sql`
        INSERT INTO provider_refs
          (tenant_id, connector, provider_message_id, direction, message_id, user_id, channel, created_at)
        VALUES (${ref.tenantId}, ${ref.connector}, ${ref.providerMessageId}, ${ref.direction}, ${ref.messageId},
                ${ref.userId}, ${ref.channel}, ${ref.createdAt})
        ON CONFLICT (tenant_id, connector, provider_message_id) DO NOTHING
        RETURNING 1 AS recorded`.pipe(
        Effect.map((rows) => rows.length > 0),
        unavailable("ProviderRefs.record"),
        Effect.withSpan("ProviderRefs.record"),
      ),
    find: (tenantId, connector, providerMessageId) =>
      sql<RefRow>`
        SELECT tenant_id, connector, provider_message_id, direction, message_id, user_id, channel, created_at
        FROM provider_refs
        WHERE tenant_id = ${tenantId} AND connector = ${connector} AND provider_message_id = ${providerMessageId}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRef)),
        unavailable("ProviderRefs.find"),
        Effect.withSpan("ProviderRefs.find"),
      ),
  })
})

interface SendRow {
  readonly id: string
  readonly tenant_id: string
  readonly message_id: string
  readonly user_id: string
  readonly channel: string
  readonly address: string
  readonly failures: number
  readonly claims: number
}

/** The ConnectorOutbox over PostgreSQL, in the database of the event log it routes from. */
export const makeOutbox = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  type Service = Context.Tag.Service<ConnectorOutbox.ConnectorOutbox>

  const follow: Service["follow"] = (tenantId) =>
    sql`
      INSERT INTO connector_cursors (tenant_id, position)
      SELECT ${tenantId}, COALESCE((SELECT position FROM event_heads WHERE tenant_id = ${tenantId}), 0)
      ON CONFLICT (tenant_id) DO NOTHING`.pipe(
      Effect.asVoid,
      unavailable("ConnectorOutbox.follow"),
      Effect.withSpan("ConnectorOutbox.follow"),
    )

  /** The message.created events of a leased stretch, read in one snapshot with the head that bounds it. */
  const stretch = (tenantId: string, after: number, events: number) =>
    Effect.gen(function* () {
      const rows = yield* sql<EventRow & { readonly upto: string | number; readonly type: string | null }>`
        WITH bound AS (
          SELECT LEAST(
            COALESCE((SELECT position FROM event_heads WHERE tenant_id = ${tenantId}), 0),
            ${after}::bigint + ${events}::int) AS upto
        )
        SELECT bound.upto, ${sql.literal(eventSelect)}
        FROM bound LEFT JOIN LATERAL (
          SELECT * FROM events
          WHERE events.tenant_id = ${tenantId} AND events.position > ${after}::bigint
            AND events.position <= bound.upto AND events.type = 'message.created'
        ) e ON true
        ORDER BY e.position`
      const upto = millis(rows[0]?.upto ?? after)
      const messages = yield* decodeRows("ConnectorOutbox.claimRoutes", () =>
        rows
          .filter((row) => row.type !== null)
          .map((row) => {
            const event = toEvent(row)
            if (event.type !== "message.created") throw new Error(`event ${event.id} is not message.created`)
            return event.data.message as Message.Message
          }),
      )
      return { upto, messages }
    })

  const claimRoutes: Service["claimRoutes"] = ({ tenants, events, leaseMs }) =>
    Effect.gen(function* () {
      if (tenants <= 0 || events <= 0) return []
      const now = yield* Clock.currentTimeMillis
      const leased = yield* sql<{
        readonly tenant_id: string
        readonly position: string | number
        readonly claims: number
      }>`
        WITH due AS (
          SELECT c.tenant_id FROM connector_cursors c JOIN event_heads h ON h.tenant_id = c.tenant_id
          WHERE h.position > c.position AND c.lease_until <= ${now}
          -- In no fixed order, so that busy tenants cannot keep the others waiting.
          ORDER BY random()
          LIMIT ${tenants}
          FOR UPDATE OF c SKIP LOCKED
        )
        UPDATE connector_cursors c SET lease_until = ${now + Math.max(0, leaseMs)}, claims = c.claims + 1
        FROM due WHERE c.tenant_id = due.tenant_id
        RETURNING c.tenant_id, c.position, c.claims`
      return yield* Effect.forEach(leased, (row) =>
        Effect.map(
          stretch(row.tenant_id, millis(row.position), events),
          ({ upto, messages }): ConnectorOutbox.RouteClaim => ({
            tenantId: row.tenant_id as Ids.TenantId,
            token: row.claims,
            upto,
            messages,
          }),
        ),
      )
    }).pipe(unavailable("ConnectorOutbox.claimRoutes"), Effect.withSpan("ConnectorOutbox.claimRoutes"))

  // One statement: the cursor moves (only while the claim holds) and the sends go in with it, or neither.
  const commitRoute: Service["commitRoute"] = (claim, deliveries) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const column = <K extends keyof Routing.PlannedDelivery>(key: K) =>
        deliveries.map((d) => String(d[key]))
      const [row] = yield* sql<{ readonly moved: number }>`
        WITH moved AS (
          UPDATE connector_cursors SET position = ${claim.upto}, lease_until = 0
          WHERE tenant_id = ${claim.tenantId} AND claims = ${claim.token} AND position < ${claim.upto}
          RETURNING 1
        ), made AS (
          INSERT INTO connector_deliveries
            (tenant_id, message_id, user_id, channel, address, status, next_attempt_at, created_at, updated_at)
          SELECT ${claim.tenantId}, d.message_id, d.user_id, d.channel, d.address, 'pending', ${now}, ${now}, ${now}
          FROM unnest(${column("messageId")}::text[], ${column("userId")}::text[], ${column("channel")}::text[],
                      ${column("address")}::text[]) WITH ORDINALITY AS d(message_id, user_id, channel, address, ord)
          WHERE EXISTS (SELECT 1 FROM moved)
          ORDER BY d.ord
          ON CONFLICT (tenant_id, message_id, user_id, channel) DO NOTHING
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM moved)::int AS moved, (SELECT count(*) FROM made)::int AS made`
      return (row?.moved ?? 0) > 0
    }).pipe(unavailable("ConnectorOutbox.commitRoute"), Effect.withSpan("ConnectorOutbox.commitRoute"))

  const claim: Service["claim"] = ({ limit, leaseMs }) =>
    Effect.gen(function* () {
      if (limit <= 0) return []
      const now = yield* Clock.currentTimeMillis
      const rows = yield* sql<SendRow & { readonly next_attempt_at: string | number }>`
        UPDATE connector_deliveries d SET lease_until = ${now + Math.max(0, leaseMs)}, claims = d.claims + 1
        WHERE d.id IN (
          SELECT id FROM connector_deliveries
          WHERE status = 'pending' AND next_attempt_at <= ${now} AND lease_until <= ${now}
          ORDER BY next_attempt_at, id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
        )
        RETURNING d.id, d.tenant_id, d.message_id, d.user_id, d.channel, d.address, d.failures, d.claims,
                  d.next_attempt_at`
      return [...rows]
        .sort((a, b) => millis(a.next_attempt_at) - millis(b.next_attempt_at) || Number(a.id) - Number(b.id))
        .map(
          (row): ConnectorOutbox.ClaimedSend => ({
            ref: String(row.id),
            token: row.claims,
            tenantId: row.tenant_id as Ids.TenantId,
            delivery: {
              messageId: row.message_id as Ids.MessageId,
              userId: row.user_id as Ids.UserId,
              channel: row.channel,
              address: row.address,
            },
            failures: row.failures,
          }),
        )
    }).pipe(unavailable("ConnectorOutbox.claim"), Effect.withSpan("ConnectorOutbox.claim"))

  const settle: Service["settle"] = (claimed, settlement) =>
    !/^[1-9][0-9]{0,18}$/.test(claimed.ref)
      ? Effect.succeed(false)
      : Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const moved = yield* sql`
            UPDATE connector_deliveries SET status = ${settlement.status}, failures = ${settlement.failures},
              next_attempt_at = ${settlement.status === "pending" ? settlement.nextAttemptAt : sql`next_attempt_at`},
              last_error = ${settlement.status === "succeeded" ? null : settlement.error},
              lease_until = 0, updated_at = ${now}
            WHERE id = ${claimed.ref}::bigint AND claims = ${claimed.token} AND status = 'pending'
            RETURNING 1 AS moved`
          return moved.length > 0
        }).pipe(unavailable("ConnectorOutbox.settle"), Effect.withSpan("ConnectorOutbox.settle"))

  const depth: Service["depth"] = sql<{ readonly count: number; readonly oldest_at: string | null }>`
    SELECT count(*)::int AS count, min(next_attempt_at) AS oldest_at
    FROM connector_deliveries WHERE status = 'pending'`.pipe(
    Effect.map(([row]) => ({
      count: row?.count ?? 0,
      oldestAt: row?.oldest_at === null || row?.oldest_at === undefined ? undefined : millis(row.oldest_at),
    })),
    unavailable("ConnectorOutbox.depth"),
    Effect.withSpan("ConnectorOutbox.depth"),
  )

  return ConnectorOutbox.ConnectorOutbox.of({ follow, claimRoutes, commitRoute, claim, settle, depth })
})

/** The three connector stores over the PgClient in context (the schema migrated, see `Migrations`). */
export const layer: Layer.Layer<
  ConnectorSettingsStore.ConnectorSettingsStore | ProviderRefs.ProviderRefs | ConnectorOutbox.ConnectorOutbox,
  never,
  PgClient.PgClient
> = Layer.mergeAll(
  Layer.effect(ConnectorSettingsStore.ConnectorSettingsStore, makeSettings),
  Layer.effect(ProviderRefs.ProviderRefs, makeRefs),
  Layer.effect(ConnectorOutbox.ConnectorOutbox, makeOutbox),
)
