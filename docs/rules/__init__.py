"""The rule pages (HPxxx.md), installed as package data ``hookpipe.rule_docs``."""
