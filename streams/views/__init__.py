"""The HTTP views: what the worker shows of its books (JSON, the dashboard, sheets)."""
