import { connectorStoresSuite, TestIdGenerator } from "@chat4all/domain/testing"
import { Layer } from "effect"
import { afterAll, describe } from "vitest"
import { MemoryConnectorStores, storageLayer } from "../../src/memory/index.js"
import { PgConnectorStores } from "../../src/postgres/index.js"
import { embeddedClient, noticeSkip, realClient, shared, skipReal, storage } from "../postgres/support.js"

noticeSkip("connector store contracts")

// Memory: the connector outbox shares the storage's MemoryState (the same layer, memoized), so it routes
// what the memory ConversationStore commits.
connectorStoresSuite(
  "memory",
  Layer.mergeAll(storageLayer, MemoryConnectorStores.layer, TestIdGenerator.layer),
)

/** The storage ports and the connector stores over one migrated client. */
const withConnectors = <A, E>(client: Parameters<typeof storage<A, E>>[0]) =>
  Layer.provideMerge(PgConnectorStores.layer, storage(client))

const embedded = await shared(withConnectors(embeddedClient))
afterAll(embedded.release)
connectorStoresSuite("embedded PGlite", embedded.layer)

describe.skipIf(skipReal)("real PostgreSQL", () => {
  connectorStoresSuite("PostgreSQL", withConnectors(realClient()))
})
