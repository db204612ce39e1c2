export * as SystemIdGenerator from "./IdGenerator.js"
