import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"

/**
 * docs/connectors.md quotes the example connector. Every block marked `<!-- from: <path> -->` must
 * appear verbatim in that file, so the page cannot drift from code the kit runs on.
 */
const root = new URL("../../../", import.meta.url)
const doc = readFileSync(new URL("docs/connectors.md", root), "utf8")
const quoted = [...doc.matchAll(/<!-- from: (\S+) -->\n```ts\n([\s\S]*?)\n```/g)].map(
  ([, path, code]) => [path ?? "", code ?? ""] as const,
)

describe("docs/connectors.md", () => {
  it("quotes the example", () => {
    assert.isAtLeast(quoted.length, 5)
  })
  for (const [path, code] of quoted)
    it(`quotes ${path} verbatim: ${code.split("\n")[0]?.trim()}`, () => {
      const source = readFileSync(new URL(path, root), "utf8")
      assert.include(source, code, `the block is no longer in ${path}; update the doc`)
    })
})
