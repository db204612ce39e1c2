import { randomUUID } from "node:crypto"
import type { AddressInfo } from "node:net"
import {
  Caller,
  type Conversation,
  ConversationActor,
  Conversations,
  Event,
  type Fanout,
  type Ids,
  type Message,
  OutboxRelay,
} from "@chat4all/domain"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import WebSocket from "ws"
import * as Memory from "../../src/memory/index.js"
import { SystemIdGenerator } from "../../src/system/index.js"
import { Gateway, Signals, UpgradeRouting } from "../../src/ws/index.js"

const encodeDomainEvent = Schema.encodeSync(Event.Event)

/** The event as the HTTP API renders it: ISO time, no internal position. */
export const wireEvent = (event: Event.Event): unknown => {
  const { position: _position, ...encoded } = encodeDomainEvent(event) as Record<string, unknown> & {
    position?: number
  }
  return { ...encoded, at: new Date(event.at).toISOString() }
}

export const wireMessage = (message: Message.Message): unknown => ({
  id: message.id,
  conversationId: message.conversationId,
  seq: message.seq,
  senderId: message.senderId,
  clientMessageId: message.clientMessageId,
  content: message.content,
  channels: message.channels,
  metadata: message.metadata,
  createdAt: new Date(message.createdAt).toISOString(),
  status: message.status,
})

export interface Harness {
  readonly url: string
  readonly runtime: ManagedRuntime.ManagedRuntime<Layer.Layer.Success<ReturnType<typeof stack>>, never>
  /** A token for a user of a tenant, as the app's verifier would accept it. */
  readonly token: (tenantId: string, userId: string, options?: { readonly expiresInMs?: number }) => string
  readonly caller: (tenantId: string, userId: string) => Caller.Caller
  readonly createConversation: (
    tenantId: string,
    owner: string,
    members: ReadonlyArray<string>,
    type?: "group" | "direct",
  ) => Promise<Conversation.Conversation>
  readonly run: <A, E>(
    effect: Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof stack>>>,
  ) => Promise<A>
  readonly close: () => Promise<void>
}

/** Storage, fanout, presence and signals in memory, the conversation actors, the relay, and the gateway. */
const stack = (hooks: Gateway.Hooks, options: Gateway.Options, fanout?: Layer.Layer<Fanout.Fanout>) => {
  const ports = Layer.mergeAll(
    Memory.storageLayer,
    Memory.MemoryPresence.layer,
    fanout ?? Memory.MemoryFanout.layer,
    Signals.layerMemory,
    SystemIdGenerator.layer,
  )
  const relay = OutboxRelay.layer({ ...OutboxRelay.defaults, pollMs: 20 })
  const core = ConversationActor.layer().pipe(
    Layer.provideMerge(OutboxRelay.nudgeOnCommit),
    Layer.provideMerge(relay),
    Layer.provideMerge(ports),
  )
  return Gateway.layer(hooks, options).pipe(Layer.provideMerge(core))
}

export const startHarness = async (
  overrides: Partial<Gateway.Options> = {},
  extra: { readonly beforeSend?: Gateway.Hooks["beforeSend"] } = {},
): Promise<Harness> => {
  const tokens = new Map<string, Gateway.Authenticated>()
  const hooks: Gateway.Hooks = {
    authenticate: (token) => {
      const auth = tokens.get(token)
      return auth === undefined
        ? Effect.fail(new Gateway.Unauthorized({ reason: "the token's signature does not verify" }))
        : auth.expiresAt !== undefined && auth.expiresAt <= Date.now()
          ? Effect.fail(new Gateway.Unauthorized({ reason: "the token has expired" }))
          : Effect.succeed(auth)
    },
    encodeEvent: wireEvent,
    encodeMessage: wireMessage,
    ...(extra.beforeSend === undefined ? {} : { beforeSend: extra.beforeSend }),
  }
  const runtime = ManagedRuntime.make(stack(hooks, { ...Gateway.defaults, ...overrides }))
  const gateway = await runtime.runPromise(Gateway.Gateway)
  const server = new UpgradeRouting.UpgradeRoutingServer()
  server.on("request", (_req, res) => res.writeHead(404).end())
  server.routeUpgrade("/v1/ws", gateway.handleUpgrade)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  const caller = (tenantId: string, userId: string) =>
    new Caller.Caller({ tenantId: tenantId as Ids.TenantId, userId: userId as Ids.UserId, role: "user" })
  return {
    url: `ws://127.0.0.1:${port}/v1/ws`,
    runtime,
    token: (tenantId, userId, options = {}) => {
      const token = randomUUID()
      tokens.set(token, {
        caller: caller(tenantId, userId),
        expiresAt: options.expiresInMs === undefined ? undefined : Date.now() + options.expiresInMs,
      })
      return token
    },
    caller,
    createConversation: (tenantId, owner, members, type = "group") =>
      runtime.runPromise(
        Conversations.createConversation(caller(tenantId, owner), {
          type,
          members: members.map((m) => m as Ids.UserId),
        }).pipe(Effect.map((r) => r.conversation)),
      ),
    run: (effect) => runtime.runPromise(effect),
    close: async () => {
      await runtime.dispose()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export interface Frame {
  readonly type: string
  readonly [key: string]: unknown
}

/** A WebSocket client that keeps every frame, for tests to wait on. */
export class Client {
  readonly frames: Array<Frame> = []
  private waiters: Array<() => void> = []
  closeCode: number | undefined
  closeReason = ""
  readonly closed: Promise<{ code: number; reason: string }>
  readonly opened: Promise<void>

  constructor(
    readonly ws: WebSocket,
    private readonly timeoutMs = 5_000,
  ) {
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame)
      this.wake()
    })
    this.opened = new Promise((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closeCode = code
        this.closeReason = reason.toString()
        this.wake()
        resolve({ code, reason: this.closeReason })
      }),
    )
    ws.on("error", () => {})
  }

  static connect(
    url: string,
    options: {
      readonly token?: string
      readonly header?: boolean
      readonly cursor?: string
    } & WebSocket.ClientOptions = {},
  ): Client {
    const { token, header, cursor, ...wsOptions } = options
    const target = new URL(url)
    if (token !== undefined && header !== true) target.searchParams.set("access_token", token)
    if (cursor !== undefined) target.searchParams.set("cursor", cursor)
    const ws = new WebSocket(target, {
      ...wsOptions,
      ...(token !== undefined && header === true ? { headers: { authorization: `Bearer ${token}` } } : {}),
    })
    return new Client(ws)
  }

  private wake() {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** Waits for the first frame (from `from` on) that matches, and answers its index and the frame. */
  async waitFor(match: (frame: Frame) => boolean, from = 0, timeoutMs = this.timeoutMs): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.frames.slice(from).find(match)
      if (found !== undefined) return found
      if (this.closeCode !== undefined)
        throw new Error(
          `closed (${this.closeCode} ${this.closeReason}) before a matching frame; got ${JSON.stringify(this.frames.map((f) => f.type))}`,
        )
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(
          `no matching frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 2000)}`,
        )
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  welcome(): Promise<Frame> {
    return this.waitFor((f) => f.type === "welcome")
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame))
  }

  /** Sends a command with a fresh correlation id and waits for its reply. */
  async request(frame: Record<string, unknown>): Promise<Frame> {
    const id = randomUUID()
    this.send({ ...frame, id })
    return this.waitFor((f) => f.type === "reply" && f.id === id)
  }

  events(): Array<{ event: { id: string; type: string; data: Record<string, unknown> }; cursor: string }> {
    return this.frames.filter((f) => f.type === "event") as never
  }

  /** The message ids of message.created events received, in order. */
  messageIds(conversationId?: string): Array<string> {
    return this.events()
      .filter(
        (e) =>
          e.event.type === "message.created" &&
          (conversationId === undefined ||
            (e.event as { conversationId?: string }).conversationId === conversationId),
      )
      .map((e) => (e.event.data.message as { id: string }).id)
  }

  lastCursor(): string | undefined {
    const withCursor = this.frames.filter((f) => typeof f.cursor === "string")
    return withCursor[withCursor.length - 1]?.cursor as string | undefined
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.closeCode === undefined) this.ws.close(1000)
    return this.closed
  }
}

export const text = (body: string) => ({ type: "text", text: body })

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
