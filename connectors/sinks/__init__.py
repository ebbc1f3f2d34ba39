"""Sinks: events on the bus -> department systems. One module per sink (``department.py``)."""
