"""The books: pure functions from events to state, and the registry of every book."""
