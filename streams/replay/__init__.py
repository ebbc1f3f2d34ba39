"""Replay tooling (DESIGN §8): rebuild, shadow runs, dead-letter re-drive, topic archives."""
