"""Which files the client should tell the server about when they change on disk.

An open pipeline reads files that are not open (its ``include`` fragments, the
``pyproject.toml`` that configures lint): when one of them changes on disk the
server hears of it only through ``workspace/didChangeWatchedFiles``, and only
for the files the client watches. The VS Code extension used to set its own
watchers; any other client watches nothing unless asked, so the server asks
(``client/registerCapability``) whenever the client says it accepts dynamic
registration for that notification.
"""

from __future__ import annotations

from lsprotocol import types

#: What the server asks the client to watch: every pipeline file and every lint configuration
#: (the nearest ``pyproject.toml`` above a file configures it, so any folder's counts).
WATCHED = ("**/*.pipe", "**/pyproject.toml")
REGISTRATION_ID = "hookpipe.watchedFiles"


def can_register_watchers(capabilities: types.ClientCapabilities) -> bool:
    """The client accepts ``client/registerCapability`` for watched files."""
    workspace = capabilities.workspace
    watched = workspace.did_change_watched_files if workspace else None
    return bool(watched and watched.dynamic_registration)


def watcher_registration() -> types.RegistrationParams:
    """The ``client/registerCapability`` request that asks for :data:`WATCHED`."""
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED])
    return types.RegistrationParams(registrations=[types.Registration(
        id=REGISTRATION_ID, method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)])
