"""Map geometry for a message, taken from the river network (basins).

The origin is the reported point (else the middle of the origin reach), the path is the
incident's affected reaches, the area is the recipient's jurisdiction; a prefecture or
province drawn without a geometry of its own is the union of the units under it.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from notifier.delivery.context import MapGeometry
from notifier.delivery.render import GeometrySource

if TYPE_CHECKING:
    from basins.model import Network
    from notifier.incidents.models import Incident
    from notifier.reports.models import Report
    from notifier.settings import Settings

log = logging.getLogger(__name__)
MAX_PATH_REACHES = 500


class NetworkMaps:
    """A GeometrySource over a loaded network."""

    def __init__(self, network: Network) -> None:
        reaches = network.reaches
        self.reaches: dict[str, BaseGeometry] = dict(
            zip(reaches["reach_id"], reaches.geometry, strict=True)
        )
        jurisdictions = network.jurisdictions
        self.areas: dict[str, BaseGeometry | None] = {
            jid: (geom if geom is not None and not geom.is_empty else None)
            for jid, geom in zip(
                jurisdictions["jurisdiction_id"], jurisdictions.geometry, strict=True
            )
        }
        self.hierarchy = network.hierarchy
        self.area = cache(self._area)

    def _area(self, jurisdiction_id: str) -> BaseGeometry | None:
        own = self.areas.get(jurisdiction_id)
        if own is not None:
            return own
        members = [
            geom
            for jid, geom in self.areas.items()
            if geom is not None and jurisdiction_id in self.hierarchy.ancestors(jid)
        ]
        return unary_union(members) if members else None

    def __call__(
        self, incident: Incident, report: Report | None, recipient_id: str
    ) -> MapGeometry | None:
        origin: BaseGeometry | None = None
        if report is not None and report.lon is not None and report.lat is not None:
            origin = Point(report.lon, report.lat)
        elif incident.origin_reach_id in self.reaches:
            origin = self.reaches[incident.origin_reach_id].interpolate(0.5, normalized=True)
        if origin is None:
            return None
        path = tuple(
            self.reaches[r]
            for r in list(incident.affected_reaches)[:MAX_PATH_REACHES]
            if r in self.reaches
        )
        return MapGeometry(origin=origin, path=path, recipient_area=self.area(recipient_id))


def network_maps(settings: Settings) -> GeometrySource | None:
    """Maps from ``settings.network_dir``; None (messages without a map) if it cannot load."""
    from basins.io import read_network

    try:
        return NetworkMaps(read_network(settings.network_dir))
    except Exception as exc:  # the text says everything; a missing map must not stop delivery
        log.warning(
            "no maps in messages: cannot load the network in %s: %s", settings.network_dir, exc
        )
        return None
