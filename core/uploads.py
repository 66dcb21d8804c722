"""A stored sound and the signed-in Freesound account: upload it with its curated tags, follow
its state, push tag corrections of one's own sounds. Used by `python -m core freesound` and the
app; nothing here is sent without the caller's explicit request.
"""

from __future__ import annotations

from pathlib import Path

from core.account import (
    AccountClient,
    NotYourSoundError,
    TagDiff,
    UploadForm,
    UploadRefusedError,
    freesound_tags,
    tag_diff,
)
from core.settings import THRESHOLD
from core.store import Sound, TagStore

RETRYABLE_STATES = ("gone", "processing_failed")  # an upload that failed may be sent again


def suggested_tags(store: TagStore, sound_id: int, threshold: float = THRESHOLD) -> tuple[str, ...]:
    """The sound's final tags (predictions above the threshold and a person's corrections), in
    Freesound's spelling: what the upload form starts from."""
    return freesound_tags(store.labels(sound_id, threshold=threshold).final)


def uploadable(sound: Sound) -> str | None:
    """Why this sound cannot be uploaded, or None."""
    if sound.source == "freesound":
        return "it came from Freesound: it is already there"
    if sound.freesound_id and not sound.upload_state:
        return f"it is on Freesound already (sound {sound.freesound_id})"
    if sound.upload_state and sound.upload_state not in RETRYABLE_STATES:
        where = f" as sound {sound.freesound_id}" if sound.freesound_id else ""
        return f"it was uploaded already{where} ({sound.upload_state})"
    if not sound.audio_path or not Path(sound.audio_path).is_file():
        return "its audio file is not in the library any more"
    return None


def upload_sound(client: AccountClient, store: TagStore, sound_id: int,
                 form: UploadForm) -> Sound:
    """Send the original file with its description; record the new id and state on the sound."""
    sound = store.get_sound(sound_id)
    reason = uploadable(sound)
    if reason:
        raise UploadRefusedError(f"Sound {sound_id} is not uploaded: {reason}")
    receipt = client.upload(sound.audio_path, form)
    state = "pending_processing" if receipt.freesound_id else "pending_description"
    username = client.account.tokens().username or None
    return store.mark_uploaded(sound_id, state, receipt.freesound_id, username)


def refresh_upload_state(client: AccountClient, store: TagStore, sound_id: int) -> Sound:
    """Ask Freesound where an upload stands (pending_uploads, then the sound) and record it."""
    sound = store.get_sound(sound_id)
    if not sound.upload_state:
        raise UploadRefusedError(f"Sound {sound_id} was never uploaded from here")
    if not sound.freesound_id:
        return sound  # waiting for its description: no id to follow yet
    return store.mark_uploaded(sound_id, client.upload_state(sound.freesound_id))


def own_sound(sound: Sound, username: str | None) -> bool:
    """A sound on Freesound that the signed-in user uploaded (the only ones they may edit)."""
    return bool(username and sound.freesound_id and sound.username == username
                and sound.upload_state in (None, "published"))


def tags_to_push(client: AccountClient, store: TagStore, sound_id: int,
                 threshold: float = THRESHOLD) -> TagDiff:
    """Freesound's tags now against the curated final tags; refused for others' sounds."""
    sound = store.get_sound(sound_id)
    if not sound.freesound_id:
        raise NotYourSoundError(f"Sound {sound_id} is not on Freesound")
    owner, tags = client.sound_tags(sound.freesound_id)
    me = client.account.tokens().username
    if owner != me:
        raise NotYourSoundError(f"Sound {sound.freesound_id} belongs to {owner}, not to {me}: "
                                "only its uploader can change its tags on Freesound")
    return tag_diff(tags, store.labels(sound_id, threshold=threshold).final)


def push_tags(client: AccountClient, store: TagStore, sound_id: int, diff: TagDiff) -> str:
    """Send the curated tags shown in `diff` (the edit endpoint checks the owner again)."""
    return client.edit_tags(store.get_sound(sound_id).freesound_id, diff.curated)
