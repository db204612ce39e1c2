// Bundles the app into one file, dist/chat4all.mjs, that runs with plain node (`node dist/chat4all.mjs serve`).
// `node build.mjs <entry.ts> <outfile.mjs>` bundles another entry the same way (the HTTP bench's server).
// PGlite loads its WebAssembly and data files from beside the module that imports it; they are copied next
// to the bundle, which is then the whole program (nothing else from node_modules is needed).
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"

const app = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const [entry = Path.join(app, "src/cli.ts"), target = Path.join(app, "dist/chat4all.mjs")] =
  process.argv.slice(2)
const outfile = Path.resolve(target)
const dist = Path.dirname(outfile)
const pglite = Path.dirname(fileURLToPath(import.meta.resolve("@electric-sql/pglite")))

Fs.rmSync(dist, { recursive: true, force: true })
Fs.mkdirSync(dist, { recursive: true })
const result = await esbuild.build({
  entryPoints: [Path.resolve(entry)],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minifySyntax: true,
  sourcemap: "linked",
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
  // Some CommonJS dependencies (pg) require node built-ins at run time; ESM output needs a require for them.
  banner: {
    js: 'import { createRequire as __chat4allCreateRequire } from "node:module"; const require = __chat4allCreateRequire(import.meta.url);',
  },
  // Optional native accelerators of dependencies that fall back to JavaScript when missing.
  external: ["pg-native"],
})
for (const file of ["pglite.wasm", "pglite.data", "initdb.wasm"])
  Fs.copyFileSync(Path.join(pglite, file), Path.join(dist, file))
Fs.chmodSync(outfile, 0o755)

const size = (file) => `${(Fs.statSync(file).size / 1024 / 1024).toFixed(1)} MiB`
const inputs = Object.keys(result.metafile.inputs).length
console.log(
  `built ${Path.relative(process.cwd(), outfile)} (${size(outfile)}, ${inputs} modules) with PGlite's assets beside it`,
)
