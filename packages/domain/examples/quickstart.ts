/**
 * The domain in one page: create a conversation, send, retry the same send (a replay), read as the other
 * member, mark it read, and see the sender's aggregate status move. Runs on the memory adapters:
 *
 *   npx tsx packages/domain/examples/quickstart.ts
 */
import * as Memory from "@chat4all/adapters/memory"
import { SystemIdGenerator } from "@chat4all/adapters/system"
import {
  Caller,
  Content,
  ConversationActor,
  Conversations,
  type Ids,
  Messages,
  Receipts,
} from "@chat4all/domain"
import { Effect, Layer } from "effect"

// Composition: the actor over the storage ports, every port in memory, and the live id generator.
const Env = Layer.mergeAll(
  ConversationActor.layer().pipe(Layer.provide(Memory.storageLayer)),
  Memory.layer,
  SystemIdGenerator.layer,
)

// Who is asking (at the edges this comes from the token).
const as = (userId: string) =>
  new Caller.Caller({ tenantId: "acme" as Ids.TenantId, userId: userId as Ids.UserId, role: "user" })
const alice = as("alice")
const bob = as("bob")

const program = Effect.gen(function* () {
  const { conversation } = yield* Conversations.createConversation(alice, {
    type: "direct",
    members: [bob.userId],
  })

  const input = {
    clientMessageId: "msg-1" as Ids.ClientMessageId,
    content: new Content.TextContent({ type: "text", text: "Hi Bob!" }),
  }
  const first = yield* Messages.sendMessage(alice, conversation.id, input)
  // A client retrying after a timeout: same clientMessageId, same payload -> the original message, no duplicate.
  const retry = yield* Messages.sendMessage(alice, conversation.id, input)
  console.log("sent   ", first.message.seq, first.message.id, "replayed:", first.replayed)
  console.log("retried", retry.message.seq, retry.message.id, "replayed:", retry.replayed)

  // The same clientMessageId with another payload is refused.
  const conflict = yield* Messages.sendMessage(alice, conversation.id, {
    ...input,
    content: new Content.TextContent({ type: "text", text: "Hi Bob?" }),
  }).pipe(Effect.flip)
  console.log("changed payload ->", conflict._tag)

  // Bob reads the conversation and marks everything up to seq 1 as read.
  const page = yield* Messages.listMessages(bob, conversation.id, {})
  for (const m of page) console.log(`bob sees #${m.seq} from ${m.senderId}:`, m.content)
  yield* Receipts.recordReceipt(bob, conversation.id, "read", first.message.seq)

  // Alice's view of her message: its aggregate status over the recipients is now "read".
  const after = yield* Messages.getMessage(alice, first.message.id)
  console.log("status for alice:", after.status)
})

Effect.runPromise(program.pipe(Effect.provide(Env))).catch((error) => {
  console.error(error)
  process.exit(1)
})
