import { fanoutSuite, presenceSuite, TestIdGenerator } from "@chat4all/domain/testing"
import { describe, it } from "@effect/vitest"
import { Layer } from "effect"
import { NatsClient, NatsFanout, NatsPresence } from "../../src/nats/index.js"
import { cleanup, freshOptions, natsUrl, skipNotice } from "./support.js"

if (natsUrl === undefined) {
  console.warn(skipNotice)
  describe("NATS contracts", () => it.skip(skipNotice, () => {}))
} else {
  const fanout = freshOptions("fanout")
  fanoutSuite(
    `NATS JetStream (${fanout.stream})`,
    Layer.merge(
      NatsFanout.layer({
        ...NatsFanout.defaults,
        stream: fanout.stream,
        subjectPrefix: fanout.subjectPrefix,
        storage: "memory",
      }).pipe(
        Layer.provide(NatsClient.layer({ servers: fanout.servers })),
        Layer.provideMerge(cleanup(fanout)),
      ),
      TestIdGenerator.layer,
    ),
  )

  const presence = freshOptions("presence")
  presenceSuite(
    `NATS JetStream KV (${presence.presenceBucket})`,
    NatsPresence.layer({ ...NatsPresence.defaults, bucket: presence.presenceBucket, storage: "memory" }).pipe(
      Layer.provide(NatsClient.layer({ servers: presence.servers })),
      Layer.provideMerge(cleanup(presence)),
    ),
  )
}
