import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, Schedule } from "effect"
import * as CommitFunctions from "./internal/commitFunctions.js"
import { isSqlState } from "./internal/errors.js"
import * as PgConnectorStores from "./PgConnectorStores.js"
import * as PgFileStore from "./PgFileStore.js"
import * as PgWebhookStore from "./PgWebhookStore.js"

/**
 * The schema, one numbered migration per change. Migrations only ever get appended: a number lower than
 * the last applied one is silently skipped by the migrator, so never renumber or edit an applied one.
 *
 * Times are epoch milliseconds in `bigint` columns, as in the domain. The hot tables (messages, events,
 * outbox) carry no foreign keys: every row of them is written by `ConversationStore.commit` under the
 * conversation's row lock, and a foreign-key check per row would cost a lookup per message.
 */
const initial = `
CREATE TABLE conversations (
  tenant_id   text    NOT NULL,
  id          text    NOT NULL,
  type        text    NOT NULL CHECK (type IN ('direct', 'group')),
  title       text,
  metadata    jsonb   NOT NULL DEFAULT '{}',
  created_at  bigint  NOT NULL,
  updated_at  bigint  NOT NULL,
  last_seq    integer NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  -- Both user ids of a direct conversation, in order: one direct conversation per pair and tenant.
  direct_key  text,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX conversations_direct_key ON conversations (tenant_id, direct_key) WHERE direct_key IS NOT NULL;

CREATE TABLE members (
  tenant_id       text    NOT NULL,
  conversation_id text    NOT NULL,
  user_id         text    NOT NULL,
  role            text    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  joined_at       bigint  NOT NULL,
  read_seq        integer NOT NULL DEFAULT 0,
  delivered_seq   integer NOT NULL DEFAULT 0,
  -- Keeps the order of Conversation.members: creation order, then joining order.
  ord             integer NOT NULL,
  PRIMARY KEY (tenant_id, conversation_id, user_id),
  FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX members_by_user ON members (tenant_id, user_id);

CREATE TABLE messages (
  tenant_id         text    NOT NULL,
  conversation_id   text    NOT NULL,
  seq               integer NOT NULL CHECK (seq > 0),
  id                text    NOT NULL,
  sender_id         text    NOT NULL,
  client_message_id text    NOT NULL,
  content           jsonb   NOT NULL,
  reply_to          text,
  channels          jsonb   NOT NULL,
  metadata          jsonb   NOT NULL,
  created_at        bigint  NOT NULL,
  PRIMARY KEY (tenant_id, conversation_id, seq),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, conversation_id, sender_id, client_message_id)
);

-- Connector delivery records: one row per message, recipient and channel (the app channel is derived from
-- the members' horizons and has no rows).
CREATE TABLE message_deliveries (
  tenant_id   text   NOT NULL,
  message_id  text   NOT NULL,
  user_id     text   NOT NULL,
  channel     text   NOT NULL,
  status      text   NOT NULL CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed')),
  updated_at  bigint NOT NULL,
  PRIMARY KEY (tenant_id, message_id, user_id, channel)
);

-- Every applied delivery transition, oldest first by id. The creation of a message (its first entry, sent)
-- is not stored: it is the message row itself.
CREATE TABLE status_transitions (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   text   NOT NULL,
  message_id  text   NOT NULL,
  status      text   NOT NULL,
  user_id     text,
  channel     text,
  at          bigint NOT NULL,
  detail      text
);
CREATE INDEX status_transitions_by_message ON status_transitions (tenant_id, message_id, id);

-- The last position handed out per tenant. Commits take it as their last step, so positions are handed
-- out in commit order and a reader never sees position n+1 before position n is committed.
CREATE TABLE event_heads (
  tenant_id text   PRIMARY KEY,
  position  bigint NOT NULL
);

-- The event log in one total order per tenant. message.created events keep only the message id: the
-- message row is the payload (with status sent, as it was created).
CREATE TABLE events (
  tenant_id       text   NOT NULL,
  position        bigint NOT NULL,
  id              text   NOT NULL,
  conversation_id text   NOT NULL,
  type            text   NOT NULL,
  at              bigint NOT NULL,
  -- The user a member.* event is about: a removed member still sees the event that removed them.
  subject_id      text,
  message_id      text,
  data            jsonb,
  PRIMARY KEY (tenant_id, position)
);

-- The transactional outbox: one row per event until a relay completes it.
CREATE TABLE outbox (
  id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   text    NOT NULL,
  position    bigint  NOT NULL,
  at          bigint  NOT NULL,
  lease_until bigint  NOT NULL DEFAULT 0,
  attempts    integer NOT NULL DEFAULT 0
);

CREATE TABLE channel_identities (
  tenant_id     text   NOT NULL,
  user_id       text   NOT NULL,
  channel       text   NOT NULL,
  address       text   NOT NULL,
  display_name  text,
  updated_at    bigint NOT NULL,
  PRIMARY KEY (tenant_id, user_id, channel)
);
CREATE INDEX channel_identities_by_address ON channel_identities (tenant_id, channel, address);
`

/** Every migration, by `NNNN_name`. */
export const migrations: Record<string, Effect.Effect<void, SqlError, SqlClient.SqlClient>> = {
  "0001_initial": Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(initial)),
  "0002_files": Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(PgFileStore.migration)),
  "0003_webhooks": Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(PgWebhookStore.migration)),
  "0004_connectors": Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(PgConnectorStores.migration)),
  "0005_commit_functions": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(CommitFunctions.migration),
  ),
}

/** The table that records applied migrations. */
export const table = "chat4all_migrations"

/**
 * Applies the pending migrations and answers the ones it applied. Safe to run from several processes at
 * once: the migrator locks its table, and the race to create that table on an empty database is retried.
 *
 * This is `PgMigrator` without its `pg_dump` hook (which needs a shell and is only for dumping the schema
 * to a directory): the same `Migrator.make` over `Migrator.fromRecord`.
 */
export const run: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table }).pipe(
  Effect.retry({
    // Two processes creating the migrations table on an empty database: one loses with a duplicate.
    while: (error) => error._tag === "SqlError" && isSqlState(error, "23505", "42P07"),
    schedule: Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(5))),
  }),
)

/** Runs the migrations when the layer is built. */
export const layer: Layer.Layer<never, Migrator.MigrationError | SqlError, SqlClient.SqlClient> =
  Layer.effectDiscard(run)
