"""The faust worker: the books as tables, one agent per topic, the side effects, the gate."""
