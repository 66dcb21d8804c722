"""The store's read queries: static SQL with named parameters, never built from values.

Derived state is computed, never stored: a sound's current predictions are those of the model
that predicted it last; a correction is in effect unless an undo event names its batch; per tag,
the last correction in effect wins (add, remove or confirm).
"""

from __future__ import annotations

# One row per sound, with its predictions and tag states. Every filter is optional (NULL: off).
# Parameters: sound_id, reviewed, source, tag, since, threshold, sort, limit, offset.
LABEL_ROWS = """
WITH
current_model AS (
    SELECT sound_id, arg_max(model, predicted_at) AS model
    FROM predictions
    WHERE $sound_id IS NULL OR sound_id = $sound_id
    GROUP BY sound_id),
predicted AS (
    SELECT p.sound_id, any_value(p.model) AS model,
           list({'tag': p.tag, 'score': p.score} ORDER BY p.rank) AS predicted,
           list(p.tag) AS predicted_tags,
           min(abs(p.score - $threshold)) AS uncertainty
    FROM predictions p JOIN current_model c ON p.sound_id = c.sound_id AND p.model = c.model
    GROUP BY p.sound_id),
undone AS (
    SELECT DISTINCT undoes AS batch FROM corrections
    WHERE action = 'undo' AND ($sound_id IS NULL OR sound_id = $sound_id)),
tag_state AS (
    SELECT sound_id, tag, arg_max(action, id) AS action, max(id) AS last_id,
           bool_or(NOT coalesce(in_vocabulary, FALSE)) AS oov
    FROM corrections
    WHERE action IN ('add', 'remove', 'confirm') AND batch NOT IN (SELECT batch FROM undone)
      AND ($sound_id IS NULL OR sound_id = $sound_id)
    GROUP BY sound_id, tag),
states AS (
    SELECT sound_id,
           coalesce(list(tag ORDER BY last_id) FILTER (WHERE action = 'add'), []) AS added,
           coalesce(list(tag ORDER BY last_id) FILTER (WHERE action = 'remove'), []) AS removed,
           coalesce(list(tag ORDER BY last_id) FILTER (WHERE action = 'confirm'), []) AS confirmed,
           coalesce(list(tag) FILTER (WHERE oov), []) AS oov_tags
    FROM tag_state GROUP BY sound_id),
touched AS (
    SELECT sound_id, max(created_at) AS last_at FROM corrections
    WHERE $sound_id IS NULL OR sound_id = $sound_id
    GROUP BY sound_id)
SELECT s.id, s.source, s.name, s.freesound_id, s.username, s.duration_s, s.audio_path,
       s.added_at, pr.model, coalesce(pr.predicted, []) AS predicted,
       coalesce(st.added, []) AS added, coalesce(st.removed, []) AS removed,
       coalesce(st.confirmed, []) AS confirmed, st.sound_id IS NOT NULL AS reviewed,
       coalesce(st.oov_tags, []) AS oov_tags, pr.uncertainty
FROM sounds s
LEFT JOIN predicted pr ON pr.sound_id = s.id
LEFT JOIN states st ON st.sound_id = s.id
LEFT JOIN touched t ON t.sound_id = s.id
WHERE ($sound_id IS NULL OR s.id = $sound_id)
  AND ($reviewed IS NULL OR (st.sound_id IS NOT NULL) = $reviewed)
  AND ($source IS NULL OR s.source = $source)
  AND ($tag IS NULL OR list_contains(pr.predicted_tags, $tag)
       OR list_contains(st.added, $tag) OR list_contains(st.confirmed, $tag))
  AND ($since IS NULL OR s.added_at >= $since OR t.last_at >= $since)
ORDER BY CASE WHEN $sort = 'uncertain' THEN pr.uncertainty END ASC NULLS LAST,
         CASE WHEN $sort = 'oldest' THEN s.id END ASC,
         s.added_at DESC, s.id DESC
LIMIT $limit OFFSET $offset
"""

COUNT_ROWS = f"SELECT count(*) FROM ({LABEL_ROWS})"  # noqa: S608 (constant SQL, no values)

SOUND_COLUMNS = ("id", "source", "name", "audio_path", "content_hash", "duration_s",
                 "freesound_id", "username", "license", "url", "description", "created_at",
                 "original_tags", "patch_start", "analysed_s", "added_at")
SELECT_SOUND = f"SELECT {', '.join(SOUND_COLUMNS)} FROM sounds WHERE id = $id"  # noqa: S608
SOUND_BY_PATH_OR_HASH = (
    "SELECT id FROM sounds WHERE audio_path = $path OR content_hash = $hash "
    "ORDER BY (audio_path = $path) DESC, id LIMIT 1")

HISTORY = """
SELECT c.id, c.batch, c.sound_id, c.user_name, c.created_at, c.action, c.tag,
       coalesce(c.original, c.tag), coalesce(c.in_vocabulary, FALSE),
       c.batch IN (SELECT undoes FROM corrections
                   WHERE action = 'undo' AND sound_id = $sound_id AND undoes IS NOT NULL),
       c.undoes
FROM corrections c WHERE c.sound_id = $sound_id ORDER BY c.id
"""

LAST_UNDOABLE_BATCH = """
SELECT batch FROM corrections
WHERE sound_id = $sound_id AND user_name = $user AND action IN ('add', 'remove', 'confirm')
  AND batch NOT IN (SELECT undoes FROM corrections
                    WHERE action = 'undo' AND sound_id = $sound_id AND undoes IS NOT NULL)
ORDER BY batch DESC LIMIT 1
"""

STATS = """
SELECT (SELECT count(*) FROM sounds),
       (SELECT count(DISTINCT sound_id) FROM corrections
        WHERE action <> 'undo' AND batch NOT IN (
            SELECT undoes FROM corrections WHERE action = 'undo' AND undoes IS NOT NULL)),
       (SELECT count(*) FROM corrections WHERE action <> 'undo'),
       (SELECT count(*) FROM corrections WHERE action = 'undo'),
       (SELECT count(*) FROM predictions)
"""
SOUNDS_BY_SOURCE = "SELECT source, count(*) FROM sounds GROUP BY source ORDER BY source"
