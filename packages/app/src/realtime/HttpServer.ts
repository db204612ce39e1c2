import { UpgradeRouting } from "@chat4all/adapters/ws"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"

/**
 * The app's HTTP server: `@effect/platform`'s Node server over an `UpgradeRoutingServer`, so the
 * WebSocket gateway takes its upgrades on the same port without a second `upgrade` listener
 * (`UpgradeRoutes`). Everything else is exactly `NodeHttpServer.layer`.
 */
export const layer = (options: { readonly port: number; readonly host: string }) =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const server = new UpgradeRouting.UpgradeRoutingServer()
      return Layer.merge(
        NodeHttpServer.layer(() => server, options),
        Layer.succeed(UpgradeRouting.UpgradeRoutes, {
          routeUpgrade: (path, handler) => server.routeUpgrade(path, handler),
        }),
      )
    }),
  )
