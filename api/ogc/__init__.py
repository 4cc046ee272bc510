"""OGC API - Features (read-only) over the river network and the incidents."""

from api.ogc.router import ogc_router

__all__ = ["ogc_router"]
