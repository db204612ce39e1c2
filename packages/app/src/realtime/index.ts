export * as RealtimeHttpServer from "./HttpServer.js"
export * as Realtime from "./Realtime.js"
export * as Transport from "./Transport.js"
