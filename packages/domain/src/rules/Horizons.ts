import type { Member } from "../model/Member.js"
import { Member as MemberClass } from "../model/Member.js"

export type ReceiptKind = "delivered" | "read"

/**
 * Moves a member's horizon forward: the monotonic max of the seqs acknowledged. Reading implies
 * delivery, so a read receipt moves both. Returns `undefined` when nothing changes.
 */
export const advanceHorizon = (member: Member, kind: ReceiptKind, seq: number): Member | undefined => {
  const deliveredSeq = Math.max(member.deliveredSeq, seq)
  const readSeq = kind === "read" ? Math.max(member.readSeq, seq) : member.readSeq
  if (deliveredSeq === member.deliveredSeq && readSeq === member.readSeq) return undefined
  return new MemberClass({ ...member, deliveredSeq, readSeq })
}
