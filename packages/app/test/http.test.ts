/**
 * Every HTTP suite, in one file so that they share one embedded database per run (starting PGlite costs
 * seconds): each suite runs against memory, the embedded PostgreSQL and, with DATABASE_URL, a real one,
 * over a real server on loopback.
 */
import "./http/auth.js"
import "./http/conversations.js"
import "./http/messages.js"
import "./http/ops.js"
import "./http/presence.js"
import "./http/sync.js"
