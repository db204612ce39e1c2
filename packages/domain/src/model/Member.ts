import { Schema } from "effect"
import { UserId } from "./Ids.js"

export const MemberRole = Schema.Literal("owner", "admin", "member")
export type MemberRole = typeof MemberRole.Type

/** A seq number: 0 means "nothing yet". */
export const Seq = Schema.Int.pipe(Schema.nonNegative())

/**
 * A member with its horizons: every message up to `deliveredSeq` reached one of the member's
 * devices, every message up to `readSeq` was read. Horizons only move forward.
 */
export class Member extends Schema.Class<Member>("Member")({
  userId: UserId,
  role: MemberRole,
  joinedAt: Schema.Number,
  readSeq: Seq,
  deliveredSeq: Seq,
}) {}
