import { Content, Conversation, Ids, Member, Message } from "@chat4all/domain"
import * as fc from "fast-check"

/**
 * Runs per property: `PROPERTY_RUNS` when set, else 1000 under CI and 300 locally. The rules are pure and
 * cheap, so even the CI figure keeps this suite to a few seconds.
 */
export const numRuns = (() => {
  const fromEnv = Number(process.env.PROPERTY_RUNS)
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv
  const ci = process.env.CI
  return ci !== undefined && ci !== "" && ci !== "false" && ci !== "0" ? 1000 : 300
})()

/** Per-test timeout for property suites: a CI runner under load must not turn 1000 runs into a flaky failure. */
export const propertyTimeout = 120_000

export const tenantId = "tenant-1" as Ids.TenantId
export const conversationId = "conv-1" as Ids.ConversationId
export const user = (name: string) => name as Ids.UserId
export const cmid = (name: string) => name as Ids.ClientMessageId

/** A valid seed id (`<13-digit ms>-<uuid v4>`) numbered `n`, so tests can make as many distinct ids as they need. */
export const seedId = (n: number, millis = 1_709_234_567_890): string =>
  Ids.formatSeedId(millis, `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`)
export const messageId = (n: number) => seedId(n) as Ids.MessageId
export const eventId = (n: number) => seedId(1_000_000 + n) as Ids.EventId

export const member = (
  userId: string,
  horizons: { readonly readSeq?: number; readonly deliveredSeq?: number } = {},
  role: Member.MemberRole = "member",
) =>
  new Member.Member({
    userId: user(userId),
    role,
    joinedAt: 0,
    readSeq: horizons.readSeq ?? 0,
    deliveredSeq: horizons.deliveredSeq ?? horizons.readSeq ?? 0,
  })

export const conversation = (
  type: Conversation.ConversationType,
  members: ReadonlyArray<Member.Member | string>,
  lastSeq = 0,
) =>
  new Conversation.Conversation({
    id: conversationId,
    tenantId,
    type,
    metadata: {},
    members: members.map((m) => (typeof m === "string" ? member(m) : m)),
    createdAt: 0,
    updatedAt: 0,
    lastSeq,
  })

export const text = (body: string) => new Content.TextContent({ type: "text", text: body })
export const system = (body: string) => new Content.SystemContent({ type: "system", text: body })
export const file = (fileId: string, caption?: string) =>
  new Content.FileContent({
    type: "file",
    fileId: fileId as Ids.FileId,
    ...(caption === undefined ? {} : { caption }),
  })

/** A committed text message from `senderId` with the given seq and channels. */
export const message = (
  senderId: string,
  options: {
    readonly seq?: number
    readonly id?: number
    readonly channels?: Message.Channels
    readonly content?: Message.Message["content"]
  } = {},
) =>
  new Message.Message({
    id: messageId(options.id ?? options.seq ?? 1),
    tenantId,
    conversationId,
    seq: options.seq ?? 1,
    senderId: user(senderId),
    clientMessageId: cmid(`c-${options.id ?? options.seq ?? 1}`),
    content: options.content ?? text("hello"),
    channels: options.channels ?? ["all"],
    metadata: {},
    createdAt: 0,
    status: "sent",
  })

/** Every ordering of `items` (a permutation), as an arbitrary. */
export const permutationOf = <A>(items: ReadonlyArray<A>): fc.Arbitrary<Array<A>> =>
  fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length })
