/**
 * `@chat4all/connectors/testing`: the conformance kit and the provider stand-ins. A connector author
 * calls `conformanceSuite` in a test file with their factory and a stand-in of their provider:
 *
 * ```ts
 * import { conformanceSuite } from "@chat4all/connectors/testing"
 * conformanceSuite({ factory: MyConnector.factory, standIn: MyStandIn.make })
 * ```
 *
 * This entry point imports vitest; use it from test files only. The stand-ins alone, without vitest,
 * are at `@chat4all/connectors/stand-ins`.
 */
import { describe, layer } from "@effect/vitest"
import { Effect, Context as EffectContext, Layer, type Scope } from "effect"
import type { ConnectorFactory } from "../ConnectorFactory.js"
import type * as StandInModule from "../StandIn.js"
import * as Conformance from "./Conformance.js"

export * from "../stand-ins.js"
export * as Conformance from "./Conformance.js"

class KitContext extends EffectContext.Tag("@chat4all/connectors/testing/KitContext")<
  KitContext,
  Conformance.Context
>() {}

export interface SuiteOptions {
  readonly factory: ConnectorFactory
  /** Starts the provider stand-in; it is stopped when the suite ends. */
  readonly standIn: Effect.Effect<StandInModule.StandIn, unknown, Scope.Scope>
  /** fast-check runs per property check (25 by default). */
  readonly runs?: number | undefined
  /** Per-check timeout in milliseconds (60 s by default). */
  readonly timeout?: number | undefined
}

/**
 * Registers the conformance suite: every check of `Conformance.checks` as a test, in order, against one
 * stand-in started for the suite (its state is reset before each check).
 */
export const conformanceSuite = (options: SuiteOptions) =>
  describe(`connector conformance: ${options.factory.name}`, () => {
    const kit = Layer.scoped(KitContext, Conformance.context(options.factory, options.standIn, options.runs))
    layer(kit, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      for (const check of Conformance.checks)
        it.effect(check.name, () => Effect.flatMap(KitContext, check.run), options.timeout ?? 60_000)
    })
  })
