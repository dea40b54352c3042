"""hookpipe's own built-in hooks: the implementations the ``.pipe`` catalog names.

``compiler/catalog.py`` ``BUILTINS`` names each by its module path here
(``optimizer`` and ``validation`` are the seed's classes, in :mod:`hookpipe.runtime.hooks`).
RoboOrchard Lab's hooks, under the seed's module names, are :mod:`hookpipe.runtime.hooks`.
"""
