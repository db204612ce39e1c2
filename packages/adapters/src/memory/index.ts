import { Layer } from "effect"
import * as MemoryConversationStore from "./MemoryConversationStore.js"
import * as MemoryEventLog from "./MemoryEventLog.js"
import * as MemoryFanout from "./MemoryFanout.js"
import * as MemoryIdentityStore from "./MemoryIdentityStore.js"
import * as MemoryMessageStore from "./MemoryMessageStore.js"
import * as MemoryOutbox from "./MemoryOutbox.js"
import * as MemoryPresence from "./MemoryPresence.js"
import { MemoryState } from "./MemoryState.js"

export {
  MemoryConversationStore,
  MemoryEventLog,
  MemoryFanout,
  MemoryIdentityStore,
  MemoryMessageStore,
  MemoryOutbox,
  MemoryPresence,
  MemoryState,
}

/** The storage ports (ConversationStore, MessageStore, EventLog, Outbox, IdentityStore) over one shared state. */
export const storageLayer = Layer.mergeAll(
  MemoryConversationStore.layer,
  MemoryMessageStore.layer,
  MemoryEventLog.layer,
  MemoryOutbox.layer,
  MemoryIdentityStore.layer,
).pipe(Layer.provide(MemoryState.layer))

/** Every port in memory but the IdGenerator (see `@chat4all/adapters/system`): for tests and embedding. */
export const layer = Layer.mergeAll(storageLayer, MemoryPresence.layer, MemoryFanout.layer)
export * as MemoryConnectorStores from "./MemoryConnectorStores.js"
export * as MemoryFileStore from "./MemoryFileStore.js"
export * as MemoryWebhookStore from "./MemoryWebhookStore.js"
