"""The language server: protocol handlers over ``Project`` and the feature modules.

Handlers stay thin: find the document's analysis, ask a feature module, convert.
Diagnostics are published after a short debounce following each change (a burst
of keystrokes compiles once), and at once on open; hover, completion and the
rest answer from the latest analysis without compiling.

The compiler (pydantic, the grammar) is imported only once the client
has its ``initialize`` answer: on ``initialized`` the server loads it and
builds the parser, before the first document arrives.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from hookpipe import __version__
from hookpipe.escaping import escape
from hookpipe.lsp.convert import COLUMNS, path_of, span_range, uri_of
from hookpipe.perf import kept_for_good
from hookpipe.span import offset_at, source_lines

if TYPE_CHECKING:
    from concurrent.futures import Future

    from hookpipe.compiler.context import Compilation
    from hookpipe.diagnostics import Diagnostic
    from hookpipe.lsp.state import Project

#: Seconds of quiet after a change before it is compiled.
DEBOUNCE_S = 0.015
RENDER_COMMAND = "hookpipe.renderGraph"


def converter() -> Any:
    """pygls's converter, except that a position with a negative line or character still arrives.

    lsprotocol's ``Position`` refuses negative numbers while the request is decoded,
    before its id is known, so pygls could only log it and the client waited
    forever. Decoded as given, the handler's ``check_position`` answers the request
    with a JSON-RPC invalid-params error instead.
    """
    from pygls.protocol import default_converter

    conv = default_converter()

    def position(data: Any, _type: Any) -> types.Position:
        line, character = int(data["line"]), int(data["character"])
        made = types.Position(line=max(line, 0), character=max(character, 0))
        object.__setattr__(made, "line", line)  # kept as sent, for check_position to refuse
        object.__setattr__(made, "character", character)
        return made

    conv.register_structure_hook(types.Position, position)
    return conv


class PipeServer(LanguageServer):
    def __init__(self) -> None:
        # Whole documents on every change: pygls would apply a ranged edit by its own
        # lines (``str.splitlines``, which also breaks at "\f", U+2028...), not the
        # protocol's, and a comment holding one would shift every later edit.
        super().__init__("hookpipe", __version__, converter_factory=converter,
                         text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self._project: Project | None = None
        self.pending: dict[Path, asyncio.TimerHandle] = {}
        self.published: dict[Path, list[types.Diagnostic]] = {}
        self.shown_errors: set[str] = set()
        self.converted: dict[tuple[object, ...], types.Diagnostic] = {}

    @property
    def project(self) -> Project:
        if self._project is None:
            with kept_for_good():  # the compiler's modules and the parser live as long as the server
                from hookpipe.dsl.grammar import parser
                from hookpipe.lsp.state import Project

                parser()  # build (or load) the LALR tables now, not on the first keystroke
                self._project = Project()
        return self._project

    def registered(self, answer: Future[None]) -> None:
        """Say in the client's log when it refused the file watchers (included files then go stale)."""
        error = None if answer.cancelled() else answer.exception()
        if error is not None:
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Warning,
                message=f"hookpipe: the editor did not accept file watchers ({error}); "
                        "a file changed outside the editor is re-checked when a file that reads it is edited"))

    def overlay(self) -> dict[Path, str]:
        out: dict[Path, str] = {}
        for uri, doc in self.workspace.text_documents.items():
            path = path_of(uri)
            if path is not None:
                out[path] = doc.source
        return out

    def refresh(self, path: Path) -> None:
        """Compile what ``path``'s change affects now, and publish."""
        handle = self.pending.pop(path, None)
        if handle is not None:
            handle.cancel()
        self.project.update(path, self.overlay())
        self.publish(path)

    def schedule(self, path: Path) -> None:
        handle = self.pending.pop(path, None)
        if handle is not None:
            handle.cancel()
        self.pending[path] = asyncio.get_running_loop().call_later(DEBOUNCE_S, self.refresh, path)

    def flush(self, path: Path) -> None:
        """Bring ``path`` up to date before a request that must see its latest text."""
        if path in self.pending:
            self.refresh(path)

    def publish(self, changed: Path | None = None) -> None:
        """Publish the findings of every file that changed since last time, and always ``changed``'s."""
        current = self.project.diagnostics()
        for analysis in self.project.analyses.values():  # the lines columns are converted on
            COLUMNS.sources.texts.update(analysis.ctx.sources.texts)
        if len(self.converted) > 4 * sum(len(found) for found in current.values()) + 1000:
            self.converted.clear()
        for file in sorted(set(self.published) - set(current)):
            del self.published[file]
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri_of(str(file)),
                                                                                  diagnostics=[]))
        for file, found in current.items():
            converted = [self.convert(d, ctx) for d, ctx in found]
            if file != changed and self.published.get(file) == converted:
                continue
            self.published[file] = converted
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri_of(str(file)),
                                                                                  diagnostics=converted))
        for analysis in self.project.analyses.values():
            if analysis.config_error and analysis.config_error not in self.shown_errors:
                self.shown_errors.add(analysis.config_error)
                self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error,
                                                                 message=escape(f"hookpipe: {analysis.config_error}")))

    def convert(self, d: Diagnostic, ctx: Compilation) -> types.Diagnostic:
        """``to_lsp``, remembered: most findings survive a keystroke unchanged.

        The key holds the source lines the finding and its fixes read (its own
        and its notes'), so a fix is never stale.
        """
        from hookpipe.lsp.diagnostics import to_lsp

        lines = tuple(ctx.sources.line(s.file, s.line) for s in (d.span, *(n.span for n in d.notes if n.span)))
        key = (d, lines)
        found = self.converted.get(key)
        if found is None:
            found = self.converted[key] = to_lsp(d, ctx)
        return found

    def locate(self, uri: str, position: types.Position) -> tuple[Any, Any] | None:
        """The analysis for ``uri`` and the occurrence at ``position``."""
        check_position(position)
        path = path_of(uri)
        analysis = self.project.for_features(path) if path else None
        if analysis is None:
            return None
        display = _display(analysis, path)
        if display is None:
            return None
        column = COLUMNS.from_client(analysis.ctx.sources.line(display, position.line + 1), position.character)
        occ = analysis.index.at(display, position.line + 1, column)
        return (analysis, occ) if occ is not None else None

    def open_document(self, uri: str) -> Any | None:
        """The document the client opened at ``uri``; None for any other.

        ``workspace.get_text_document`` would make one for any URI and read it from
        disk on first use: a FIFO there blocks the server for good. The server reads
        only what the editor sent (and, through the compiler, regular files).
        """
        return self.workspace.text_documents.get(uri)


def check_position(position: types.Position) -> None:
    """A JSON-RPC invalid-params error for a position no document has (negative line or character)."""
    if position.line < 0 or position.character < 0:
        from pygls.exceptions import JsonRpcInvalidParams

        raise JsonRpcInvalidParams(f"invalid position: line {position.line}, character {position.character} "
                                   "(both count from 0)")


def _display(analysis: Any, path: Path | None) -> str | None:
    """The file name the compiler used for ``path`` (spans carry it)."""
    for name in analysis.ctx.sources.texts:
        if Path(name).resolve() == path:
            return str(name)
    return None


def build_server() -> PipeServer:
    """A server with every feature registered; ``start_io()`` runs it."""
    server = PipeServer()

    @server.feature(types.INITIALIZED)
    def initialized(ls: PipeServer, params: types.InitializedParams) -> None:
        encoding = ls.workspace.position_encoding  # what pygls negotiated and announced
        COLUMNS.encoding = str(getattr(encoding, "value", encoding) or "utf-16")
        from hookpipe.lsp.watching import can_register_watchers, watcher_registration

        if can_register_watchers(ls.client_capabilities):
            ls.client_register_capability(watcher_registration()).add_done_callback(ls.registered)
        ls.project  # noqa: B018 - load the compiler while the editor is still opening files

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PipeServer, params: types.DidOpenTextDocumentParams) -> None:
        path = path_of(params.text_document.uri)
        if path is not None:
            ls.refresh(path)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PipeServer, params: types.DidChangeTextDocumentParams) -> None:
        path = path_of(params.text_document.uri)
        if path is not None:
            ls.schedule(path)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PipeServer, params: types.DidCloseTextDocumentParams) -> None:
        path = path_of(params.text_document.uri)
        if path is None:
            return
        ls.project.forget(path)
        for root in list(ls.project.analyses):  # its includers now read it from disk
            if path in ls.project.analyses[root].diagnostics:
                ls.project.reanalyse(root, ls.overlay())
        ls.publish()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: PipeServer, params: types.DidChangeWatchedFilesParams) -> None:
        from hookpipe.lint.config import clear_caches

        overlay = ls.overlay()
        for change in params.changes:
            path = path_of(change.uri)
            if path is None:
                continue
            if path.name == "pyproject.toml":
                clear_caches()
                ls.shown_errors.clear()
                for root in list(ls.project.analyses):
                    ls.project.reanalyse(root, overlay)
            elif path not in overlay:
                ls.project.update(path, overlay)
        ls.publish()

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: PipeServer, params: types.HoverParams) -> types.Hover | None:
        from hookpipe.lsp.hover import hover_text

        found = ls.locate(params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, occ = found
        text = hover_text(occ, analysis.ctx, analysis.index)
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                           range=span_range(occ.span))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=[" ", "(", ">", ","]))
    def completion(ls: PipeServer, params: types.CompletionParams) -> types.CompletionList:
        from hookpipe.lsp.completion import complete, markdown_support, snippet_support

        check_position(params.position)
        doc = ls.open_document(params.text_document.uri)
        if doc is None:
            return types.CompletionList(is_incomplete=False, items=[])
        line = params.position.line
        lines = source_lines(doc.source)
        text = lines[line] if line < len(lines) else None
        upto = offset_at(doc.source, line + 1, COLUMNS.from_client(text, params.position.character))  # "\n" lines
        path = path_of(params.text_document.uri)
        analysis = None
        if path is not None:
            analysis = ls.project.last_parsed.get(path) or ls.project.for_features(path)
            owners = ls.project.owners(path)
            analysis = next((a for a in owners if a.parsed), analysis)
        items = complete(doc.source[:upto], analysis.ctx if analysis else None,
                         snippets=snippet_support(ls.client_capabilities),
                         markdown=markdown_support(ls.client_capabilities))
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: PipeServer, params: types.DefinitionParams) -> types.Location | None:
        from hookpipe.lsp.navigation import definition as find

        found = ls.locate(params.text_document.uri, params.position)
        return find(found[1], found[0].index) if found else None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def references(ls: PipeServer, params: types.ReferenceParams) -> list[types.Location]:
        from hookpipe.lsp.navigation import references as find

        found = ls.locate(params.text_document.uri, params.position)
        return find(found[1], found[0].index, params.context.include_declaration) if found else []

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(ls: PipeServer, params: types.PrepareRenameParams) -> types.Range | None:
        from hookpipe.lsp.navigation import NAMED

        found = ls.locate(params.text_document.uri, params.position)
        if found is None or found[1].kind not in NAMED:
            return None
        return span_range(found[1].span)

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def rename(ls: PipeServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        from hookpipe.lsp.navigation import rename as edit

        path = path_of(params.text_document.uri)
        if path is not None:
            ls.flush(path)
        found = ls.locate(params.text_document.uri, params.position)
        if found is None:
            return None
        try:
            return edit(found[1], found[0].index, params.new_name)
        except ValueError as exc:
            from pygls.exceptions import JsonRpcInvalidParams

            raise JsonRpcInvalidParams(str(exc)) from exc

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(ls: PipeServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        from hookpipe.lsp.navigation import symbols

        path = path_of(params.text_document.uri)
        analysis = ls.project.analyses.get(path) if path else None
        if analysis is None:
            return []
        display = _display(analysis, path)
        file = next((f for f, _ in analysis.ctx.files if f.path == display), None)
        return symbols(file, analysis.ctx) if file is not None else []

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: PipeServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        from hookpipe.dsl.formatter import format_text

        doc = ls.open_document(params.text_document.uri)
        if doc is None:
            return None
        result = format_text(doc.source, doc.path)
        if result.text is None or result.text == doc.source:
            return [] if result.text is not None else None
        end = types.Position(line=len(doc.lines), character=0)
        return [types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end),
                               new_text=result.text)]

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: PipeServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        actions: list[types.CodeAction] = []
        for d in params.context.diagnostics:
            data = d.data if isinstance(d.data, dict) else {}
            for fix in data.get("fixes", []):
                changes: dict[str, list[types.TextEdit]] = {}
                for e in fix["edits"]:
                    r = e["range"]
                    changes.setdefault(e["uri"], []).append(types.TextEdit(
                        range=types.Range(start=types.Position(**r["start"]), end=types.Position(**r["end"])),
                        new_text=e["text"]))
                actions.append(types.CodeAction(title=fix["title"], kind=types.CodeActionKind.QuickFix,
                                                diagnostics=[d], is_preferred=fix.get("preferred") or None,
                                                edit=types.WorkspaceEdit(changes=changes)))
        return actions

    @server.command(RENDER_COMMAND)
    def render_graph(ls: PipeServer, uri: str) -> dict[str, Any]:
        """The current buffer's hook graph as SVG text: ``{"svg": ...}`` or ``{"error": ...}``."""
        from hookpipe.lsp.graph import render_svg
        from hookpipe.render import RenderError

        path = path_of(uri)
        if path is None:
            return {"error": f"{uri}: not a file"}
        ls.flush(path)
        analysis = ls.project.analyses.get(path) or ls.project.reanalyse(path, ls.overlay())
        if analysis is None:
            return {"error": f"{path}: cannot be read"}
        try:
            return {"svg": render_svg(analysis.ctx)}
        except RenderError as exc:
            return {"error": str(exc)}

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit.

    Start-up (pygls and lsprotocol's ~1,150 protocol classes, the features'
    registration) allocates only what lives as long as the server: the collector
    is paused meanwhile (the caller pauses it for the import too) and those
    objects are put out of its sight for good before it resumes
    (``perf.kept_for_good``), so neither the first allocation after start-up nor
    any collection while serving scans them.
    """
    with kept_for_good():
        server = build_server()
    server.start_io()
