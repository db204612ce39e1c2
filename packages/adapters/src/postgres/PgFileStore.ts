import { File, FileStore, type Ids } from "@chat4all/domain"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option } from "effect"
import { isSqlState, unavailable } from "./internal/errors.js"
import { decodeRows, millis } from "./internal/rows.js"

/**
 * The files schema (migration `0002_files`). Sizes and offsets are `bigint` (a file reaches 2 GiB, past
 * `integer`); `expires_at` is null for ready files, and the partial index serves the expiry sweep. Shares
 * go with their file.
 */
export const migration = `
CREATE TABLE files (
  tenant_id       text    NOT NULL,
  id              text    NOT NULL,
  owner_id        text    NOT NULL,
  name            text    NOT NULL,
  size            bigint  NOT NULL CHECK (size >= 0),
  mime_type       text    NOT NULL,
  sha256          text,
  status          text    NOT NULL CHECK (status IN ('uploading', 'ready', 'failed')),
  upload_offset   bigint  NOT NULL CHECK (upload_offset >= 0 AND upload_offset <= size),
  conversation_id text,
  created_at      bigint  NOT NULL,
  expires_at      bigint,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX files_expiring ON files (expires_at, id) WHERE status <> 'ready';

CREATE TABLE file_shares (
  tenant_id       text      NOT NULL,
  file_id         text      NOT NULL,
  conversation_id text      NOT NULL,
  ord             bigserial NOT NULL,
  PRIMARY KEY (tenant_id, file_id, conversation_id),
  FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id) ON DELETE CASCADE
);
`

interface FileRow {
  readonly tenant_id: string
  readonly id: string
  readonly owner_id: string
  readonly name: string
  readonly size: string | number
  readonly mime_type: string
  readonly sha256: string | null
  readonly status: string
  readonly upload_offset: string | number
  readonly conversation_id: string | null
  readonly created_at: string | number
  readonly expires_at: string | number | null
}

const columns =
  "tenant_id, id, owner_id, name, size, mime_type, sha256, status, upload_offset, conversation_id, created_at, expires_at"

const toFile = (row: FileRow) =>
  new File.FileRecord({
    tenantId: row.tenant_id as Ids.TenantId,
    id: row.id as Ids.FileId,
    ownerId: row.owner_id as Ids.UserId,
    name: row.name,
    size: millis(row.size),
    mimeType: row.mime_type,
    sha256: row.sha256,
    status: row.status as File.FileStatus,
    offset: millis(row.upload_offset),
    conversationId: row.conversation_id as Ids.ConversationId | null,
    createdAt: millis(row.created_at),
    expiresAt: row.expires_at === null ? null : millis(row.expires_at),
  })

/** FileStore over PostgreSQL: offsets and endings are single conditional UPDATEs (compare-and-set). */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const cols = sql.literal(columns)
  const one = (operation: string) => (rows: ReadonlyArray<FileRow>) =>
    decodeRows(operation, () => Option.map(Option.fromNullable(rows[0]), toFile))
  const run =
    (operation: string) =>
    <A, E, R>(self: Effect.Effect<A, E | SqlError, R>) =>
      self.pipe(unavailable(`FileStore.${operation}`), Effect.withSpan(`FileStore.${operation}`))

  return FileStore.FileStore.of({
    create: (file) =>
      sql`
        INSERT INTO files (${cols})
        VALUES (${file.tenantId}, ${file.id}, ${file.ownerId}, ${file.name}, ${file.size}, ${file.mimeType},
                ${file.sha256}, ${file.status}, ${file.offset}, ${file.conversationId}, ${file.createdAt},
                ${file.expiresAt})`.pipe(Effect.asVoid, run("create")),
    get: (tenantId, fileId) =>
      sql<FileRow>`SELECT ${cols} FROM files WHERE tenant_id = ${tenantId} AND id = ${fileId}`.pipe(
        Effect.flatMap(one("FileStore.get")),
        run("get"),
      ),
    advance: (tenantId, fileId, { from, to, expiresAt }) =>
      sql<FileRow>`
        UPDATE files SET upload_offset = ${to}, expires_at = ${expiresAt}
        WHERE tenant_id = ${tenantId} AND id = ${fileId} AND status = 'uploading'
          AND upload_offset = ${from} AND ${to}::bigint >= ${from}::bigint AND ${to}::bigint <= size
        RETURNING ${cols}`.pipe(Effect.flatMap(one("FileStore.advance")), run("advance")),
    finish: (tenantId, fileId, outcome) =>
      (outcome.status === "ready"
        ? sql<FileRow>`
            UPDATE files SET upload_offset = size, status = 'ready', sha256 = ${outcome.sha256}, expires_at = NULL
            WHERE tenant_id = ${tenantId} AND id = ${fileId} AND status = 'uploading'
              AND upload_offset = ${outcome.from}
            RETURNING ${cols}`
        : sql<FileRow>`
            UPDATE files SET upload_offset = size, status = 'failed', expires_at = ${outcome.expiresAt}
            WHERE tenant_id = ${tenantId} AND id = ${fileId} AND status = 'uploading'
              AND upload_offset = ${outcome.from}
            RETURNING ${cols}`
      ).pipe(Effect.flatMap(one("FileStore.finish")), run("finish")),
    remove: (tenantId, fileId) =>
      sql`DELETE FROM files WHERE tenant_id = ${tenantId} AND id = ${fileId} RETURNING 1 AS removed`.pipe(
        Effect.map((rows) => rows.length > 0),
        run("remove"),
      ),
    expired: (now, limit) =>
      sql<FileRow>`
        SELECT ${cols} FROM files
        WHERE status <> 'ready' AND expires_at <= ${now}
        ORDER BY expires_at, id LIMIT ${limit}`.pipe(
        Effect.flatMap((rows) => decodeRows("FileStore.expired", () => rows.map(toFile))),
        run("expired"),
      ),
    share: (tenantId, fileId, conversationId) =>
      sql`
        INSERT INTO file_shares (tenant_id, file_id, conversation_id)
        SELECT ${tenantId}, ${fileId}, ${conversationId}
        WHERE EXISTS (SELECT 1 FROM files WHERE tenant_id = ${tenantId} AND id = ${fileId})
        ON CONFLICT DO NOTHING`.pipe(
        Effect.asVoid,
        // The file was removed between the check and the insert: as if it had been removed before.
        Effect.catchIf(
          (error) => error._tag === "SqlError" && isSqlState(error, "23503"),
          () => Effect.void,
        ),
        run("share"),
      ),
    shares: (tenantId, fileId) =>
      sql<{ readonly conversation_id: string }>`
        SELECT conversation_id FROM file_shares
        WHERE tenant_id = ${tenantId} AND file_id = ${fileId} ORDER BY ord`.pipe(
        Effect.map((rows) => rows.map((r) => r.conversation_id as Ids.ConversationId)),
        run("shares"),
      ),
  })
})

export const layer: Layer.Layer<FileStore.FileStore, never, PgClient.PgClient> = Layer.effect(
  FileStore.FileStore,
  make,
)
