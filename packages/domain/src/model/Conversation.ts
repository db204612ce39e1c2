import { Schema } from "effect"
import { ConversationId, TenantId, type UserId } from "./Ids.js"
import { Member } from "./Member.js"
import * as Storable from "./Storable.js"

export const ConversationType = Schema.Literal("direct", "group")
export type ConversationType = typeof ConversationType.Type

export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(Storable.deep)
export type Metadata = typeof Metadata.Type

/** Times are epoch milliseconds inside the engine; the edges render them as ISO-8601. */
export class Conversation extends Schema.Class<Conversation>("Conversation")({
  id: ConversationId,
  tenantId: TenantId,
  type: ConversationType,
  title: Schema.optional(Schema.String.pipe(Schema.maxLength(256), Storable.text)),
  metadata: Metadata,
  members: Schema.Array(Member),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  lastSeq: Schema.Int.pipe(Schema.nonNegative()),
}) {
  member(userId: UserId): Member | undefined {
    return this.members.find((m) => m.userId === userId)
  }

  isMember(userId: UserId): boolean {
    return this.member(userId) !== undefined
  }
}

/** The key that makes a direct conversation unique per pair, whatever the order of the two users. */
export const directPairKey = (a: UserId, b: UserId): string => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`)
