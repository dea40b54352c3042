"""The digits example: a small MLP on the UCI handwritten digits (see README.md)."""
