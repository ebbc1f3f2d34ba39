"""The faust app: processors, tables, timers, web views."""
