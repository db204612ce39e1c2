/**
 * `@chat4all/connectors`: the formal channel connector interface, the registry of connector factories,
 * per-tenant settings, webhook dispatch, and the WhatsApp Cloud, Instagram and Telegram connectors.
 * The conformance kit is at `@chat4all/connectors/testing`.
 */
export type { Capabilities, Connector, OutboundDelivery, SendReceipt, WebhookResponse } from "./Connector.js"
export * from "./ConnectorError.js"
export * as ConnectorFactory from "./ConnectorFactory.js"
export * as ConnectorSettings from "./ConnectorSettings.js"
export * as InboundEvent from "./InboundEvent.js"
export * as Instagram from "./instagram/Instagram.js"
export * as Outbound from "./Outbound.js"
export * as ProviderHttp from "./ProviderHttp.js"
export * as Registry from "./Registry.js"
export * as Signature from "./Signature.js"
export * as Telegram from "./telegram/Telegram.js"
export * as Webhook from "./Webhook.js"
export * as WebhookRequest from "./WebhookRequest.js"
export * as WhatsApp from "./whatsapp/WhatsApp.js"
