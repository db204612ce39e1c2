import { TestIdGenerator, webhookStoreSuite } from "@chat4all/domain/testing"
import { Layer } from "effect"
import { afterAll, describe } from "vitest"
import { MemoryWebhookStore, storageLayer } from "../../src/memory/index.js"
import { PgWebhookStore } from "../../src/postgres/index.js"
import { embeddedClient, noticeSkip, realClient, shared, skipReal, storage } from "../postgres/support.js"

noticeSkip("webhook store contracts")

// Memory: the WebhookStore shares the storage's MemoryState (the same layer, memoized), so it routes
// what the memory ConversationStore commits.
webhookStoreSuite("memory", Layer.mergeAll(storageLayer, MemoryWebhookStore.layer, TestIdGenerator.layer))

/** The storage ports and the PgWebhookStore over one migrated client. */
const withWebhooks = <A, E>(client: Parameters<typeof storage<A, E>>[0]) =>
  Layer.provideMerge(PgWebhookStore.layer, storage(client))

const embedded = await shared(withWebhooks(embeddedClient))
afterAll(embedded.release)
webhookStoreSuite("embedded PGlite", embedded.layer)

describe.skipIf(skipReal)("real PostgreSQL", () => {
  webhookStoreSuite("PostgreSQL", withWebhooks(realClient()))
})
