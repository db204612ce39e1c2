import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"

export const HealthStatus = Schema.Literal("ok", "degraded", "down")

export const Check = Schema.Struct({
  status: HealthStatus,
  latencyMs: Schema.optional(Schema.Number),
  detail: Schema.optional(Schema.String),
}).annotations({ identifier: "HealthCheck" })

export const Health = Schema.Struct({
  status: HealthStatus,
  checks: Schema.Record({ key: Schema.String, value: Check }),
  uptimeS: Schema.Number,
}).annotations({ identifier: "Health" })
export type Health = typeof Health.Type

const down = Health.annotations({ description: "A dependency is down" })

/** Probes and metrics: no token. */
export const OpsApi = HttpApiGroup.make("ops")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(Health)
      .addError(down, { status: 503 })
      .annotate(OpenApi.Summary, "Overall health: every dependency's check"),
  )
  .add(
    HttpApiEndpoint.get("live", "/health/live")
      .addSuccess(Health)
      .annotate(OpenApi.Summary, "Liveness: the process answers"),
  )
  .add(
    HttpApiEndpoint.get("ready", "/health/ready")
      .addSuccess(Health)
      .addError(down, { status: 503 })
      .annotate(OpenApi.Summary, "Readiness: a check per dependency; 503 when one is down"),
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      .annotate(OpenApi.Summary, "Prometheus text format"),
  )
