"""Sources (real inputs -> events) and sinks (events -> department systems)."""
