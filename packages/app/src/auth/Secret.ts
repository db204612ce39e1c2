import { randomBytes } from "node:crypto"
import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"

/** The file under DATA_DIR that holds the generated HS256 secret. */
export const fileName = "jwt-secret"

/**
 * The HS256 secret kept in `DATA_DIR/jwt-secret`: read when it exists, otherwise 32 random bytes are
 * generated into it once (mode 0600, created exclusively so two processes starting together agree).
 */
export const loadOrCreate = (dataDir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dataDir, fileName)
    yield* fs.makeDirectory(dataDir, { recursive: true, mode: 0o700 })
    if (!(yield* fs.exists(file))) {
      const secret = randomBytes(32).toString("base64url")
      yield* fs.writeFileString(file, `${secret}\n`, { flag: "wx", mode: 0o600 }).pipe(
        Effect.catchIf(
          (error) => error._tag === "SystemError" && error.reason === "AlreadyExists",
          () => Effect.void,
        ),
      )
      yield* Effect.logInfo(`generated a JWT secret into ${file} (mode 0600)`)
    }
    const info = yield* fs.stat(file)
    if ((info.mode & 0o077) !== 0)
      yield* Effect.logWarning(`${file} is readable by other users; chmod 600 it`)
    const secret = (yield* fs.readFileString(file)).trim()
    if (secret.length === 0)
      return yield* Effect.dieMessage(`${file} is empty; delete it to generate a new one`)
    return secret
  })
