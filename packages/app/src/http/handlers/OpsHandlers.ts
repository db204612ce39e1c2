import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { collect } from "../../observability/Gauges.js"
import { Health, type Report } from "../../observability/Health.js"
import { scrape } from "../../observability/Prometheus.js"
import { Api } from "../Api.js"

/** A report is served with 503 when something is down, so load balancers take the node out. */
const answer = (report: Report) =>
  report.status === "down" ? HttpServerResponse.unsafeJson(report, { status: 503 }) : report

export const OpsHandlers = HttpApiBuilder.group(Api, "ops", (handlers) =>
  Effect.gen(function* () {
    const health = yield* Health
    return handlers
      .handle("health", () => Effect.map(health.ready, answer))
      .handle("live", () => health.live)
      .handle("ready", () => Effect.map(health.ready, answer))
      .handle("metrics", () => Effect.zipRight(collect, scrape))
  }),
)
