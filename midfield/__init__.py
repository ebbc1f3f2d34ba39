"""Midfield: command line, settings, logging, errors, embedded broker."""
