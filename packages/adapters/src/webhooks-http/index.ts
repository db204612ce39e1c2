export * as HttpSender from "./HttpSender.js"
export * as Signature from "./Signature.js"
export * as SsrfGuard from "./SsrfGuard.js"
