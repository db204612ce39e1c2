/**
 * `@chat4all/connectors/stand-ins`: loopback stand-ins of the shipped providers, and the pieces to write
 * one (`StandIn.listen`). No vitest here: integration tests and local runs of the app can use them.
 */
export * as InstagramStandIn from "./instagram/StandIn.js"
export * as StandIn from "./StandIn.js"
export * as TelegramStandIn from "./telegram/StandIn.js"
export * as WebhookRequest from "./WebhookRequest.js"
export * as WhatsAppStandIn from "./whatsapp/StandIn.js"
