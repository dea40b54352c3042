"""From a Plan's data to Python objects: values, overrides, hook instances, imports.

``resolve`` turns ``$ref``/``$call`` values into objects, ``overrides`` applies
``--set``, ``plan_hooks`` builds hook instances and their phases, ``import_roots``
says where ``use`` modules are imported from, ``verify`` is ``check --resolve`` and
``effect_check`` is ``--check-effects``.
"""
