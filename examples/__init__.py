"""Runnable examples; importable from the project root (``use x = "examples..."``)."""
