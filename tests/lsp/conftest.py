"""A real ``hookpipe lsp`` process per test module, driven by pytest-lsp's client."""

from __future__ import annotations

import sys

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.helpers import ROOT
from tests.lsp.helpers import Publications, accept_registrations

REPO = ROOT  # the repository: the workspace the server is started on


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "hookpipe.cli", "lsp"]),
)
async def client(lsp_client: LanguageClient):
    lsp_client.diagnostics = Publications()
    lsp_client.registrations = accept_registrations(lsp_client)
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=REPO.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=REPO.as_uri(), name="hookpipe")],
    ))
    yield
    await lsp_client.shutdown_session()
