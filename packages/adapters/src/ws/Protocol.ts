import { Content, Conversation, Ids, Message } from "@chat4all/domain"
import { Either, ParseResult, Schema } from "effect"

/** The WebSocket protocol of API.md: frames, their limits and the close codes. */

/** Frames are JSON text of at most 64 KiB; a bigger one closes the connection with 1009. */
export const maxFrameBytes = 64 * 1024

export const CloseCode = {
  /** A client that goes away or a server that terminates a dead peer. */
  goingAway: 1001,
  /** Repeated malformed frames. */
  policyViolation: 1008,
  /** A frame over 64 KiB (ws closes with it itself). */
  tooBig: 1009,
  /** The node is shutting down; reconnect (to another node) with the last cursor. */
  restart: 1012,
  /** A bad or expired token. */
  unauthorized: 4001,
  /** Rate limit or slow consumer; reconnect with the last cursor. */
  tryAgainLater: 4008,
} as const

/** The client's correlation id: a short string or a number. */
const CorrelationId = Schema.Union(
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  Schema.Number,
)

const Seq = Schema.Int.pipe(Schema.nonNegative())

export const SendCommand = Schema.Struct({
  id: Schema.optional(CorrelationId),
  type: Schema.Literal("send"),
  conversationId: Ids.ConversationId,
  clientMessageId: Ids.ClientMessageId,
  content: Content.Content,
  replyTo: Schema.optional(Ids.MessageId),
  channels: Schema.optional(Message.Channels),
  metadata: Schema.optional(Conversation.Metadata),
})

export const AckCommand = Schema.Struct({
  id: Schema.optional(CorrelationId),
  type: Schema.Literal("ack"),
  conversationId: Ids.ConversationId,
  seq: Seq,
})

export const ReadCommand = Schema.Struct({
  id: Schema.optional(CorrelationId),
  type: Schema.Literal("read"),
  conversationId: Ids.ConversationId,
  seq: Seq,
})

export const TypingCommand = Schema.Struct({
  id: Schema.optional(CorrelationId),
  type: Schema.Literal("typing"),
  conversationId: Ids.ConversationId,
  state: Schema.Literal("start", "stop"),
})

export const PingCommand = Schema.Struct({
  id: Schema.optional(CorrelationId),
  type: Schema.Literal("ping"),
  t: Schema.optional(Schema.Union(Schema.Number, Schema.String.pipe(Schema.maxLength(64)))),
})

export const Command = Schema.Union(SendCommand, AckCommand, ReadCommand, TypingCommand, PingCommand)
export type Command = typeof Command.Type

const commandTypes = new Set(["send", "ack", "read", "typing", "ping"])
const decodeCommand = Schema.decodeUnknownEither(Command, { errors: "first", onExcessProperty: "ignore" })

/** Why a frame was refused, for the `error` frame: what is wrong and where. */
export interface FrameError {
  readonly code: "invalid_request"
  readonly message: string
  /** The correlation id, when the frame had a usable one. */
  readonly id?: string | number | undefined
}

/** A text frame as a command, or what is wrong with it. */
export const parseCommand = (text: string): Either.Either<Command, FrameError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.left({ code: "invalid_request", message: "the frame is not JSON" })
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return Either.left({ code: "invalid_request", message: "the frame must be a JSON object" })
  const record = json as Record<string, unknown>
  const id = typeof record.id === "string" || typeof record.id === "number" ? record.id : undefined
  if (typeof record.type !== "string" || !commandTypes.has(record.type))
    return Either.left({
      code: "invalid_request",
      id,
      message: `type must be one of send, ack, read, typing, ping (got ${JSON.stringify(record.type) ?? "nothing"})`,
    })
  return Either.mapLeft(decodeCommand(json), (error) => ({
    code: "invalid_request",
    id,
    message: `${record.type}: ${describeIssue(error)}`,
  }))
}

/** The first issue of a parse error as `field: problem`. */
const describeIssue = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return error.message
  const path = issue.path.map(String).join(".")
  return path === "" ? issue.message : `${path}: ${issue.message}`
}

/** Server frames. Event frames are assembled from pre-serialized JSON (see `eventFrame`). */
export const welcome = (sessionId: string, userId: string, heartbeatMs: number, cursor: string) =>
  JSON.stringify({ type: "welcome", sessionId, userId, heartbeatMs, cursor })

export const resumed = (cursor: string) => JSON.stringify({ type: "resumed", cursor })

export const reply = (id: string | number, result: unknown) =>
  JSON.stringify({ type: "reply", id, ok: true, result })

export const replyError = (id: string | number, code: string, message: string) =>
  JSON.stringify({ type: "reply", id, ok: false, error: { code, message } })

export const error = (code: string, message: string) => JSON.stringify({ type: "error", code, message })

export const pong = (t: unknown) => JSON.stringify(t === undefined ? { type: "pong" } : { type: "pong", t })

export const typing = (conversationId: string, userId: string, state: "start" | "stop") =>
  JSON.stringify({ type: "typing", conversationId, userId, state })

export const presence = (userId: string, status: string, lastSeen: number | undefined) =>
  JSON.stringify({
    type: "presence",
    userId,
    status,
    lastSeen: lastSeen === undefined ? null : new Date(lastSeen).toISOString(),
  })

/** `{"type":"event","event":<eventJson>,"cursor":"<cursor>"}` from an event serialized once. */
export const eventFrame = (eventJson: string, cursor: string) =>
  `{"type":"event","event":${eventJson},"cursor":${JSON.stringify(cursor)}}`
