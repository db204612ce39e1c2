import * as Memory from "@chat4all/adapters/memory"
import { Effect, type Layer } from "effect"
import type { Ports } from "./App.js"

/** A choice of storage: the layer with every port, and the name its health check reports under. */
export interface Storage<E = never, R = never> {
  readonly layer: Layer.Layer<Ports, E, R>
  readonly databaseName: string
  /** Where the data lives, for the start-up banner (never a password). */
  readonly description: string
  /** Brings the schema up to date (`chat4all migrate`). */
  readonly migrate: Effect.Effect<void, E, R>
}

/** Every port in memory: nothing survives a restart. For tests and trying things out. */
export const memory: Storage = {
  layer: Memory.layer,
  databaseName: "memory",
  description: "in memory (nothing is kept across restarts)",
  migrate: Effect.logInfo("storage is in memory: there is nothing to migrate"),
}

/** The storage the environment asks for. */
export const fromConfig = Effect.succeed(memory)
