"""The demo and its sample data: ``midfield demo`` and the samples tests and benches share.

Nothing in the production code imports this package (an import contract in pyproject.toml
checks it); only the command line does, for ``midfield demo``.
"""
