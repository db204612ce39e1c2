import { fileStoreSuite } from "@chat4all/domain/testing"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { PgClient } from "@effect/sql-pg"
import { Layer } from "effect"
import { afterAll, describe } from "vitest"
import { Migrations, PgFileStore } from "../../src/postgres/index.js"
import { embeddedClient, noticeSkip, realClient, shared, skipReal } from "../postgres/support.js"

noticeSkip("postgres file store")

const migrated = <E>(client: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, E>) =>
  Layer.provideMerge(PgFileStore.layer, Migrations.layer).pipe(Layer.provide(client))

const embedded = await shared(migrated(embeddedClient))
afterAll(embedded.release)
fileStoreSuite("embedded PGlite", embedded.layer)

describe.skipIf(skipReal)("real PostgreSQL", () => {
  fileStoreSuite("PostgreSQL", migrated(realClient()))
})
