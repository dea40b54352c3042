"""The .pipe compiler: text -> AST -> checked graphs -> Plan. Never imports torch."""

from hookpipe.compiler.pipeline import PASSES, compile_file, compile_path, compile_text, run_passes
from hookpipe.compiler.plan import Guard, HookSpec, PhasePlan, Plan, PlanEntry

__all__ = [
    "PASSES",
    "Guard",
    "HookSpec",
    "PhasePlan",
    "Plan",
    "PlanEntry",
    "compile_file",
    "compile_path",
    "compile_text",
    "run_passes",
]
