"""One module per area, one pydantic model per CloudEvents ``type``; importing registers them."""

from schemas.events.fax import FaxFormat, FaxReceived

__all__ = ["FaxFormat", "FaxReceived"]
