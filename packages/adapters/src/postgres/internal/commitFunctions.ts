import { conversationColumns, deliveryColumns, memberColumns, messageColumns } from "./rows.js"

/**
 * Server-side functions for the statements every commit runs. The commit goes over the simple query
 * protocol (several statements in one round trip, see `transaction`), which cannot prepare: written as
 * plain SQL, the slice and the writes were parsed and planned on every commit, and planning cost the
 * server more than executing (0.7 ms for the slice alone). PL/pgSQL keeps the plans of the statements
 * inside a function for the life of the connection, so a commit now plans only the function calls. The
 * plans are generic: with arrays for parameters, the planner would otherwise keep choosing custom plans,
 * planning again on every call (245 µs per slice instead of 88).
 *
 * The functions are VOLATILE: each statement inside takes a fresh snapshot, so the slice read after the
 * conversation's row lock sees whatever the transaction it waited for committed.
 */
export const migration = `
CREATE FUNCTION c4a_commit_slice(
  p_tenant text, p_conversation text,
  p_senders text[], p_client_ids text[],
  p_message_ids text[],
  p_d_messages text[], p_d_users text[], p_d_channels text[]
) RETURNS TABLE (slice_kind text, slice_row json)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
BEGIN
  -- The lock orders every writer of this conversation, on this node and any other.
  RETURN QUERY
    SELECT 'conversation', row_to_json(c) FROM (
      SELECT ${conversationColumns} FROM conversations
      WHERE tenant_id = p_tenant AND id = p_conversation
      FOR UPDATE) c;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY
    SELECT 'member', row_to_json(x) FROM (
      SELECT ${memberColumns} FROM members
      WHERE tenant_id = p_tenant AND conversation_id = p_conversation) x;
  IF cardinality(p_senders) > 0 THEN
    -- One probe of the unique index per key: LIMIT keeps the planner from turning the lookup into a
    -- join over every message of the conversation.
    RETURN QUERY
      WITH keyed AS (
        SELECT m.* FROM (SELECT DISTINCT * FROM unnest(p_senders, p_client_ids)) AS k(sender_id, client_message_id)
        CROSS JOIN LATERAL (
          SELECT ${messageColumns} FROM messages
          WHERE tenant_id = p_tenant AND conversation_id = p_conversation
            AND sender_id = k.sender_id AND client_message_id = k.client_message_id
          LIMIT 1) m)
      SELECT 'keyed', row_to_json(keyed) FROM keyed
      UNION ALL
      -- A replay answers the original with its status as of now.
      SELECT 'delivery', row_to_json(d) FROM (
        SELECT ${deliveryColumns} FROM message_deliveries
        WHERE tenant_id = p_tenant AND message_id IN (SELECT id FROM keyed)) d;
  END IF;
  IF cardinality(p_message_ids) > 0 THEN
    RETURN QUERY
      SELECT 'byId', row_to_json(x) FROM (
        SELECT ${messageColumns} FROM messages WHERE tenant_id = p_tenant AND id = ANY(p_message_ids)) x;
  END IF;
  IF cardinality(p_d_messages) > 0 THEN
    RETURN QUERY
      SELECT 'delivery', row_to_json(d) FROM (
        SELECT ${deliveryColumns} FROM message_deliveries
        WHERE tenant_id = p_tenant AND (message_id, user_id, channel) IN (
          SELECT * FROM unnest(p_d_messages, p_d_users, p_d_channels))) d;
  END IF;
END
$fn$;

-- The new messages of a batch as one JSON array of rows: one string to parse, for the server and for the
-- process that writes it, where an array per column needed every element quoted on its own.
CREATE FUNCTION c4a_insert_messages(p_tenant text, p_conversation text, p_rows jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
  INSERT INTO messages (${messageColumns})
  SELECT p_tenant, p_conversation, m.seq, m.id, m.sender_id, m.client_message_id, m.content, m.reply_to,
         m.channels, m.metadata, m.created_at
  FROM jsonb_to_recordset(p_rows) AS m(seq int, id text, sender_id text, client_message_id text, content jsonb,
                                       reply_to text, channels jsonb, metadata jsonb, created_at bigint);
END
$fn$;

CREATE FUNCTION c4a_update_conversation(
  p_tenant text, p_conversation text, p_last_seq int, p_updated_at bigint, p_title text, p_metadata jsonb
) RETURNS void
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
  UPDATE conversations SET last_seq = p_last_seq, updated_at = p_updated_at, title = p_title, metadata = p_metadata
  WHERE tenant_id = p_tenant AND id = p_conversation;
END
$fn$;

-- Appends events to the tenant's log and the outbox, in the order given. It takes the tenant's head row,
-- so it goes last in its transaction, sent with the COMMIT: positions go out in commit order, and a reader
-- that sees position n has every position below n committed too.
CREATE FUNCTION c4a_append_events(p_tenant text, p_events jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
  v_count int := jsonb_array_length(p_events);
  v_head bigint;
BEGIN
  IF v_count = 0 THEN
    RETURN;
  END IF;
  INSERT INTO event_heads AS h (tenant_id, position) VALUES (p_tenant, v_count)
  ON CONFLICT (tenant_id) DO UPDATE SET position = h.position + EXCLUDED.position
  RETURNING h.position INTO v_head;
  WITH appended AS (
    INSERT INTO events (tenant_id, position, id, conversation_id, type, at, subject_id, message_id, data)
    SELECT p_tenant, v_head - v_count + e.ord, e.id, e.conversation_id, e.type, e.at, e.subject_id,
           e.message_id, e.data
    FROM jsonb_to_recordset(p_events) AS e(ord int, id text, conversation_id text, type text, at bigint,
                                           subject_id text, message_id text, data jsonb)
    RETURNING position, at
  )
  INSERT INTO outbox (tenant_id, position, at) SELECT p_tenant, position, at FROM appended ORDER BY position;
END
$fn$;
`
