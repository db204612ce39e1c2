import { Effect, Metric, MetricBoundaries } from "effect"

/** Latency buckets in seconds, from half a millisecond to half a minute (sync long-polls). */
const latencyBoundaries = MetricBoundaries.fromIterable([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
])

export const httpRequests = Metric.counter("http_requests_total", {
  description: "HTTP requests answered, by method, route and status",
  incremental: true,
})

export const httpDuration = Metric.histogram(
  "http_request_duration_seconds",
  latencyBoundaries,
  "HTTP request latency in seconds, by method and route",
)

export const httpInFlight = Metric.gauge("http_requests_in_flight", {
  description: "HTTP requests being handled now",
})

export const messagesSent = Metric.counter("chat4all_messages_sent_total", {
  description: "Messages accepted over HTTP (replays not counted)",
  incremental: true,
})

export const rateLimited = Metric.counter("chat4all_rate_limited_total", {
  description: "Requests refused by a rate limit",
  incremental: true,
})

export const syncWaiting = Metric.gauge("chat4all_sync_long_polls", {
  description: "Sync requests waiting for new events now",
})

const requestCounters = new Map<string, Metric.Metric.Counter<number>>()
const requestHistograms = new Map<string, Metric.Metric.Histogram<number>>()

/** Records one answered request (tagged metrics are cached per label set). */
export const recordRequest = (method: string, route: string, status: number, seconds: number) =>
  Effect.suspend(() => {
    const counterKey = `${method} ${route} ${status}`
    let counter = requestCounters.get(counterKey)
    if (counter === undefined) {
      counter = httpRequests.pipe(
        Metric.tagged("method", method),
        Metric.tagged("route", route),
        Metric.tagged("status", String(status)),
      )
      requestCounters.set(counterKey, counter)
    }
    const histogramKey = `${method} ${route}`
    let histogram = requestHistograms.get(histogramKey)
    if (histogram === undefined) {
      histogram = httpDuration.pipe(Metric.tagged("method", method), Metric.tagged("route", route))
      requestHistograms.set(histogramKey, histogram)
    }
    return Effect.zipRight(Metric.increment(counter), Metric.update(histogram, seconds))
  })
