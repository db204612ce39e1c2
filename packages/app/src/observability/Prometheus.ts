import { Effect, Metric, type MetricKey, type MetricPair, MetricState, Option } from "effect"

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
const sanitizeName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_")

const labels = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${sanitizeName(k)}="${escapeLabel(v)}"`).join(",")}}`

const number = (n: number | bigint): string =>
  typeof n === "bigint"
    ? n.toString()
    : Number.isNaN(n)
      ? "NaN"
      : n === Number.POSITIVE_INFINITY
        ? "+Inf"
        : n === Number.NEGATIVE_INFINITY
          ? "-Inf"
          : String(n)

const typeOf = (state: MetricState.MetricState.Untyped): string =>
  MetricState.isCounterState(state)
    ? "counter"
    : MetricState.isGaugeState(state)
      ? "gauge"
      : MetricState.isHistogramState(state)
        ? "histogram"
        : MetricState.isSummaryState(state)
          ? "summary"
          : "gauge"

const samples = (
  name: string,
  tags: ReadonlyArray<readonly [string, string]>,
  state: MetricState.MetricState.Untyped,
): Array<string> => {
  if (MetricState.isCounterState(state) || MetricState.isGaugeState(state))
    return [`${name}${labels(tags)} ${number(MetricState.isCounterState(state) ? state.count : state.value)}`]
  if (MetricState.isHistogramState(state)) {
    const lines: Array<string> = []
    let sawInf = false
    for (const [boundary, cumulative] of state.buckets) {
      if (boundary === Number.POSITIVE_INFINITY) sawInf = true
      lines.push(`${name}_bucket${labels([...tags, ["le", number(boundary)]])} ${cumulative}`)
    }
    if (!sawInf) lines.push(`${name}_bucket${labels([...tags, ["le", "+Inf"]])} ${state.count}`)
    lines.push(
      `${name}_sum${labels(tags)} ${number(state.sum)}`,
      `${name}_count${labels(tags)} ${state.count}`,
    )
    return lines
  }
  if (MetricState.isSummaryState(state)) {
    const lines: Array<string> = []
    for (const [quantile, value] of state.quantiles)
      lines.push(
        `${name}${labels([...tags, ["quantile", String(quantile)]])} ${Option.match(value, {
          onNone: () => "NaN",
          onSome: number,
        })}`,
      )
    lines.push(
      `${name}_sum${labels(tags)} ${number(state.sum)}`,
      `${name}_count${labels(tags)} ${state.count}`,
    )
    return lines
  }
  if (MetricState.isFrequencyState(state))
    return [...state.occurrences].map(([key, count]) => `${name}${labels([...tags, ["key", key]])} ${count}`)
  return []
}

/** Renders metric pairs in the Prometheus text exposition format (0.0.4), one family per name. */
export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, { type: string; help: string | undefined; lines: Array<string> }>()
  for (const pair of pairs) {
    const key = pair.metricKey as MetricKey.MetricKey.Untyped
    const name = sanitizeName(key.name)
    const tags = key.tags.map((t) => [t.key, t.value] as const)
    let family = families.get(name)
    if (family === undefined) {
      family = { type: typeOf(pair.metricState), help: Option.getOrUndefined(key.description), lines: [] }
      families.set(name, family)
    }
    family.lines.push(...samples(name, tags, pair.metricState))
  }
  const out: Array<string> = []
  for (const [name, family] of [...families].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (family.help !== undefined) out.push(`# HELP ${name} ${escapeHelp(family.help)}`)
    out.push(`# TYPE ${name} ${family.type}`, ...family.lines)
  }
  return `${out.join("\n")}\n`
}

/** Every metric of the process, as Prometheus text. */
export const scrape: Effect.Effect<string> = Effect.map(Metric.snapshot, render)
