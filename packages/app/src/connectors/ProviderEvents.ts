import { createHash } from "node:crypto"
import type { InboundEvent } from "@chat4all/connectors"
import { type ConnectorConfig, Content, type Delivery, Ids, Inbound } from "@chat4all/domain"
import { Cause, Effect, Option, Schema } from "effect"

/**
 * What the app does with the events of a verified provider webhook: inbound messages become messages
 * (`Inbound.receiveInbound`), status callbacks move deliveries (`Inbound.applyProviderStatus`).
 */

const isId = Schema.is(Ids.UserId)
const digest = (...parts: ReadonlyArray<string>) =>
  createHash("sha256").update(parts.join("\u0000"), "utf8").digest("hex")

/**
 * The user id a new contact gets: the channel and a digest of the tenant and address, so the same sender
 * always gets the same id (which is what makes concurrent first messages of one sender converge on one
 * contact) without the id spelling out a phone number.
 */
export const contactIdFor = (tenantId: Ids.TenantId, channel: string, address: string): Ids.UserId =>
  Ids.UserId.make(`contact:${channel}:${digest(tenantId, channel, address).slice(0, 24)}`)

/** The provider's id when it is a valid client message id, otherwise a digest of it (`wamid.…=` is not). */
export const clientMessageIdFor = (providerMessageId: string): Ids.ClientMessageId =>
  isId(providerMessageId)
    ? Ids.ClientMessageId.make(providerMessageId)
    : Ids.ClientMessageId.make(`p:${digest(providerMessageId)}`)

const placeholder = (text: string): Content.Content => new Content.TextContent({ type: "text", text })

/**
 * The engine's content for what the person sent. Media stays at the provider (its id is in the
 * metadata, for whoever wants to fetch it): the message carries the caption, or says what was sent.
 */
export const contentOf = (
  content: InboundEvent.InboundContent,
): { readonly content: Content.Content; readonly metadata: Record<string, unknown> } => {
  switch (content.type) {
    case "text":
      return content.text.length === 0
        ? { content: placeholder("[empty message]"), metadata: {} }
        : { content: placeholder(content.text.slice(0, 16_384)), metadata: {} }
    case "media":
      return {
        content: placeholder(
          content.caption !== undefined && content.caption.length > 0
            ? content.caption.slice(0, 16_384)
            : `[${content.kind}]`,
        ),
        metadata: {
          media: {
            kind: content.kind,
            providerMediaId: content.providerMediaId,
            ...(content.mimeType === undefined ? {} : { mimeType: content.mimeType }),
            ...(content.fileName === undefined ? {} : { fileName: content.fileName }),
          },
        },
      }
    case "unsupported":
      return {
        content: placeholder(`[unsupported ${content.kind} message]`),
        metadata: { unsupported: content.kind },
      }
  }
}

/** The domain's input for an inbound provider message. */
export const inboundInput = (event: InboundEvent.InboundMessage): Inbound.InboundInput => {
  const { content, metadata } = contentOf(event.content)
  return {
    connector: event.connector as Delivery.ChannelName,
    providerMessageId: event.providerMessageId,
    from: event.from,
    senderName: event.senderName,
    content,
    metadata: {
      ...metadata,
      inbound: {
        connector: event.connector,
        providerMessageId: event.providerMessageId,
        from: event.from,
        at: new Date(event.at).toISOString(),
        ...(event.senderName === undefined ? {} : { senderName: event.senderName }),
      },
    },
    replyToProviderMessageId: event.replyToProviderMessageId,
  }
}

/** A failure worth the provider's redelivery: the store, or a defect. Anything else is logged and dropped. */
const retryable = (cause: Cause.Cause<{ readonly _tag: string }>) =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => !Cause.isInterruptedOnly(cause),
    onSome: (error) => error._tag === "StoreUnavailable",
  })

/**
 * Stores the events of one verified webhook, in order. Fails (so the endpoint answers 500 and the
 * provider redelivers, which dedup makes safe) only when storing failed; an event no retry can help is
 * logged and skipped.
 */
export const store = (
  config: ConnectorConfig.ConnectorConfig,
  events: ReadonlyArray<InboundEvent.InboundEvent>,
) =>
  Effect.forEach(
    events,
    (event) => {
      const annotations = {
        tenantId: config.tenantId,
        connector: config.connector,
        providerMessageId: event.providerMessageId,
      }
      const handled =
        event._tag === "InboundMessage"
          ? Inbound.receiveInbound(config.tenantId, inboundInput(event), {
              inboxUserId: config.inboxUserId,
              newContactId: contactIdFor(config.tenantId, event.connector, event.from),
              clientMessageId: clientMessageIdFor(event.providerMessageId),
            }).pipe(
              Effect.tap((result) =>
                result._tag === "Ignored"
                  ? Effect.logWarning(`inbound message ignored: ${result.reason}`)
                  : result._tag === "Duplicate"
                    ? Effect.logDebug("inbound message already received")
                    : Effect.logDebug("inbound message received").pipe(
                        Effect.annotateLogs({ messageId: result.message.id, contactId: result.contactId }),
                      ),
              ),
              Effect.asVoid,
            )
          : Inbound.applyProviderStatus(config.tenantId, {
              connector: event.connector,
              providerMessageId: event.providerMessageId,
              status: event.status,
              detail: event.detail,
            }).pipe(
              Effect.tap((result) =>
                result._tag === "Unknown"
                  ? Effect.logInfo(`status ${event.status} for a provider message the engine did not send`)
                  : Effect.void,
              ),
              Effect.asVoid,
            )
      return (
        handled as Effect.Effect<void, { readonly _tag: string }, Effect.Effect.Context<typeof handled>>
      ).pipe(
        Effect.catchAllCause((cause) =>
          retryable(cause)
            ? Effect.zipRight(
                Effect.logError("provider webhook: storing an event failed", cause),
                Effect.failCause(cause),
              )
            : Effect.logWarning("provider webhook: an event was not stored", cause),
        ),
        Effect.annotateLogs(annotations),
      )
    },
    { discard: true },
  )
