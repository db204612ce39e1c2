import { storageLayer } from "@chat4all/adapters/memory"
import {
  Caller,
  Content,
  ConversationActor,
  type ConversationStore,
  Conversations,
  Deliveries,
  type Delivery,
  type Ids,
  type Message,
  MessageStore,
  Messages,
  Receipts,
} from "@chat4all/domain"
import { TestIdGenerator } from "@chat4all/domain/testing"
import { Effect, type Either, Layer, ManagedRuntime } from "effect"

/** A conversation actor on memory stores, driven the way the edges drive it: through the use cases. */
export interface Harness {
  readonly conversationId: Ids.ConversationId
  readonly send: (
    user: string,
    clientMessageId: string,
    text: string,
  ) => Promise<Either.Either<{ message: Message.Message; replayed: boolean }, { _tag: string }>>
  readonly receipt: (
    user: string,
    kind: "delivered" | "read",
    seq: number,
  ) => Promise<Either.Either<{ changed: boolean }, { _tag: string }>>
  readonly delivery: (
    messageId: Ids.MessageId,
    user: string,
    channel: string,
    status: Delivery.DeliveryStatus,
  ) => Promise<Either.Either<{ applied: boolean }, { _tag: string }>>
  readonly addMember: (user: string) => Promise<void>
  readonly removeMember: (user: string) => Promise<void>
  /** Every message, by seq, read as a tenant service would. */
  readonly messages: () => Promise<ReadonlyArray<Message.Message>>
  readonly conversation: () => Promise<ConversationStore.ConversationSummary["conversation"]>
  readonly deliveries: (messageId: Ids.MessageId) => Promise<ReadonlyArray<Delivery.DeliveryRecord>>
  readonly history: (messageId: Ids.MessageId) => Promise<ReadonlyArray<Delivery.StatusTransition>>
  readonly dispose: () => Promise<void>
}

const tenantId = "tenant-prop" as Ids.TenantId
const caller = (user: string, role: Caller.Role = "user") =>
  new Caller.Caller({ tenantId, userId: user as Ids.UserId, role })
const service = caller("svc", "service")

export const makeHarness = async (members: ReadonlyArray<string>, maxBatch = 64): Promise<Harness> => {
  const layer = ConversationActor.layer({ idleTimeToLive: "1 minute", mailboxCapacity: 256, maxBatch }).pipe(
    Layer.provideMerge(storageLayer),
    Layer.provideMerge(TestIdGenerator.layer),
  )
  const runtime = ManagedRuntime.make(layer)
  const run = <A, E>(effect: Effect.Effect<A, E, Layer.Layer.Success<typeof layer>>) =>
    runtime.runPromise(effect)
  const created = await run(
    Conversations.createConversation(service, {
      type: "group",
      members: members.map((m) => m as Ids.UserId),
    }),
  )
  const conversationId = created.conversation.id
  return {
    conversationId,
    send: (user, clientMessageId, text) =>
      run(
        Effect.either(
          Messages.sendMessage(caller(user), conversationId, {
            clientMessageId: clientMessageId as Ids.ClientMessageId,
            content: new Content.TextContent({ type: "text", text }),
          }),
        ),
      ),
    receipt: (user, kind, seq) =>
      run(Effect.either(Receipts.recordReceipt(caller(user), conversationId, kind, seq))),
    delivery: (messageId, user, channel, status) =>
      run(
        Effect.either(
          Deliveries.applyDeliveryUpdate(tenantId, {
            messageId,
            userId: user as Ids.UserId,
            channel: channel as Delivery.ChannelName,
            status,
          }),
        ),
      ),
    addMember: (user) =>
      run(Conversations.addMember(service, conversationId, user as Ids.UserId, "member")).then(() => {}),
    removeMember: (user) =>
      run(Conversations.removeMember(service, conversationId, user as Ids.UserId)).then(() => {}),
    messages: () => run(Messages.listMessages(service, conversationId, { after: 0, limit: 200 })),
    conversation: () => run(Conversations.getConversation(service, conversationId)),
    deliveries: (messageId) =>
      run(Effect.flatMap(MessageStore.MessageStore, (s) => s.deliveries(tenantId, messageId))),
    history: (messageId) =>
      run(Effect.flatMap(MessageStore.MessageStore, (s) => s.history(tenantId, messageId))),
    dispose: () => runtime.dispose(),
  }
}
