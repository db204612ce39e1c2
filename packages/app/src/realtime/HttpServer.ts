import { UpgradeRouting } from "@chat4all/adapters/ws"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as NodeLifecycle from "../http/NodeLifecycle.js"

/**
 * The app's HTTP server: `@effect/platform`'s Node server over an `UpgradeRoutingServer`, so the
 * WebSocket gateway takes its upgrades on the same port without a second `upgrade` listener
 * (`UpgradeRoutes`). Everything else is `NodeHttpServer.layer`, plus its lifecycle: 503 `starting` until
 * the app's handler is attached, and connections cut after a grace period when it stops.
 */
export const layer = (options: { readonly port: number; readonly host: string }) =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const server = new UpgradeRouting.UpgradeRoutingServer()
      NodeLifecycle.answerWhileStarting(server)
      // Built after the server, so its finalizer runs before the server's close (which waits for connections).
      const closer = Layer.scopedDiscard(
        Effect.zipRight(
          HttpServer.HttpServer,
          Effect.addFinalizer(() => NodeLifecycle.closeConnections(server)),
        ),
      )
      return Layer.merge(
        closer.pipe(Layer.provideMerge(NodeHttpServer.layer(() => server, options))),
        Layer.succeed(UpgradeRouting.UpgradeRoutes, {
          routeUpgrade: (path, handler) => server.routeUpgrade(path, handler),
        }),
      )
    }),
  )
