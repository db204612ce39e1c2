import { Registry } from "@chat4all/connectors"
import { Layer } from "effect"
import * as ConnectorWorker from "../workers/ConnectorWorker.js"
import * as ConnectorSecrets from "./ConnectorSecrets.js"
import * as TenantConnectors from "./TenantConnectors.js"

export { ConnectorSecrets, TenantConnectors }

/**
 * Channel connectors in the app: the registry (the shipped connectors), the secrets that seal their
 * settings, the tenants' connectors (the domain's `ChannelConnectors`), and the worker that routes and
 * delivers. Needs the storage ports, the conversation actor, the fanout and the platform's file system.
 */
export const layer = ConnectorWorker.layerConfig.pipe(
  Layer.provideMerge(TenantConnectors.layer),
  Layer.provideMerge(ConnectorSecrets.layerConfig),
  Layer.provideMerge(Registry.layer()),
)
