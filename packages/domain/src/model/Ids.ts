import { Schema } from "effect"

/** Tenant, user, conversation, file and webhook ids: 1-128 chars of `[A-Za-z0-9._:-]` (API.md). */
const opaqueId = <B extends string>(brand: B) =>
  Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9._:-]{1,128}$/, {
      message: () => `must be 1-128 characters of A-Z a-z 0-9 . _ : -`,
    }),
    Schema.brand(brand),
  )

export const TenantId = opaqueId("TenantId")
export type TenantId = typeof TenantId.Type

export const UserId = opaqueId("UserId")
export type UserId = typeof UserId.Type

export const ConversationId = opaqueId("ConversationId")
export type ConversationId = typeof ConversationId.Type

export const ClientMessageId = opaqueId("ClientMessageId")
export type ClientMessageId = typeof ClientMessageId.Type

export const FileId = opaqueId("FileId")
export type FileId = typeof FileId.Type

/** The seed id format: a 13-digit millisecond timestamp, a dash, a lower-case UUID v4. */
export const seedIdPattern = /^[0-9]{13}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const seedId = <B extends string>(brand: B) =>
  Schema.String.pipe(
    Schema.pattern(seedIdPattern, {
      message: () => "must be a 13-digit millisecond timestamp, a dash and a UUID v4",
    }),
    Schema.brand(brand),
  )

/** Message ids are made by the server only, through the IdGenerator port. */
export const MessageId = seedId("MessageId")
export type MessageId = typeof MessageId.Type

/** Event ids share the seed format, so they sort by time; they are the webhook-id and the NATS dedup id. */
export const EventId = seedId("EventId")
export type EventId = typeof EventId.Type

/** The millisecond timestamp a seed id starts with. */
export const seedIdMillis = (id: MessageId | EventId): number => Number(id.slice(0, 13))

/** Builds a seed id from its parts; `uuid` must be a UUID v4 (the IdGenerator port guarantees it). */
export const formatSeedId = (millis: number, uuid: string): string =>
  `${String(Math.max(0, Math.trunc(millis))).padStart(13, "0")}-${uuid.toLowerCase()}`
