import { type IncomingMessage, Server } from "node:http"
import type { Duplex } from "node:stream"
import { Context } from "effect"

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void

/**
 * An HTTP server that hands WebSocket upgrades for chosen paths to a handler of ours, and every other
 * upgrade to its `upgrade` listeners as usual. This puts a raw `ws` server (`noServer: true`) on the same
 * port as `@effect/platform`'s HTTP server without a second `upgrade` listener: the platform's listener
 * never sees the upgrades we take, and we never see its.
 */
export class UpgradeRoutingServer extends Server {
  private readonly routes = new Map<string, UpgradeHandler>()

  constructor() {
    super()
    // Node emits `upgrade` only when something listens; this one answers upgrades of paths nobody
    // routes while it is the only listener, and steps aside once another (the platform's) is added.
    this.on("upgrade", (_request: IncomingMessage, socket: Duplex) => {
      if (this.listenerCount("upgrade") === 1)
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n")
    })
  }

  /** Sends upgrades of `path` to `handler`; answers a function that takes the route away again. */
  routeUpgrade(path: string, handler: UpgradeHandler): () => void {
    this.routes.set(path, handler)
    return () => {
      if (this.routes.get(path) === handler) this.routes.delete(path)
    }
  }

  override emit(event: string | symbol, ...args: Array<unknown>): boolean {
    if (event === "upgrade" && this.routes.size > 0) {
      const request = args[0] as IncomingMessage
      const path = (request.url ?? "/").split("?", 1)[0] ?? "/"
      const handler = this.routes.get(path)
      if (handler !== undefined) {
        handler(request, args[1] as Duplex, args[2] as Buffer)
        return true
      }
    }
    return super.emit(event as string, ...args)
  }
}

/** The server the app listens with, for layers that route upgrades on it (the WebSocket gateway). */
export class UpgradeRoutes extends Context.Tag("@chat4all/adapters/ws/UpgradeRoutes")<
  UpgradeRoutes,
  { readonly routeUpgrade: (path: string, handler: UpgradeHandler) => () => void }
>() {}
