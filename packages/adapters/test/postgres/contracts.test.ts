import { eventPositionsSuite, storageSuites } from "@chat4all/domain/testing"
import { afterAll, describe } from "vitest"
import { embeddedClient, noticeSkip, realClient, shared, skipReal, storage } from "./support.js"

noticeSkip("postgres contracts")

// The embedded default (PGlite over pglite-socket) takes seconds to initialise: one per file, shared by
// the suites, each test in a tenant of its own.
const embedded = await shared(storage(embeddedClient))
afterAll(embedded.release)
storageSuites("embedded PGlite", embedded.layer)
eventPositionsSuite("embedded PGlite", embedded.layer)

// A real server: a fresh schema per suite, dropped afterwards.
describe.skipIf(skipReal)("real PostgreSQL", () => {
  storageSuites("PostgreSQL", storage(realClient()))
  eventPositionsSuite("PostgreSQL", storage(realClient()))
  // The general transaction path (through @effect/sql alone), which commits inside a caller's transaction.
  storageSuites("PostgreSQL without the direct pool", storage(realClient({ withoutPool: true })))
})
