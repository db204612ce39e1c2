import { Effect, Option } from "effect"
import { ConversationActor } from "../actor/ConversationActor.js"
import type { ChannelName, DeliveryStatus } from "../model/Delivery.js"
import { MessageNotFound } from "../model/Errors.js"
import type { MessageId, TenantId, UserId } from "../model/Ids.js"
import { MessageStore } from "../ports/MessageStore.js"
import { ConversationCommand } from "../rules/ConversationCommand.js"
import * as MessageStatus from "../rules/MessageStatus.js"
import { readableMessage } from "./Access.js"
import type { Caller } from "./Caller.js"
import { stamp } from "./Stamp.js"

export interface DeliveryUpdate {
  readonly messageId: MessageId
  readonly userId: UserId
  readonly channel: ChannelName
  readonly status: DeliveryStatus
  readonly detail?: string | undefined
}

/**
 * Applies a connector's status callback to one recipient on one channel. Out-of-order and repeated
 * callbacks are fine: a status never moves backwards (`applied: false`).
 */
export const applyDeliveryUpdate = (tenantId: TenantId, update: DeliveryUpdate) =>
  Effect.gen(function* () {
    const messages = yield* MessageStore
    const message = yield* messages.get(tenantId, update.messageId)
    if (Option.isNone(message)) return yield* new MessageNotFound({ messageId: update.messageId })
    const actor = yield* ConversationActor
    const result = yield* actor.execute(
      tenantId,
      message.value.conversationId,
      ConversationCommand.DeliveryUpdate({ ...update, detail: update.detail, stamp: yield* stamp }),
    )
    if (result._tag !== "DeliveryRecorded")
      return yield* Effect.dieMessage(`DeliveryUpdate answered ${result._tag}`)
    return result
  })

/** The aggregate status and one line per recipient and channel. */
export const messageStatus = (caller: Caller, messageId: MessageId) =>
  Effect.gen(function* () {
    const { message, conversation } = yield* readableMessage(caller, messageId)
    const messages = yield* MessageStore
    const records = yield* messages.deliveries(caller.tenantId, messageId)
    return {
      messageId,
      status: MessageStatus.aggregate(message, conversation.members, records),
      recipients: MessageStatus.recipients(message, conversation.members, records),
    }
  })

export const statusHistory = (caller: Caller, messageId: MessageId) =>
  Effect.gen(function* () {
    yield* readableMessage(caller, messageId)
    const messages = yield* MessageStore
    return yield* messages.history(caller.tenantId, messageId)
  })
