/**
 * The contract test kit: one suite per port, which every adapter runs against itself. Suites use vitest
 * and @effect/vitest, so this entry point is for test files only.
 */
export * from "./ConnectorStoresSuite.js"
export * from "./ConversationStoreSuite.js"
export * from "./EventLogSuite.js"
export * from "./EventPositionsSuite.js"
export * from "./FanoutSuite.js"
export * as Fixtures from "./Fixtures.js"
export * from "./IdentityStoreSuite.js"
export * from "./IdGeneratorSuite.js"
export * from "./MessageStoreSuite.js"
export * from "./OutboxSuite.js"
export * from "./PresenceSuite.js"
export * as Storage from "./Storage.js"
export * as TestIdGenerator from "./TestIdGenerator.js"

import type { Layer } from "effect"
import { conversationStoreSuite } from "./ConversationStoreSuite.js"
import { eventLogSuite } from "./EventLogSuite.js"
import { identityStoreSuite } from "./IdentityStoreSuite.js"
import { messageStoreSuite } from "./MessageStoreSuite.js"
import { outboxSuite } from "./OutboxSuite.js"
import type { StorageEnv } from "./Storage.js"

/** Every storage suite against one adapter; `storage` is built once per suite. */
export const storageSuites = <E>(name: string, storage: Layer.Layer<StorageEnv, E>) => {
  conversationStoreSuite(name, storage)
  messageStoreSuite(name, storage)
  eventLogSuite(name, storage)
  outboxSuite(name, storage)
  identityStoreSuite(name, storage)
}
export * from "./BlobStoreSuite.js"
export * from "./FileStoreSuite.js"
export * from "./WebhookStoreSuite.js"
