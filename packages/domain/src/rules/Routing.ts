import type { ChannelIdentity, ConnectorCapabilities } from "../model/ChannelIdentity.js"
import type { MessageId, UserId } from "../model/Ids.js"
import type { Member } from "../model/Member.js"
import type { Message } from "../model/Message.js"

/** One message to one recipient through one connector. */
export interface PlannedDelivery {
  readonly messageId: MessageId
  readonly userId: UserId
  readonly channel: string
  readonly address: string
}

/** Why a candidate channel was left out, so operators can see it (a skipped delivery is never silent). */
export interface SkippedDelivery {
  readonly userId: UserId
  readonly channel: string
  readonly reason: "connector_disabled" | "connector_missing" | "content_unsupported" | "text_too_long"
}

export interface RoutingPlan {
  readonly deliveries: ReadonlyArray<PlannedDelivery>
  readonly skipped: ReadonlyArray<SkippedDelivery>
}

const textLength = (message: Message): number => {
  const c = message.content
  return c.type === "file" ? (c.caption?.length ?? 0) : c.text.length
}

/**
 * The routing plan: the message's channels (`["all"]` or a list) x the recipients' channel identities x
 * the enabled connectors that can carry the content. The sender never gets their own message; app users
 * receive over the realtime edge, which is not a connector and so is not planned here.
 */
export const plan = (
  message: Message,
  members: ReadonlyArray<Member>,
  identities: ReadonlyArray<ChannelIdentity>,
  connectors: ReadonlyArray<ConnectorCapabilities>,
): RoutingPlan => {
  const wantsAll = message.channels.includes("all")
  const wanted = new Set(message.channels)
  const recipients = new Set(members.filter((m) => m.userId !== message.senderId).map((m) => m.userId))
  const byChannel = new Map(connectors.map((c) => [c.channel, c]))
  const deliveries: Array<PlannedDelivery> = []
  const skipped: Array<SkippedDelivery> = []
  for (const identity of identities) {
    if (!recipients.has(identity.userId)) continue
    if (!wantsAll && !wanted.has(identity.channel)) continue
    const connector = byChannel.get(identity.channel)
    const skip = (reason: SkippedDelivery["reason"]) =>
      skipped.push({ userId: identity.userId, channel: identity.channel, reason })
    if (connector === undefined) skip("connector_missing")
    else if (!connector.enabled) skip("connector_disabled")
    else if (!connector.contentTypes.includes(message.content.type)) skip("content_unsupported")
    else if (textLength(message) > connector.maxTextLength) skip("text_too_long")
    else
      deliveries.push({
        messageId: message.id,
        userId: identity.userId,
        channel: identity.channel,
        address: identity.address,
      })
  }
  return { deliveries, skipped }
}
