"""Building hookpipe's own pydantic schemas: once per process, only the steps they need.

The schemas of the catalog and the trainer block are ``defer_build``: pydantic builds
a model's validator the first time it validates, so ``hookpipe lint`` pays only for
the hook types a file names. Two steps of that build are not needed for hookpipe's
fixed schemas, and were two thirds of it (about 50 ms for the five a typical file
uses, a fifth of a one-file lint):

- checking the generated core schema against pydantic-core's schema of schemas.
  pydantic 2.11 stopped doing this by default (``PYDANTIC_SKIP_VALIDATING_CORE_SCHEMAS``
  is its switch in 2.10, where ``robo_orchard_core`` holds us); the test suite builds
  every schema and validates with it, so a bad one would still fail there;
- looking up pydantic plugins among every installed distribution's entry points
  (``PYDANTIC_DISABLE_PLUGINS``). A plugin observes an application's validation;
  the compiler's check of its own arguments is not that.

Both switches are environment variables that pydantic reads while it builds, so they
are set only for the duration of the build of a hookpipe schema and then restored:
the user's own models (``hookpipe run`` imports the user's code) build as they
always do, plugins included.
"""

from __future__ import annotations

import os
import threading

from pydantic import BaseModel

#: pydantic's own switches, and the values that turn the two steps off.
_SWITCHES = {"PYDANTIC_SKIP_VALIDATING_CORE_SCHEMAS": "1", "PYDANTIC_DISABLE_PLUGINS": "__all__"}
_LOCK = threading.Lock()


def built(schema: type[BaseModel]) -> type[BaseModel]:
    """``schema``, its validator built (on first use) without the core-schema check and plugins.

    Example:
        >>> from hookpipe.compiler.catalog import BUILTINS
        >>> built(BUILTINS["ema"].schema).model_validate({}).decay
        0.999
    """
    if schema.__pydantic_complete__:
        return schema
    with _LOCK:
        saved = {name: os.environ.get(name) for name in _SWITCHES}
        os.environ.update(_SWITCHES)
        try:
            schema.model_rebuild()
        finally:
            for name, value in saved.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value
    return schema
