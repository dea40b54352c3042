"""What an importer builds: a pipeline as plain data, written out as ``.pipe`` text.

Each importer (MMEngine, RoboOrchard Lab, LightningCLI) reads its format into a
``Port``; ``hookpipe.porting.writer`` prints it and hookpipe's formatter lays it
out. Keeping the three readers to one small model means the text rules (quoting,
names, the ``# hookpipe import:`` marks) are written once.

A ``note`` on any item is a line that needs a person: it is written as a
``# hookpipe import: NOTE`` comment at the end of that item's line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Ref:
    """A reference to a ``use`` alias's attribute (``project.val_step``), written unquoted."""

    dotted: str


@dataclass(frozen=True)
class Call:
    """A factory call: ``callee`` is a ``Ref`` (through an alias) or a dotted import path (quoted)."""

    callee: Ref | str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunValue:
    """``run.updates``, ``run.steps_per_epoch``...: a value ``hookpipe run`` fills in."""

    name: str


@dataclass
class Setting:
    key: str
    value: Any
    note: str | None = None


@dataclass
class Hook:
    """``hook NAME = CALLEE(ARGS) { EFFECTS }``: ``callee`` is a built-in's name or a dotted class path."""

    name: str
    callee: str
    args: dict[str, Any] = field(default_factory=dict)
    builtin: bool = True
    effects: list[str] = field(default_factory=list)
    note: str | None = None


@dataclass
class Attachment:
    """One attachment line: the hook's name and its modifiers (``every 10 epochs until 284``)."""

    hook: str
    modifiers: str = ""
    note: str | None = None


@dataclass
class Bracket:
    """``with NAME { ... }``: NAME's enter, the attachments, NAME's exit."""

    hook: str
    items: list[Attachment] = field(default_factory=list)
    note: str | None = None


Item = Union[Attachment, Bracket]

#: The alias of the user's module in a written port, and the module's name until the user names one.
PROJECT = "project"
PLACEHOLDER_MODULE = "port_project"


@dataclass
class Port:
    """A pipeline read from another framework's configuration, before it is written as text."""

    name: str
    source: str
    kind: str
    uses: dict[str, str] = field(default_factory=dict)
    settings: list[Setting] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    #: (scope path inside ``loop``, phase) -> attachments in the order they run
    phases: dict[tuple[tuple[str, ...], str], list[Item]] = field(default_factory=dict)
    #: validation hook name -> (scope path inside its run, phase) -> attachments
    validation_phases: dict[str, dict[tuple[tuple[str, ...], str], list[Item]]] = field(default_factory=dict)
    orders: list[str] = field(default_factory=list)
    #: the Python module the user's factories and callbacks live in (None: not named yet, a marked placeholder)
    module: str | None = None
    #: what that module must define: attribute -> what it is
    needs: dict[str, str] = field(default_factory=dict)
    #: the names of ``hooks``, and the number ``add_hook`` tries next after each base name
    _taken: set[str] = field(default_factory=set, repr=False)
    _next_number: dict[str, int] = field(default_factory=dict, repr=False)

    def setting(self, key: str, value: Any, note: str | None = None) -> None:
        """Set (or replace) a trainer setting."""
        for s in self.settings:
            if s.key == key:
                s.value, s.note = value, note
                return
        self.settings.append(Setting(key, value, note))

    def add_hook(self, hook: Hook) -> Hook:
        """Declare ``hook`` under a name no other hook has (``save``, ``save_2``...).

        The names taken and each base name's next number are kept as hooks are added: a
        config of thousands of hooks of one type took seconds per thousand asked afresh.
        """
        base, n = hook.name, self._next_number.get(hook.name, 2)
        while hook.name in self._taken:
            hook.name = f"{base}_{n}"
            n += 1
        self._next_number[base] = n
        self._taken.add(hook.name)
        self.hooks.append(hook)
        return hook

    def attach(self, path: tuple[str, ...], phase: str, item: Item) -> None:
        """Append ``item`` to the phase block ``path.phase`` (``("loop", "epoch"), "after"``)."""
        self.phases.setdefault((path, phase), []).append(item)

    def attach_validation(self, hook: str, path: tuple[str, ...], phase: str, item: Item) -> None:
        """Append ``item`` to a phase of validation hook ``hook``'s own run."""
        self.validation_phases.setdefault(hook, {}).setdefault((path, phase), []).append(item)

    def need(self, attribute: str, what: str) -> Ref:
        """A reference to ``project.ATTRIBUTE``, which the user's module must define (``what`` says as what)."""
        self.uses.setdefault(PROJECT, self.module or PLACEHOLDER_MODULE)
        self.needs.setdefault(attribute, what)
        return Ref(f"{PROJECT}.{attribute}")
