"""Replay tooling (DESIGN §8): rebuild, as-of, shadow runs, processor cases, dead-letter
re-drive, topic archives — in one place, the one besides the command line that may use both
``connectors`` (today's parsers, for re-drive) and ``streams`` (the books, for rebuilds)."""
