"""Latency of ``hookpipe lsp`` as an editor feels it, over stdio with a real client.

Run: python -m benchmarks.lsp [--rounds 30] [--starts 5]

- start: from spawning ``hookpipe lsp`` to its answer to ``initialize`` (median of
  ``--starts`` fresh processes);
- diagnostics: a 500-line generated pipeline is open; each round changes one
  value and times until the server publishes that file's diagnostics (the
  debounce included);
- hover and completion: requests on the same file, answered from the latest
  analysis.

Medians (and the slowest round) in milliseconds of wall time, and the CPU time
the server process spent (from /proc, on Linux): on a busy machine the wall
time includes waiting for a core, the CPU time does not.

The server runs with bytecode writing on (``PYTHONDONTWRITEBYTECODE`` removed
from its environment) and one start is made and discarded first, so the
modules' ``.pyc`` files exist, as after ``pip install``; otherwise every start
would compile hookpipe's modules from source.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from benchmarks.generate import generate

SERVER = (sys.executable, "-m", "hookpipe.cli", "lsp")
#: The server's environment: this one, with bytecode writing on.
SERVER_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
TARGET_LINES = 500


def pipeline(lines: int = TARGET_LINES) -> str:
    """A generated pipeline of about ``lines`` lines (the smallest at least that long)."""
    size = 20
    while len(generate(size).splitlines()) < lines:
        size += 4
    return generate(size)


def _children() -> set[int]:
    """The ids of this process's child processes (from /proc; empty where it is missing)."""
    me = str(os.getpid())
    found = set()
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == me:
                    found.add(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of process ``pid`` so far (NaN where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


async def _started() -> tuple[LanguageClient, int | None, float, float]:
    """A started, initialized client; the server's process id, start wall time and CPU time."""
    client = LanguageClient("bench", "1")
    before = _children()
    begin = time.perf_counter()
    await client.start_io(*SERVER, env=SERVER_ENV)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    took = time.perf_counter() - begin
    new = sorted(_children() - before)
    pid = new[0] if len(new) == 1 else None
    cpu = cpu_seconds(pid)
    client.initialized(types.InitializedParams())
    return client, pid, took, cpu


async def _stop(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


async def measure(rounds: int, starts: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(wall times, server CPU times) per measurement, in seconds."""
    times: dict[str, list[float]] = {"start": [], "diagnostics": [], "hover": [], "completion": []}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    await _stop((await _started())[0])  # writes the .pyc files; not measured
    for _ in range(starts):
        client, _, took, used = await _started()
        times["start"].append(took)
        cpu["start"].append(used)
        await _stop(client)
    client, pid, _, _ = await _started()
    arrived: dict[str, asyncio.Event] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _published(params: types.PublishDiagnosticsParams) -> None:
        if params.uri in arrived:
            arrived[params.uri].set()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "big.pipe")
        text = pipeline()
        path.write_text(text, encoding="utf-8")
        uri = path.resolve().as_uri()
        arrived[uri] = asyncio.Event()
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="pipe", version=1, text=text)))
        await asyncio.wait_for(arrived[uri].wait(), 60)
        lines = text.splitlines()
        hook_line = next(i for i, line in enumerate(lines) if line.strip().startswith("h1 "))
        phase_line = hook_line  # a line inside a phase block: completion offers hook names there
        for version in range(2, rounds + 2):
            arrived[uri].clear()
            changed = text.replace("max_step          = 100_000", f"max_step          = {100_000 + version}")
            begin, used = time.perf_counter(), cpu_seconds(pid)
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=changed)]))
            await asyncio.wait_for(arrived[uri].wait(), 60)
            times["diagnostics"].append(time.perf_counter() - begin)
            cpu["diagnostics"].append(cpu_seconds(pid) - used)
        column = lines[hook_line].index("h1 ")
        for _ in range(rounds):
            begin, used = time.perf_counter(), cpu_seconds(pid)
            await client.text_document_hover_async(types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=hook_line, character=column + 1)))
            times["hover"].append(time.perf_counter() - begin)
            cpu["hover"].append(cpu_seconds(pid) - used)
            begin, used = time.perf_counter(), cpu_seconds(pid)
            await client.text_document_completion_async(types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=phase_line, character=column)))
            times["completion"].append(time.perf_counter() - begin)
            cpu["completion"].append(cpu_seconds(pid) - used)
    await _stop(client)
    return times, cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lsp")
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--starts", type=int, default=5)
    args = p.parse_args(argv)
    times, cpu = asyncio.run(measure(args.rounds, args.starts))
    lines = len(pipeline().splitlines())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at the end")
    print(f"| hookpipe lsp ({lines}-line file) | median wall | slowest wall | median server CPU | target |")
    print("|---|---:|---:|---:|---:|")
    targets = {"start": "500 ms", "diagnostics": "50 ms", "hover": "20 ms", "completion": "20 ms"}
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values) * 1e3:.1f} ms | {max(values) * 1e3:.1f} ms "
              f"| {statistics.median(cpu[name]) * 1e3:.0f} ms | {targets[name]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
