import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Metric, MetricBoundaries, TestClock } from "effect"
import * as DecodeIssues from "../src/http/DecodeIssues.js"
import { loggedUrl } from "../src/http/LoggedUrl.js"
import * as MessageCursor from "../src/http/MessageCursor.js"
import * as Problem from "../src/http/Problem.js"
import * as RateLimiter from "../src/http/RateLimiter.js"
import * as Prometheus from "../src/observability/Prometheus.js"

describe("the access log's URL", () => {
  it("never shows a token sent in the query, however its name is written", () => {
    assert.strictEqual(
      loggedUrl("/v1/files/f1/content?access_token=eyJ.secret.sig&download=1"),
      "/v1/files/f1/content?access_token=REDACTED&download=1",
    )
    for (const url of [
      "/v1/ws?cursor=12&access_token=eyJ.secret.sig",
      "/v1/ws?access%5Ftoken=eyJ.secret.sig",
      "/v1/ws?access_token=one&access_token=eyJ.secret.sig",
    ]) {
      const logged = loggedUrl(url)
      assert.notInclude(logged, "secret")
      assert.include(new URLSearchParams(logged.split("?")[1]).getAll("access_token"), "REDACTED")
    }
    assert.strictEqual(loggedUrl("/v1/conversations?limit=5"), "/v1/conversations?limit=5")
    assert.strictEqual(loggedUrl("/health"), "/health")
  })
})

describe("decode issues", () => {
  it("names nested fields and the body", () => {
    assert.strictEqual(DecodeIssues.fieldOf([]), "body")
    assert.strictEqual(DecodeIssues.fieldOf(["members", 0]), "members[0]")
    assert.strictEqual(DecodeIssues.fieldOf(["content", "text"]), "content.text")
  })

  it("lists the alternatives of a union and drops brands and TypeScript types", () => {
    const merged = DecodeIssues.describe(
      [
        { path: ["type"], message: 'Expected "direct", actual "chan"' },
        { path: ["type"], message: 'Expected "group", actual "chan"' },
      ],
      "",
    )
    assert.deepStrictEqual(merged, { field: "type", message: 'Expected "direct" or "group", actual "chan"' })
    const array = DecodeIssues.describe(
      [
        {
          path: ["members"],
          message:
            'Expected ReadonlyArray<a string matching the pattern ^[A-Za-z0-9._:-]{1,128}$ & Brand<"UserId">>, actual "bob"',
        },
      ],
      "",
    )
    assert.strictEqual(
      array.message,
      'Expected an array of an id (1-128 characters of A-Z a-z 0-9 . _ : -), actual "bob"',
    )
    const record = DecodeIssues.describe(
      [{ path: ["metadata"], message: "Expected { readonly [x: string]: unknown }, actual []" }],
      "",
    )
    assert.strictEqual(record.message, "Expected a JSON object, actual []")
    const body = DecodeIssues.describe([{ path: [], message: "Expected SendMessage, actual null" }], "")
    assert.deepStrictEqual(body, { field: "body", message: "Expected a JSON object, actual null" })
  })
})

describe("message cursors", () => {
  it.effect("round-trip and page both ways", () =>
    Effect.gen(function* () {
      const items = [{ seq: 5 }, { seq: 6 }, { seq: 7 }]
      const older = MessageCursor.next({}, items, 3)
      assert.isDefined(older)
      assert.deepStrictEqual(yield* MessageCursor.decode(older!), { before: 5 })
      const newer = MessageCursor.next({ after: 4, before: 20 }, items, 3)
      assert.deepStrictEqual(yield* MessageCursor.decode(newer!), { after: 7, before: 20 })
      assert.isUndefined(MessageCursor.next({}, items, 4))
      assert.isUndefined(MessageCursor.next({}, [{ seq: 1 }], 1))
      const bad = yield* Effect.either(MessageCursor.decode("e30"))
      assert.isTrue(Either.isRight(bad))
      const worse = yield* Effect.either(MessageCursor.decode("!!"))
      assert.isTrue(Either.isLeft(worse))
      if (Either.isLeft(worse)) assert.strictEqual(worse.left.field, "cursor")
    }),
  )
})

describe("send rate limiter", () => {
  it.scoped("allows a burst, refuses with the wait, refills with time, keeps keys apart", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ perSecond: 2, burst: 3 })
      for (let i = 0; i < 3; i++) yield* limiter.take("a")
      const refused = yield* Effect.flip(limiter.take("a"))
      assert.strictEqual(refused._tag, "RateLimited")
      assert.strictEqual(refused.retryAfterMs, 500)
      yield* limiter.take("b")
      yield* TestClock.adjust("500 millis")
      yield* limiter.take("a")
      assert.strictEqual((yield* Effect.flip(limiter.take("a")))._tag, "RateLimited")
    }),
  )
})

describe("problems", () => {
  it("carry Retry-After on 429 and a Bearer challenge on 401", () => {
    const limited = Problem.toResponse(Problem.make(429, "rate_limited", "slow down", { retryAfter: 3 }))
    assert.strictEqual(limited.status, 429)
    assert.strictEqual(limited.headers["retry-after"], "3")
    assert.strictEqual(limited.headers["content-type"], "application/problem+json")
    const unauthorized = Problem.toResponse(Problem.unauthorized("no token"))
    assert.match(unauthorized.headers["www-authenticate"] ?? "", /^Bearer /)
  })
})

describe("Prometheus text", () => {
  it.effect("renders counters, gauges and histograms with escaped labels", () =>
    Effect.gen(function* () {
      const counter = Metric.counter("test_requests_total", {
        description: "Requests",
        incremental: true,
      }).pipe(Metric.tagged("route", '/a"b\\c'))
      const gauge = Metric.gauge("test_depth")
      const histogram = Metric.histogram("test_seconds", MetricBoundaries.fromIterable([0.1, 1]), "Latency")
      yield* Metric.incrementBy(counter, 2)
      yield* Metric.set(gauge, 7)
      yield* Metric.update(histogram, 0.05)
      yield* Metric.update(histogram, 0.5)
      yield* Metric.update(histogram, 5)
      const text = yield* Prometheus.scrape
      assert.include(text, "# HELP test_requests_total Requests\n# TYPE test_requests_total counter\n")
      assert.include(text, 'test_requests_total{route="/a\\"b\\\\c"} 2\n')
      assert.include(text, "# TYPE test_depth gauge\ntest_depth 7\n")
      assert.include(text, "# TYPE test_seconds histogram\n")
      assert.include(text, 'test_seconds_bucket{le="0.1"} 1\n')
      assert.include(text, 'test_seconds_bucket{le="1"} 2\n')
      assert.include(text, 'test_seconds_bucket{le="+Inf"} 3\n')
      assert.include(text, "test_seconds_sum 5.55\ntest_seconds_count 3\n")
    }),
  )
})
