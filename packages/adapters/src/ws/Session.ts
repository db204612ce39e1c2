import type { Caller, Ids } from "@chat4all/domain"
import WebSocket from "ws"
import { CloseCode, eventFrame } from "./Protocol.js"
import type { Released } from "./Sequencer.js"

/**
 * A server-to-client text frame (FIN, opcode 1, unmasked) around `payload`, as RFC 6455 lays it out.
 * Built once per event, it goes to every session's socket as is.
 */
export const textFrame = (payload: Buffer): Buffer => {
  const length = payload.length
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x81
  if (header === 2) frame[1] = length
  else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  payload.copy(frame, header)
  return frame
}

/** What of `ws`'s internals a pre-built frame needs (the same door engine.io uses for broadcasts). */
interface WsInternals {
  readonly _sender?: { readonly _state?: number; sendFrame?: (list: Array<Buffer>) => void }
  readonly _socket?: { cork?: () => void; uncork?: () => void }
}

/**
 * Writes a pre-built frame through the connection's sender when it is idle (no fragmented or queued
 * message in progress, which is always so without compression); answers false otherwise, and the caller
 * sends the payload the ordinary way.
 */
const sendBuilt = (ws: WebSocket, frame: Buffer): boolean => {
  const sender = (ws as unknown as WsInternals)._sender
  if (sender?.sendFrame === undefined || sender._state !== 0) return false
  sender.sendFrame([frame])
  return true
}

/** A frame's payload, and the whole frame built around it (lazily, once). */
export class Outgoing {
  private built: Buffer | undefined

  constructor(readonly payload: Buffer) {}

  get frame(): Buffer {
    if (this.built === undefined) this.built = textFrame(this.payload)
    return this.built
  }
}

/**
 * An event on its way to local sessions: serialized once, whatever the number of sessions, and framed
 * once per distinct cursor (in practice once: the cursor is the tenant's, not the session's).
 */
export class RoutedEvent {
  private json: string | undefined
  private framed: Outgoing | undefined
  readonly id: string
  readonly position: number | undefined
  readonly cursor: string | undefined
  /** The cursor as a number (cursors are log positions), read once rather than per session. */
  readonly cursorPosition: number | undefined

  constructor(
    readonly released: Released,
    private readonly encode: (released: Released) => string,
  ) {
    this.id = released.event.id
    this.position = released.event.position
    this.cursor = released.cursor
    this.cursorPosition = released.cursor === undefined ? undefined : Number(released.cursor)
  }

  get eventJson(): string {
    if (this.json === undefined) this.json = this.encode(this.released)
    return this.json
  }

  frame(cursor: string): Outgoing {
    if (cursor === this.released.cursor) {
      if (this.framed === undefined)
        this.framed = new Outgoing(Buffer.from(eventFrame(this.eventJson, cursor)))
      return this.framed
    }
    return new Outgoing(Buffer.from(eventFrame(this.eventJson, cursor)))
  }
}

export interface SessionLimits {
  /** Unsent bytes a connection may hold before it is closed as a slow consumer (4008). */
  readonly maxBufferedBytes: number
  /** Events a session may hold while it replays or starts; beyond it, 4008. */
  readonly maxPendingEvents: number
  /** After a close, how long the peer has to answer before the connection is cut. */
  readonly closeGraceMs: number
}

export type Phase = "starting" | "replaying" | "live" | "closed"

/** The start of every session's chain of sends (one shared promise, not one per idle session). */
const idle: Promise<void> = Promise.resolve()

/** Counters the gateway reports. */
export interface SessionCounters {
  framesOut: number
  /** Socket writes of event frames: fewer than the event frames when batches form under load. */
  eventWrites: number
  bytesOut: number
  slowConsumers: number
}

/**
 * One WebSocket connection of an authenticated user. Plain fields and callbacks rather than a fiber: at
 * tens of thousands of idle connections per node, each byte per session counts. Events come in already
 * serialized; sending checks the connection's unsent bytes first, so a slow reader is cut off (4008, it
 * resumes from its cursor) instead of growing the server's memory.
 */
export class Session {
  phase: Phase = "starting"
  /** The last cursor sent: where this client resumes. */
  cursor = "0"
  /** Live events at or below this log position are already covered by the welcome or the replay. */
  startPosition: number | undefined
  /** Ids replayed, to drop their live copies when events carry no position. */
  replayedIds: Set<string> | undefined
  private pending: Array<RoutedEvent> | undefined
  missedPongs = 0
  pingSentAt = 0
  rttMs: number | undefined
  /** Token bucket of the per-connection rate limit. */
  tokens: number
  tokensAt: number
  badFrames = 0
  badFramesSince = 0
  /** Event frames of this round, written together by `flush` (one syscall for the lot). */
  private batch: Array<Outgoing> | undefined
  private batchBytes = 0
  /** The cursor after the last frame of the batch. */
  private batchCursor: string | undefined
  /** Called when the first frame of a round is queued, so the gateway flushes this session after it. */
  onQueued: ((session: Session) => void) | undefined
  /** Conversations this session said it is typing in, with when the last start went out. */
  typing: Map<Ids.ConversationId, number> | undefined
  /** Sends run one after another, in the order the client sent them. */
  sendChain: Promise<void> = idle
  sendsInFlight = 0
  private closeTimer: NodeJS.Timeout | undefined
  /** Called once when the session ends, by a close of ours or of the peer. */
  onGone: ((session: Session) => void) | undefined

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    readonly caller: Caller.Caller,
    readonly connectedAt: number,
    readonly remoteAddress: string | undefined,
    readonly expiresAt: number | undefined,
    private readonly limits: SessionLimits,
    private readonly counters: SessionCounters,
    burst: number,
  ) {
    this.tokens = burst
    this.tokensAt = connectedAt
  }

  get tenantId(): Ids.TenantId {
    return this.caller.tenantId
  }

  get userId(): Ids.UserId {
    return this.caller.userId
  }

  get open(): boolean {
    return this.phase !== "closed" && this.ws.readyState === WebSocket.OPEN
  }

  /** Sends a frame unless the connection already holds too much; then it is closed as a slow consumer. */
  send(data: Buffer | string | Outgoing): boolean {
    if (!this.open) return false
    const length =
      typeof data === "string"
        ? Buffer.byteLength(data)
        : data instanceof Outgoing
          ? data.payload.length
          : data.length
    if (this.ws.bufferedAmount + length > this.limits.maxBufferedBytes) {
      this.counters.slowConsumers++
      this.close(
        CloseCode.tryAgainLater,
        "slow consumer: too much unsent data; reconnect with your last cursor",
      )
      return false
    }
    if (!(data instanceof Outgoing)) this.ws.send(data, { binary: false })
    else if (!sendBuilt(this.ws, data.frame)) this.ws.send(data.payload, { binary: false })
    this.counters.framesOut++
    this.counters.bytesOut += length
    return true
  }

  /** An event for this session: held while it starts or replays, sent when live. */
  deliver(event: RoutedEvent): void {
    if (this.phase === "live") {
      this.sendEvent(event)
      return
    }
    if (this.phase === "closed") return
    this.pending ??= []
    this.pending.push(event)
    if (this.pending.length > this.limits.maxPendingEvents) {
      this.counters.slowConsumers++
      this.close(
        CloseCode.tryAgainLater,
        "too many events arrived while resuming; reconnect with your last cursor",
      )
    }
  }

  /** Goes live: the events held meanwhile follow, minus those the welcome or replay covered. */
  goLive(): void {
    if (this.phase === "closed") return
    this.phase = "live"
    const held = this.pending ?? []
    this.pending = undefined
    for (const event of held) this.sendEvent(event)
    this.replayedIds = undefined
  }

  private sendEvent(event: RoutedEvent): void {
    const position = event.position
    if (position !== undefined) {
      if (this.startPosition !== undefined && position <= this.startPosition) return
    } else if (this.replayedIds?.has(event.id)) return
    let cursor = event.cursor ?? this.batchCursor ?? this.cursor
    // A tenant watermark below this session's start (a gap it does not care about) reads as the start.
    if (
      this.startPosition !== undefined &&
      event.cursorPosition !== undefined &&
      event.cursorPosition < this.startPosition
    )
      cursor = String(this.startPosition)
    const frame = event.frame(cursor)
    if (this.batch === undefined) this.batch = []
    this.batch.push(frame)
    this.batchBytes += frame.payload.length
    this.batchCursor = cursor
    if (this.batch.length === 1) this.onQueued?.(this)
  }

  /**
   * Writes the event frames queued this round: under load a session gets several events at once, and
   * they go out corked, in one write, instead of one system call each. The slow-consumer check covers
   * the whole batch.
   */
  flush(): void {
    const batch = this.batch
    if (batch === undefined || batch.length === 0) return
    const bytes = this.batchBytes
    const cursor = this.batchCursor
    this.batch = undefined
    this.batchBytes = 0
    this.batchCursor = undefined
    if (!this.open) return
    if (this.ws.bufferedAmount + bytes > this.limits.maxBufferedBytes) {
      this.counters.slowConsumers++
      this.close(
        CloseCode.tryAgainLater,
        "slow consumer: too much unsent data; reconnect with your last cursor",
      )
      return
    }
    const socket = batch.length > 1 ? (this.ws as unknown as WsInternals)._socket : undefined
    socket?.cork?.()
    for (const frame of batch)
      if (!sendBuilt(this.ws, frame.frame)) this.ws.send(frame.payload, { binary: false })
    socket?.uncork?.()
    this.counters.framesOut += batch.length
    this.counters.eventWrites++
    this.counters.bytesOut += bytes
    if (cursor !== undefined) this.cursor = cursor
  }

  /** Closes with a code; a peer that does not complete the close within the grace is cut. */
  close(code: number, reason: string): void {
    if (this.phase === "closed") return
    this.phase = "closed"
    this.pending = undefined
    this.gone()
    try {
      this.ws.close(code, reason.slice(0, 123))
    } catch {
      this.ws.terminate()
    }
    this.closeTimer = setTimeout(() => this.ws.terminate(), this.limits.closeGraceMs)
    this.closeTimer.unref()
  }

  /** The connection is gone (closed by either side). */
  closed(): void {
    this.phase = "closed"
    this.pending = undefined
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer)
    this.gone()
  }

  private gone() {
    const onGone = this.onGone
    this.onGone = undefined
    onGone?.(this)
  }
}
