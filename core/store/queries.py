"""The store's read queries: constant SQL with named parameters, never built from values
(the f-strings below only nest these constants into each other at import time).

Derived state is computed, never stored: a sound's current predictions are those of the model
that predicted it last; a correction is in effect unless an undo event names its batch; per tag,
the last correction in effect wins (add, remove or confirm).
"""

from __future__ import annotations

# Shared CTEs: each sound's current predictions and its tag states (last action in effect).
# {scope} is a constant condition on `sound_id` that narrows the work (TRUE for all sounds),
# {scope_p} the same condition on the predictions alias `p`.
_STATE_CTES = """
current_model AS (
    SELECT sound_id, arg_max(model, predicted_at) AS model
    FROM predictions WHERE {scope} GROUP BY sound_id),
current AS (
    SELECT p.sound_id, p.model, p.tag, p.score, p.rank
    FROM predictions p JOIN current_model c ON p.sound_id = c.sound_id AND p.model = c.model
    WHERE {scope_p}),
undone AS (  -- an undo event takes back its tag's event in batch `undoes`
    SELECT DISTINCT undoes AS batch, tag FROM corrections WHERE action = 'undo' AND {scope}),
tag_state AS (  -- a 'reset' gives the tag back to the model: no person's state is left
    SELECT * FROM (
        SELECT sound_id, tag, arg_max(action, id) AS action, max(id) AS last_id
        FROM corrections c
        WHERE action IN ('add', 'remove', 'confirm', 'reset') AND {scope}
          AND NOT EXISTS (SELECT 1 FROM undone u WHERE u.batch = c.batch AND u.tag = c.tag)
        GROUP BY sound_id, tag)
    WHERE action <> 'reset'),
touched AS (
    SELECT sound_id, max(created_at) AS last_at FROM corrections WHERE {scope} GROUP BY sound_id)
"""


def _ctes(scope: str, scope_p: str) -> str:
    return _STATE_CTES.replace("{scope_p}", scope_p).replace("{scope}", scope)


_ALL = ("TRUE", "TRUE")  # (scope, scope_p): every sound
# Parameter ids: a list of sound ids, or NULL for all; the same condition under each alias.
_IDS_SCOPE = "($ids IS NULL OR sound_id IN (SELECT unnest($ids)))"
_IDS = (_IDS_SCOPE, "($ids IS NULL OR p.sound_id IN (SELECT unnest($ids)))")
_IDS_S = "($ids IS NULL OR s.id IN (SELECT unnest($ids)))"


# Which sounds, in which order, which page: ids only (cheap), so paging happens in SQL.
# Parameters: reviewed, source, tag, since, search (lower case), threshold, sort, limit, offset
# (NULL: no filter).
SELECT_IDS = "WITH " + _ctes(*_ALL) + """,
uncertainty AS (
    SELECT sound_id, min(abs(score - $threshold)) AS uncertainty FROM current GROUP BY sound_id),
reviewed AS (SELECT DISTINCT sound_id FROM tag_state),
tagged AS (  -- the tag is among the sound's final tags at the threshold
    (SELECT sound_id FROM current WHERE tag = $tag AND score >= $threshold
     UNION SELECT sound_id FROM tag_state WHERE tag = $tag AND action IN ('add', 'confirm'))
    EXCEPT SELECT sound_id FROM tag_state WHERE tag = $tag AND action = 'remove')
SELECT s.id FROM sounds s
LEFT JOIN uncertainty u ON u.sound_id = s.id
LEFT JOIN reviewed r ON r.sound_id = s.id
LEFT JOIN touched t ON t.sound_id = s.id
WHERE ($reviewed IS NULL OR (r.sound_id IS NOT NULL) = $reviewed)
  AND ($source IS NULL OR s.source = $source)
  AND ($tag IS NULL OR s.id IN (SELECT sound_id FROM tagged))
  AND ($since IS NULL OR s.added_at >= $since OR t.last_at >= $since)
  AND ($search IS NULL OR contains(lower(s.name), $search)
       OR contains(lower(coalesce(s.username, '')), $search)
       OR contains(lower(coalesce(s.description, '')), $search))
ORDER BY CASE WHEN $sort = 'uncertain' THEN u.uncertainty END ASC NULLS LAST,
         CASE WHEN $sort = 'oldest' THEN s.id END ASC,
         s.added_at DESC, s.id DESC
LIMIT $limit OFFSET $offset
"""
COUNT_IDS = f"SELECT count(*) FROM ({SELECT_IDS})"

# One row per sound with its predictions, tag states and final labels.
_DETAILS = """,
model_out AS (
    SELECT sound_id, any_value(model) AS model,
           list({'tag': tag, 'score': score} ORDER BY rank) AS pred_list,
           min(abs(score - $threshold)) AS uncertainty
    FROM current GROUP BY sound_id),
states AS (
    SELECT sound_id,
           list(tag ORDER BY last_id) FILTER (WHERE action = 'add') AS add_list,
           list(tag ORDER BY last_id) FILTER (WHERE action = 'remove') AS remove_list,
           list(tag ORDER BY last_id) FILTER (WHERE action = 'confirm') AS confirm_list
    FROM tag_state GROUP BY sound_id)
SELECT s.id, s.source, s.name, s.freesound_id, s.username, s.duration_s, s.audio_path,
       s.added_at, mo.model,
       coalesce(mo.pred_list, []) AS predicted,
       coalesce(st.add_list, []) AS added,
       coalesce(st.remove_list, []) AS removed,
       coalesce(st.confirm_list, []) AS confirmed,
       st.sound_id IS NOT NULL AS reviewed,
       mo.uncertainty,
       -- final: predictions at or above the threshold (or confirmed), by score, minus removed;
       -- then confirmed and added tags not already there, in the order they were given
       [p.tag FOR p IN predicted
        IF (p.score >= $threshold OR list_contains(confirmed, p.tag))
           AND NOT list_contains(removed, p.tag)] AS kept,
       list_concat(kept, [t FOR t IN list_concat(confirmed, added)
                          IF NOT list_contains(kept, t)]) AS final
FROM sounds s
LEFT JOIN model_out mo ON mo.sound_id = s.id
LEFT JOIN states st ON st.sound_id = s.id
WHERE {rows}
ORDER BY s.id
"""
# Parameters: ids (a list of sound ids, or NULL for all), threshold.
LABEL_ROWS = "WITH " + _ctes(*_IDS) + _DETAILS.replace("{rows}", _IDS_S)
# Column positions in a LABEL_ROWS row.
(COL_ID, COL_SOURCE, COL_NAME, COL_FREESOUND_ID, COL_USERNAME, COL_DURATION, COL_AUDIO_PATH,
 COL_ADDED_AT, COL_MODEL, COL_PREDICTED, COL_ADDED, COL_REMOVED, COL_CONFIRMED, COL_REVIEWED,
 COL_UNCERTAINTY, COL_KEPT, COL_FINAL) = range(17)

# The same rows for the sounds SELECT_IDS picks (parameters: both queries').
SELECTED_ROWS = ("WITH " + _ctes(*_ALL)
                 + _DETAILS.replace("{rows}", f"s.id IN (SELECT id FROM ({SELECT_IDS}))"))

# Which of these sounds ($ids) a person has reviewed (a correction of theirs is in effect).
REVIEWED_AMONG = "WITH " + _ctes(*_IDS) + """
SELECT DISTINCT sound_id FROM tag_state
"""

# The export columns (the jsonl field names), in order.
EXPORT_ROWS = f"""
SELECT id AS sound_id, source,
       CASE WHEN source = 'freesound' THEN freesound_id END AS freesound_id,
       name, model, predicted, added, removed, confirmed, final, reviewed
FROM ({SELECTED_ROWS}) ORDER BY id
"""
EXPORT_JSONL = f"SELECT to_json(e)::VARCHAR, len(e.final) FROM ({EXPORT_ROWS}) e"
EXPORT_CSV = f"""
SELECT sound_id, source, freesound_id, name, model, to_json(predicted)::VARCHAR,
       to_json(added)::VARCHAR, to_json(removed)::VARCHAR, to_json(confirmed)::VARCHAR,
       to_json(final)::VARCHAR, CASE WHEN reviewed THEN 'true' ELSE 'false' END,
       len(final)
FROM ({EXPORT_ROWS}) ORDER BY sound_id
"""
EXPORT_COUNTS = f"SELECT count(*), coalesce(sum(len(final)), 0) FROM ({SELECTED_ROWS})"

SOUND_COLUMNS = ("id", "source", "name", "audio_path", "content_hash", "duration_s",
                 "freesound_id", "username", "license", "url", "description", "created_at",
                 "original_tags", "patch_start", "analysed_s", "added_at", "audio_kind",
                 "upload_state", "uploaded_at")
SELECT_SOUND = f"SELECT {', '.join(SOUND_COLUMNS)} FROM sounds WHERE id = $id"
SELECT_SOUNDS = f"SELECT {', '.join(SOUND_COLUMNS)} FROM sounds WHERE id IN (SELECT unnest($ids))"
COUNT_ALL = "SELECT count(*) FROM sounds"
HAS_FREESOUND_ID = "SELECT count(*) > 0 FROM sounds WHERE freesound_id = $f"
# An upload to Freesound: its new id (so the feed skips it), the account, the state.
MARK_UPLOADED = """
UPDATE sounds SET freesound_id = coalesce($f, freesound_id), username = coalesce($user, username),
                  upload_state = $state, uploaded_at = coalesce(uploaded_at, $at)
WHERE id = $id
"""
SOUND_BY_PATH_OR_HASH = (
    "SELECT id FROM sounds WHERE audio_path = $path OR content_hash = $hash "
    "ORDER BY (audio_path = $path) DESC, id LIMIT 1")

# Columns of a HISTORY row, named as core.store.models.Correction names them.
HISTORY_COLUMNS = ("id", "batch", "sound_id", "user", "at", "action", "tag", "original",
                   "in_vocabulary", "undone", "undoes")
HISTORY = """
SELECT c.id, c.batch, c.sound_id, c.user_name, c.created_at, c.action, c.tag,
       coalesce(c.original, c.tag), coalesce(c.in_vocabulary, FALSE),
       EXISTS (SELECT 1 FROM corrections u WHERE u.action = 'undo' AND u.sound_id = $sound_id
               AND u.undoes = c.batch AND u.tag = c.tag),
       c.undoes
FROM corrections c WHERE c.sound_id = $sound_id ORDER BY c.id
"""

_IN_EFFECT = """NOT EXISTS (SELECT 1 FROM corrections u WHERE u.action = 'undo'
                 AND u.sound_id = c.sound_id AND u.undoes = c.batch AND u.tag = c.tag)"""

LAST_UNDOABLE_BATCH = f"""
SELECT batch FROM corrections c
WHERE sound_id = $sound_id AND user_name = $user
  AND action IN ('add', 'remove', 'confirm', 'reset') AND {_IN_EFFECT}
ORDER BY batch DESC LIMIT 1
"""

# A tag's person-made events still in effect, newest first (action, user): take_back reads
# the state the tag had before its current one.
TAG_EVENTS = f"""
SELECT action, user_name FROM corrections c
WHERE sound_id = $sound_id AND tag = $tag
  AND action IN ('add', 'remove', 'confirm', 'reset') AND {_IN_EFFECT}
ORDER BY id DESC
"""

STATS = "WITH " + _ctes(*_ALL) + """
SELECT (SELECT count(*) FROM sounds),
       (SELECT count(DISTINCT sound_id) FROM tag_state),
       (SELECT count(*) FROM corrections WHERE action <> 'undo'),
       (SELECT count(*) FROM corrections WHERE action = 'undo'),
       (SELECT count(*) FROM predictions)
"""
# Tags people gave that the vocabulary lacks (for the feed's tag filter, beside the 1000).
PERSON_TAGS = """
SELECT DISTINCT tag FROM corrections
WHERE action IN ('add', 'confirm') AND NOT coalesce(in_vocabulary, FALSE) ORDER BY tag
"""
SOUNDS_BY_SOURCE = "SELECT source, count(*) FROM sounds GROUP BY source ORDER BY source"
