import { type Ids, Webhook, WebhookStore } from "@chat4all/domain"
import { PgClient } from "@effect/sql-pg"
import { Clock, type Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { unavailable } from "./internal/errors.js"
import { type EventRow, eventSelect, toEvent } from "./internal/events.js"
import { decodeRows, millis } from "./internal/rows.js"

type Service = Context.Tag.Service<WebhookStore.WebhookStore>

/**
 * The webhook tables (migration 0003).
 *
 * Where deliveries come from: the fanout relay owns the `outbox` (it deletes an entry once published), so
 * webhooks do not take entries from it. They read the event log itself, which is already durable and in
 * commit order: `webhook_cursors` keeps, per tenant, the position up to which the log has been turned
 * into deliveries. One statement (see `route`) locks a tenant's cursor row (`FOR UPDATE SKIP LOCKED`, so
 * nodes share the tenants between them), inserts the deliveries of the events after it, and moves it:
 * a process that dies before that statement commits has done nothing, one that dies after has done it
 * all. A cursor row exists from the tenant's first endpoint on, so tenants without webhooks cost nothing.
 *
 * An endpoint records the head of the log when it was made (`from_position`): it receives the events
 * after that, and not a backlog the cursor had yet to reach.
 */
export const migration = `
CREATE TABLE webhook_endpoints (
  tenant_id                  text    NOT NULL,
  id                         text    NOT NULL,
  url                        text    NOT NULL,
  events                     text[]  NOT NULL,
  description                text,
  status                     text    NOT NULL CHECK (status IN ('active', 'disabled')),
  disabled_reason            text,
  secret                     text    NOT NULL,
  previous_secret            text,
  previous_secret_expires_at bigint,
  from_position              bigint  NOT NULL,
  created_at                 bigint  NOT NULL,
  updated_at                 bigint  NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE webhook_cursors (
  tenant_id text   PRIMARY KEY,
  position  bigint NOT NULL
);

-- One row per event and endpoint. claims fences leases: a settle only moves the row while it still holds
-- the claim it was made under. failures counts the failed attempts of the current series of retries.
CREATE TABLE webhook_deliveries (
  id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id       text    NOT NULL,
  webhook_id      text    NOT NULL,
  event_id        text    NOT NULL,
  position        bigint  NOT NULL,
  event_type      text    NOT NULL,
  status          text    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  failures        integer NOT NULL DEFAULT 0,
  claims          integer NOT NULL DEFAULT 0,
  next_attempt_at bigint  NOT NULL,
  lease_until     bigint  NOT NULL DEFAULT 0,
  created_at      bigint  NOT NULL,
  updated_at      bigint  NOT NULL,
  UNIQUE (tenant_id, webhook_id, event_id),
  FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (tenant_id, webhook_id, position DESC);

CREATE TABLE webhook_attempts (
  id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id  bigint  NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  at           bigint  NOT NULL,
  duration_ms  integer NOT NULL,
  status_code  integer,
  error        text
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
`

interface EndpointRow {
  readonly tenant_id: string
  readonly id: string
  readonly url: string
  readonly events: ReadonlyArray<string>
  readonly description: string | null
  readonly status: string
  readonly disabled_reason: string | null
  readonly secret: string
  readonly previous_secret: string | null
  readonly previous_secret_expires_at: string | number | null
  readonly created_at: string | number
  readonly updated_at: string | number
}

const endpointColumns = `tenant_id, id, url, events, description, status, disabled_reason, secret, previous_secret,
  previous_secret_expires_at, created_at, updated_at`

/** The same columns of `webhook_endpoints w`, prefixed, for queries that join it. */
const endpointColumnsOf = (alias: string, prefix: string) =>
  endpointColumns
    .split(",")
    .map((c) => `${alias}.${c.trim()} AS ${prefix}${c.trim()}`)
    .join(", ")

const decodeSecret = Schema.decodeUnknownSync(Webhook.WebhookSecret)
const decodeEndpoint = Schema.decodeUnknownSync(
  Schema.Struct({
    id: Webhook.WebhookId,
    events: Webhook.EventFilter,
    status: Webhook.WebhookStatus,
  }),
)

const toEndpoint = (row: EndpointRow): Webhook.WebhookEndpoint => {
  const { id, events, status } = decodeEndpoint({ id: row.id, events: row.events, status: row.status })
  return new Webhook.WebhookEndpoint(
    {
      id,
      tenantId: row.tenant_id as Ids.TenantId,
      url: row.url,
      events,
      ...(row.description === null ? {} : { description: row.description }),
      status,
      ...(row.disabled_reason === null ? {} : { disabledReason: row.disabled_reason }),
      secret: Redacted.make(decodeSecret(row.secret)),
      ...(row.previous_secret === null
        ? {}
        : { previousSecret: Redacted.make(decodeSecret(row.previous_secret)) }),
      ...(row.previous_secret_expires_at === null
        ? {}
        : { previousSecretExpiresAt: millis(row.previous_secret_expires_at) }),
      createdAt: millis(row.created_at),
      updatedAt: millis(row.updated_at),
    },
    { disableValidation: true },
  )
}

/** An endpoint's columns from a row that carries them with a prefix. */
const unprefix = (row: object, prefix: string): EndpointRow =>
  Object.fromEntries(
    Object.entries(row)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  ) as unknown as EndpointRow

interface DeliveryRow {
  readonly tenant_id: string
  readonly webhook_id: string
  readonly event_id: string
  readonly position: string | number
  readonly event_type: string
  readonly status: string
  readonly next_attempt_at: string | number
  readonly created_at: string | number
  readonly updated_at: string | number
  readonly attempts: ReadonlyArray<{
    readonly at: number
    readonly durationMs: number
    readonly statusCode: number | null
    readonly error: string | null
  }>
}

/** A delivery's columns with its attempts, oldest first, as JSON. */
const deliverySelect = `d.tenant_id, d.webhook_id, d.event_id, d.position, d.event_type, d.status,
  d.next_attempt_at, d.created_at, d.updated_at,
  COALESCE((
    SELECT json_agg(json_build_object(
      'at', a.at, 'durationMs', a.duration_ms, 'statusCode', a.status_code, 'error', a.error) ORDER BY a.id)
    FROM webhook_attempts a WHERE a.delivery_id = d.id
  ), '[]'::json) AS attempts`

const decodeDelivery = Schema.decodeUnknownSync(
  Schema.Struct({ id: Schema.typeSchema(Webhook.WebhookDelivery.fields.id), status: Webhook.DeliveryStatus }),
)

const toDelivery = (row: DeliveryRow): Webhook.WebhookDelivery => {
  const { id, status } = decodeDelivery({ id: row.event_id, status: row.status })
  return new Webhook.WebhookDelivery(
    {
      id,
      tenantId: row.tenant_id as Ids.TenantId,
      webhookId: row.webhook_id as Webhook.WebhookId,
      eventType: row.event_type,
      status,
      attempts: row.attempts.map(
        (a) =>
          new Webhook.WebhookAttempt(
            {
              at: millis(a.at),
              durationMs: a.durationMs,
              ...(a.statusCode === null ? {} : { statusCode: a.statusCode }),
              ...(a.error === null ? {} : { error: a.error }),
            },
            { disableValidation: true },
          ),
      ),
      ...(status === "pending" ? { nextAttemptAt: millis(row.next_attempt_at) } : {}),
      createdAt: millis(row.created_at),
      updatedAt: millis(row.updated_at),
    },
    { disableValidation: true },
  )
}

const isRef = (ref: string) => /^[1-9][0-9]{0,18}$/.test(ref)

/**
 * The WebhookStore over PostgreSQL, in the same database as the event log it routes from. Deliveries are
 * claimed with `FOR UPDATE SKIP LOCKED` and leased until `now + leaseMs` (the Clock's now), so workers on
 * many nodes take disjoint deliveries and a dead worker's lease lapses.
 */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const cols = sql.literal(endpointColumns)

  const create: Service["create"] = (endpoint) =>
    sql`
      WITH head AS (
        SELECT COALESCE((SELECT position FROM event_heads WHERE tenant_id = ${endpoint.tenantId}), 0) AS position
      ), cursor AS (
        INSERT INTO webhook_cursors (tenant_id, position) SELECT ${endpoint.tenantId}, position FROM head
        ON CONFLICT (tenant_id) DO NOTHING
      )
      INSERT INTO webhook_endpoints (${cols}, from_position)
      SELECT ${endpoint.tenantId}, ${endpoint.id}, ${endpoint.url}, ${[...endpoint.events]}::text[],
             ${endpoint.description ?? null}, ${endpoint.status}, ${endpoint.disabledReason ?? null},
             ${Redacted.value(endpoint.secret)}, NULL, NULL, ${endpoint.createdAt}, ${endpoint.updatedAt},
             head.position
      FROM head`.pipe(
      Effect.asVoid,
      unavailable("WebhookStore.create"),
      Effect.withSpan("WebhookStore.create"),
    )

  const get: Service["get"] = (tenantId, webhookId) =>
    sql<EndpointRow>`SELECT ${cols} FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND id = ${webhookId}`.pipe(
      Effect.flatMap((rows) =>
        decodeRows("WebhookStore.get", () => Option.map(Option.fromNullable(rows[0]), toEndpoint)),
      ),
      unavailable("WebhookStore.get"),
      Effect.withSpan("WebhookStore.get"),
    )

  const list: Service["list"] = (tenantId, { limit, cursor }) =>
    sql<EndpointRow>`
      SELECT ${cols} FROM webhook_endpoints
      WHERE tenant_id = ${tenantId} ${cursor === undefined ? sql`` : sql`AND id COLLATE "C" < ${cursor}`}
      ORDER BY id COLLATE "C" DESC
      LIMIT ${limit + 1}`.pipe(
      Effect.flatMap((rows) =>
        decodeRows("WebhookStore.list", () => {
          const items = rows.slice(0, limit).map(toEndpoint)
          return { items, nextCursor: rows.length > limit ? items[items.length - 1]?.id : undefined }
        }),
      ),
      unavailable("WebhookStore.list"),
      Effect.withSpan("WebhookStore.list"),
    )

  const remove: Service["remove"] = (tenantId, webhookId) =>
    sql`DELETE FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND id = ${webhookId} RETURNING 1 AS removed`.pipe(
      Effect.map((rows) => rows.length > 0),
      unavailable("WebhookStore.remove"),
      Effect.withSpan("WebhookStore.remove"),
    )

  const rotateSecret: Service["rotateSecret"] = (tenantId, webhookId, { secret, previousExpiresAt, at }) =>
    sql<EndpointRow>`
      UPDATE webhook_endpoints SET previous_secret = secret, secret = ${secret},
        previous_secret_expires_at = ${previousExpiresAt}, updated_at = ${at}
      WHERE tenant_id = ${tenantId} AND id = ${webhookId}
      RETURNING ${cols}`.pipe(
      Effect.flatMap((rows) =>
        decodeRows("WebhookStore.rotateSecret", () => Option.map(Option.fromNullable(rows[0]), toEndpoint)),
      ),
      unavailable("WebhookStore.rotateSecret"),
      Effect.withSpan("WebhookStore.rotateSecret"),
    )

  // One statement: the locked cursors, the deliveries of the events after them, and the cursors moved.
  // Data-modifying CTEs share one snapshot; a head visible in it has every position below it committed
  // (positions are handed out under the head row's lock, in commit order), so nothing is skipped.
  const route: Service["route"] = ({ tenants, events }) =>
    Effect.gen(function* () {
      if (tenants <= 0 || events <= 0) return { advanced: 0, deliveries: 0 }
      const now = yield* Clock.currentTimeMillis
      const [row] = yield* sql<{ readonly advanced: number; readonly deliveries: number }>`
        WITH due AS (
          SELECT c.tenant_id, c.position AS after, LEAST(h.position, c.position + ${events}) AS upto
          FROM webhook_cursors c JOIN event_heads h ON h.tenant_id = c.tenant_id
          WHERE h.position > c.position
          -- In no fixed order, so that busy tenants cannot keep the others waiting.
          ORDER BY random()
          LIMIT ${tenants}
          FOR UPDATE OF c SKIP LOCKED
        ), advanced AS (
          UPDATE webhook_cursors c SET position = due.upto FROM due
          WHERE c.tenant_id = due.tenant_id
          RETURNING c.tenant_id
        ), made AS (
          INSERT INTO webhook_deliveries
            (tenant_id, webhook_id, event_id, position, event_type, status, next_attempt_at, created_at, updated_at)
          SELECT e.tenant_id, w.id, e.id, e.position, e.type, 'pending', ${now}, ${now}, ${now}
          FROM due
          JOIN events e ON e.tenant_id = due.tenant_id AND e.position > due.after AND e.position <= due.upto
          JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.status = 'active'
            AND e.position > w.from_position AND (e.type = ANY(w.events) OR '*' = ANY(w.events))
          ORDER BY e.position, w.id
          ON CONFLICT (tenant_id, webhook_id, event_id) DO NOTHING
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM advanced)::int AS advanced, (SELECT count(*) FROM made)::int AS deliveries`
      return { advanced: row?.advanced ?? 0, deliveries: row?.deliveries ?? 0 }
    }).pipe(unavailable("WebhookStore.route"), Effect.withSpan("WebhookStore.route"))

  // The oldest due deliveries, at most `perEndpoint` of one endpoint, none of the skipped ones. The scan locks
  // a window of due rows with SKIP LOCKED (so concurrent claimers take disjoint windows, and a row another
  // node claimed after this statement's snapshot is rechecked against its new lease), picks from it, and
  // leases the picked rows; the rest of the window is let go when the statement ends.
  const claim: Service["claim"] = ({ limit, leaseMs, perEndpoint, skip }) =>
    Effect.gen(function* () {
      if (limit <= 0) return []
      const now = yield* Clock.currentTimeMillis
      const cap = perEndpoint === undefined ? limit : Math.max(1, perEndpoint)
      const skipTenants = (skip ?? []).map((e) => e.tenantId as string)
      const skipHooks = (skip ?? []).map((e) => e.webhookId as string)
      const rows = yield* sql<
        EventRow & {
          readonly ref: string
          readonly claims: number
          readonly failures: number
          readonly [column: `w_${string}`]: unknown
        }
      >`
        WITH due AS (
          SELECT id, tenant_id, webhook_id, next_attempt_at FROM webhook_deliveries
          WHERE status = 'pending' AND next_attempt_at <= ${now} AND lease_until <= ${now}
            ${
              skipTenants.length === 0
                ? sql``
                : sql`AND (tenant_id, webhook_id) NOT IN (
                    SELECT * FROM unnest(${skipTenants}::text[], ${skipHooks}::text[]))`
            }
          ORDER BY next_attempt_at, id
          LIMIT ${Math.min(limit * 16, 10_000)}
          FOR UPDATE SKIP LOCKED
        ), picked AS (
          SELECT id FROM (
            SELECT id, next_attempt_at,
                   row_number() OVER (PARTITION BY tenant_id, webhook_id ORDER BY next_attempt_at, id) AS nth
            FROM due
          ) ranked
          WHERE nth <= ${cap}
          ORDER BY next_attempt_at, id
          LIMIT ${limit}
        ), claimed AS (
          UPDATE webhook_deliveries d SET lease_until = ${now + Math.max(0, leaseMs)}, claims = d.claims + 1
          WHERE d.id IN (SELECT id FROM picked)
          RETURNING d.id, d.tenant_id, d.webhook_id, d.position, d.claims, d.failures, d.next_attempt_at
        )
        SELECT claimed.id AS ref, claimed.claims, claimed.failures, ${sql.literal(endpointColumnsOf("w", "w_"))},
               ${sql.literal(eventSelect)}
        FROM claimed
        JOIN webhook_endpoints w ON w.tenant_id = claimed.tenant_id AND w.id = claimed.webhook_id
        JOIN events e ON e.tenant_id = claimed.tenant_id AND e.position = claimed.position
        ORDER BY claimed.next_attempt_at, claimed.id`
      return yield* decodeRows("WebhookStore.claim", () =>
        rows.map((row): WebhookStore.ClaimedDelivery => {
          const endpoint = toEndpoint(unprefix(row, "w_"))
          const event = toEvent(row)
          return {
            ref: String(row.ref),
            token: row.claims,
            delivery: { id: event.id, tenantId: endpoint.tenantId, webhookId: endpoint.id },
            failures: row.failures,
            endpoint,
            event,
          }
        }),
      )
    }).pipe(unavailable("WebhookStore.claim"), Effect.withSpan("WebhookStore.claim"))

  const settle: Service["settle"] = (claimed, attempt, settlement) =>
    !isRef(claimed.ref)
      ? Effect.succeed(false)
      : Effect.gen(function* () {
          yield* sql`
            INSERT INTO webhook_attempts (delivery_id, at, duration_ms, status_code, error)
            SELECT id, ${attempt.at}, ${Math.round(attempt.durationMs)}, ${attempt.statusCode ?? null},
                   ${attempt.error ?? null}
            FROM webhook_deliveries WHERE id = ${claimed.ref}::bigint`
          if (settlement.status === "failed" && settlement.disable !== undefined)
            yield* sql`
              WITH hook AS (
                SELECT tenant_id, webhook_id FROM webhook_deliveries WHERE id = ${claimed.ref}::bigint
              ), disabled AS (
                UPDATE webhook_endpoints w SET status = 'disabled', disabled_reason = ${settlement.disable.reason},
                  updated_at = ${attempt.at}
                FROM hook WHERE w.tenant_id = hook.tenant_id AND w.id = hook.webhook_id AND w.status = 'active'
                RETURNING w.tenant_id, w.id
              )
              UPDATE webhook_deliveries d SET status = 'failed', lease_until = 0, updated_at = ${attempt.at}
              FROM disabled
              WHERE d.tenant_id = disabled.tenant_id AND d.webhook_id = disabled.id AND d.status = 'pending'
                AND d.id <> ${claimed.ref}::bigint`
          const moved = yield* sql`
            UPDATE webhook_deliveries SET status = ${settlement.status}, failures = ${settlement.failures},
              next_attempt_at = ${settlement.status === "pending" ? settlement.nextAttemptAt : sql`next_attempt_at`},
              lease_until = 0, updated_at = ${attempt.at + Math.round(attempt.durationMs)}
            WHERE id = ${claimed.ref}::bigint AND claims = ${claimed.token} AND status = 'pending'
            RETURNING 1 AS moved`
          return moved.length > 0
        }).pipe(
          sql.withTransaction,
          unavailable("WebhookStore.settle"),
          Effect.withSpan("WebhookStore.settle"),
        )

  const deliveries: Service["deliveries"] = (tenantId, webhookId, { limit, status, cursor }) =>
    sql<DeliveryRow>`
      SELECT ${sql.literal(deliverySelect)} FROM webhook_deliveries d
      WHERE d.tenant_id = ${tenantId} AND d.webhook_id = ${webhookId}
        ${status === undefined ? sql`` : sql`AND d.status = ${status}`}
        ${cursor === undefined ? sql`` : sql`AND d.position < ${cursor}`}
      ORDER BY d.position DESC
      LIMIT ${limit + 1}`.pipe(
      Effect.flatMap((rows) =>
        decodeRows("WebhookStore.deliveries", () => {
          const page = rows.slice(0, limit)
          const last = page[page.length - 1]
          return {
            items: page.map(toDelivery),
            nextCursor: rows.length > limit && last !== undefined ? String(last.position) : undefined,
          }
        }),
      ),
      unavailable("WebhookStore.deliveries"),
      Effect.withSpan("WebhookStore.deliveries"),
    )

  const delivery: Service["delivery"] = (tenantId, webhookId, deliveryId) =>
    sql<DeliveryRow>`
      SELECT ${sql.literal(deliverySelect)} FROM webhook_deliveries d
      WHERE d.tenant_id = ${tenantId} AND d.webhook_id = ${webhookId} AND d.event_id = ${deliveryId}`.pipe(
      Effect.flatMap((rows) =>
        decodeRows("WebhookStore.delivery", () => Option.map(Option.fromNullable(rows[0]), toDelivery)),
      ),
      unavailable("WebhookStore.delivery"),
      Effect.withSpan("WebhookStore.delivery"),
    )

  const retry: Service["retry"] = (tenantId, webhookId, deliveryId, at) =>
    sql`
      UPDATE webhook_deliveries SET status = 'pending', failures = 0, next_attempt_at = ${at}, lease_until = 0,
        claims = claims + 1, updated_at = ${at}
      WHERE tenant_id = ${tenantId} AND webhook_id = ${webhookId} AND event_id = ${deliveryId}
      RETURNING 1 AS replayed`.pipe(
      Effect.flatMap((rows) =>
        rows.length === 0 ? Effect.succeedNone : delivery(tenantId, webhookId, deliveryId),
      ),
      unavailable("WebhookStore.retry"),
      Effect.withSpan("WebhookStore.retry"),
    )

  const depth: Service["depth"] = sql<{ readonly count: number; readonly oldest_at: string | null }>`
    SELECT count(*)::int AS count, min(next_attempt_at) AS oldest_at
    FROM webhook_deliveries WHERE status = 'pending'`.pipe(
    Effect.map(([row]) => ({
      count: row?.count ?? 0,
      oldestAt: row?.oldest_at === null || row?.oldest_at === undefined ? undefined : millis(row.oldest_at),
    })),
    unavailable("WebhookStore.depth"),
    Effect.withSpan("WebhookStore.depth"),
  )

  return WebhookStore.WebhookStore.of({
    create,
    get,
    list,
    remove,
    rotateSecret,
    route,
    claim,
    settle,
    deliveries,
    delivery,
    retry,
    depth,
  })
})

export const layer: Layer.Layer<WebhookStore.WebhookStore, never, PgClient.PgClient> = Layer.effect(
  WebhookStore.WebhookStore,
  make,
)
