// Runs a bench the way operators run the engine: bundled by esbuild into one file (as `npm run build` bundles
// the binary) and started with plain node, not through tsx, whose loader costs the process about a third
// more CPU per message on the hot paths. Node flags go before the entry, bench knobs stay in the environment:
//
//   node scripts/bench-bundled.mjs [node flags...] <entry.ts>
//
// The bundle lands in node_modules/.cache/chat4all-bench/ with PGlite's assets beside it.
import { spawnSync } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const args = process.argv.slice(2)
const entry = args.at(-1)
if (entry === undefined || !entry.endsWith(".ts")) {
  console.error("usage: node scripts/bench-bundled.mjs [node flags...] <entry.ts>")
  process.exit(2)
}
const name = Path.basename(entry, ".ts")
const outfile = Path.join(root, "node_modules/.cache/chat4all-bench", name, `${name}.mjs`)
const build = spawnSync(
  process.execPath,
  [Path.join(root, "packages/app/scripts/build.mjs"), entry, outfile],
  {
    stdio: ["ignore", "ignore", "inherit"],
  },
)
if (build.status !== 0) process.exit(build.status ?? 1)
const run = spawnSync(process.execPath, [...args.slice(0, -1), outfile], { stdio: "inherit" })
process.exit(run.status ?? 1)
