"""Other frameworks' hook setups as ``.pipe`` files: the readers behind ``hookpipe import``.

``mmengine`` (with ``pyconfig``, MMEngine's Python configs read without executing
them), ``robo`` (RoboOrchard Lab hook config JSON) and ``lightning`` (LightningCLI
YAML, already parsed) each build a ``model.Port``; ``writer`` prints it as formatted
``.pipe`` text with a ``# hookpipe import:`` mark on every line that needs a person.
Nothing here imports torch, the runtime or the user's code.
"""
