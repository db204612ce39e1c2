import { afterAll, beforeAll, describe } from "vitest"
import * as Storage from "../../src/Storage.js"
import { start, type TestServer } from "./TestServer.js"

export interface Backend {
  readonly name: string
  readonly storage: () => Storage.Storage<unknown, never>
}

/** The storages every HTTP suite runs against. */
export const backends: ReadonlyArray<Backend> = [{ name: "memory", storage: () => Storage.memory }]

/**
 * Declares a suite once per backend, each with its own server (started before, closed after). `env` is
 * the server's configuration.
 */
export const eachBackend = (
  title: string,
  body: (server: () => TestServer) => void,
  env: Record<string, string> = {},
) => {
  for (const backend of backends) {
    describe(`${title} [${backend.name}]`, () => {
      let server: TestServer | undefined
      beforeAll(async () => {
        server = await start(backend.storage(), env)
      }, 60_000)
      afterAll(async () => {
        await server?.close()
      })
      body(() => {
        if (server === undefined) throw new Error("the test server did not start")
        return server
      })
    })
  }
}
