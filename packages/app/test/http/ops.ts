import { expect, it } from "vitest"
import { eachBackend } from "../support/Backends.js"
import { expectProblem, tenant } from "../support/Fixtures.js"

eachBackend("health, metrics, OpenAPI and routing", (server) => {
  it("reports health with a check per dependency, without a token", async () => {
    for (const path of ["/health", "/health/ready"]) {
      const reply = await server().request("GET", path)
      expect(reply.status).toBe(200)
      expect(reply.body.status).toBe("ok")
      expect(typeof reply.body.uptimeS).toBe("number")
      expect(Object.keys(reply.body.checks).sort()).toEqual(expect.arrayContaining(["fanout", "outbox"]))
      expect(Object.keys(reply.body.checks)).toHaveLength(3)
      for (const check of Object.values(reply.body.checks) as Array<{ status: string; latencyMs: number }>) {
        expect(check.status).toBe("ok")
        expect(typeof check.latencyMs).toBe("number")
      }
    }
    const live = await server().request("GET", "/health/live")
    expect(live.status).toBe(200)
    expect(live.body).toMatchObject({ status: "ok", checks: {} })
  })

  it("serves Prometheus text with request counts and latency histograms", async () => {
    const { tokens } = await tenant(server())
    await server().request("GET", "/v1/conversations", { token: tokens.alice })
    await server().request("GET", "/v1/conversations/some-id", { token: tokens.alice })
    const reply = await server().request("GET", "/metrics")
    expect(reply.status).toBe(200)
    expect(reply.headers.get("content-type")).toMatch(/^text\/plain/)
    const text = reply.text
    expect(text).toContain("# TYPE http_requests_total counter")
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/v1\/conversations",status="200"\} [1-9]/)
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/v1\/conversations\/:conversationId",status="404"\} [1-9]/,
    )
    expect(text).toContain("# TYPE http_request_duration_seconds histogram")
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{method="GET",route="\/v1\/conversations",le="\+Inf"\} [1-9]/,
    )
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/v1\/conversations"\} [1-9]/,
    )
    expect(text).toMatch(/chat4all_outbox_depth \d+/)
    expect(text).toMatch(/process_resident_memory_bytes \d+/)
    for (const line of text.trim().split("\n"))
      expect(line).toMatch(
        /^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eInfNa]+)$/,
      )
  })

  it("serves the OpenAPI 3.1 document from the definitions, and docs that render it", async () => {
    const reply = await server().request("GET", "/openapi.json")
    expect(reply.status).toBe(200)
    const doc = reply.body
    expect(doc.openapi).toBe("3.1.0")
    expect(doc.info.title).toBe("Chat4All")
    for (const path of [
      "/v1/conversations",
      "/v1/conversations/{conversationId}",
      "/v1/conversations/{conversationId}/members",
      "/v1/conversations/{conversationId}/members/{userId}",
      "/v1/conversations/{conversationId}/messages",
      "/v1/conversations/{conversationId}/receipts",
      "/v1/messages/{messageId}",
      "/v1/messages/{messageId}/status",
      "/v1/messages/{messageId}/status/history",
      "/v1/messages/{messageId}/context",
      "/v1/sync",
      "/v1/presence",
      "/v1/presence/{userId}",
      "/health",
      "/health/live",
      "/health/ready",
      "/metrics",
    ])
      expect(Object.keys(doc.paths)).toContain(path)
    const send = doc.paths["/v1/conversations/{conversationId}/messages"].post
    expect(Object.keys(send.responses)).toEqual(
      expect.arrayContaining(["200", "201", "400", "401", "403", "404", "409", "429"]),
    )
    expect(Object.keys(send.responses["400"].content)).toEqual(["application/problem+json"])
    expect(send.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["idempotency-key", "X-Chat4All-User"]),
    )
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" })
    expect(doc.components.securitySchemes.bearer.description).toContain("X-Chat4All-User")
    expect(JSON.stringify(doc)).not.toContain("HttpApiDecodeError")
    const docs = await server().request("GET", "/docs")
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toMatch(/text\/html/)
    expect(docs.text).toContain("SwaggerUIBundle")
  })

  it("answers unknown routes 404 and wrong methods 405 as problems, and echoes request ids", async () => {
    expectProblem(await server().request("GET", "/nope"), 404, "not_found")
    expectProblem(await server().request("GET", "/v1/conversations/a/b/c/d"), 404, "not_found")
    const wrong = await server().request("PATCH", "/v1/conversations")
    expectProblem(wrong, 405, "method_not_allowed")
    expect(wrong.headers.get("allow")).toBe("POST, GET")
    const tagged = await server().request("GET", "/health/live", { headers: { "x-request-id": "req-42" } })
    expect(tagged.headers.get("x-request-id")).toBe("req-42")
    const fresh = await server().request("GET", "/health/live", {
      headers: { "x-request-id": "bad id with spaces and/slashes" },
    })
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
  })
})
