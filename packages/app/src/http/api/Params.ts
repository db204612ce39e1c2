import { Ids } from "@chat4all/domain"
import { Schema } from "effect"

/** A non-negative integer in a query string. */
export const IntParam = (min: number, max: number, description: string) =>
  Schema.NumberFromString.pipe(
    Schema.int({ message: () => "must be an integer" }),
    Schema.between(min, max, { message: () => `must be between ${min} and ${max}` }),
  ).annotations({ description })

/** `limit`: 1-200 (default 50); larger values are read as 200. */
export const Limit = Schema.NumberFromString.pipe(
  Schema.int({ message: () => "must be an integer" }),
  Schema.greaterThanOrEqualTo(1, { message: () => "must be at least 1" }),
).annotations({ description: "Page size: default 50, at most 200 (larger values are read as 200)" })

export const ConversationPath = Schema.Struct({ conversationId: Ids.ConversationId })
export const MessagePath = Schema.Struct({ messageId: Ids.MessageId })
export const MemberPath = Schema.Struct({ conversationId: Ids.ConversationId, userId: Ids.UserId })
export const UserPath = Schema.Struct({ userId: Ids.UserId })
