import { appChannel, type DeliveryRecord, type DeliveryStatus } from "../model/Delivery.js"
import type { UserId } from "../model/Ids.js"
import type { Member } from "../model/Member.js"
import * as DeliveryState from "./DeliveryState.js"

/** A recipient's status in the app channel, derived from its horizons (no row per recipient). */
export const appStatus = (member: Member, seq: number): DeliveryStatus =>
  member.readSeq >= seq ? "read" : member.deliveredSeq >= seq ? "delivered" : "sent"

export interface RecipientStatus {
  readonly userId: UserId
  readonly channel: string
  readonly status: DeliveryStatus
  readonly updatedAt: number | undefined
}

/**
 * Per recipient and channel: the app channel from horizons, connector channels from their records.
 * The sender is not a recipient of their own message.
 */
export const recipients = (
  message: { readonly seq: number; readonly senderId: UserId },
  members: ReadonlyArray<Member>,
  records: ReadonlyArray<DeliveryRecord>,
): ReadonlyArray<RecipientStatus> => {
  const out: Array<RecipientStatus> = []
  for (const member of members) {
    if (member.userId === message.senderId) continue
    out.push({
      userId: member.userId,
      channel: appChannel,
      status: appStatus(member, message.seq),
      updatedAt: undefined,
    })
  }
  for (const record of records) {
    if (record.userId === message.senderId) continue
    out.push({
      userId: record.userId,
      channel: record.channel,
      status: record.status,
      updatedAt: record.updatedAt,
    })
  }
  return out
}

/**
 * The aggregate status the sender sees: each recipient counts with its best channel, and the message
 * is as far as its least advanced recipient (delivered = every recipient has it). No recipient: sent.
 */
export const aggregate = (
  message: { readonly seq: number; readonly senderId: UserId },
  members: ReadonlyArray<Member>,
  records: ReadonlyArray<DeliveryRecord>,
): DeliveryStatus => {
  const best = new Map<UserId, DeliveryStatus>()
  for (const r of recipients(message, members, records)) {
    const current = best.get(r.userId)
    best.set(r.userId, current === undefined ? r.status : DeliveryState.max(current, r.status))
  }
  let lowest: DeliveryStatus | undefined
  for (const status of best.values())
    lowest = lowest === undefined ? status : DeliveryState.min(lowest, status)
  return lowest ?? "sent"
}
