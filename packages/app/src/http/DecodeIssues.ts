/** One issue of a decode error, as the ArrayFormatter gives it. */
export interface Issue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/** `["members", 0]` as `members[0]`; the empty path is the body itself. */
export const fieldOf = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0
    ? "body"
    : path.reduce<string>(
        (out, p) => (typeof p === "number" ? `${out}[${p}]` : out === "" ? String(p) : `${out}.${String(p)}`),
        "",
      )

/** Schema's wording made readable for API users: no brands, no TypeScript types. */
export const humanize = (message: string): string =>
  message
    .replace(/ & Brand<"[^"]*">/g, "")
    .replace(/\{ readonly \[x: string\]: unknown \}/g, "a JSON object")
    .replace(
      /a string matching the pattern \^\[A-Za-z0-9\._:-\]\{1,128\}\$/g,
      "an id (1-128 characters of A-Z a-z 0-9 . _ : -)",
    )
    .replace(/ReadonlyArray<(.*)>/g, "an array of $1")

/**
 * The field and the message of the first problem in a decode error. Alternatives that failed at the same
 * place (a union of literals, say) are listed together: `Expected "direct" or "group", actual "chan"`.
 */
export const describe = (
  issues: ReadonlyArray<Issue>,
  fallback: string,
): { readonly field: string; readonly message: string } => {
  const first = issues[0]
  if (first === undefined) return { field: "body", message: humanize(fallback) }
  const field = fieldOf(first.path)
  const same = issues.filter((issue) => fieldOf(issue.path) === field)
  const expectations = same.map((issue) => /^Expected (.*), actual (.*)$/s.exec(issue.message))
  if (same.length > 1 && expectations.every((m) => m !== null)) {
    const expected = [...new Set(expectations.map((m) => m![1]))].join(" or ")
    return { field, message: humanize(`Expected ${expected}, actual ${expectations[0]![2]}`) }
  }
  if (first.path.length === 0 && /^Expected [A-Z]\w*, actual/.test(first.message))
    return { field, message: first.message.replace(/^Expected [A-Z]\w*/, "Expected a JSON object") }
  return { field, message: humanize(first.message) }
}
