"""The incidents collection served by the OGC API router: one point per incident."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
from shapely.geometry import Point
from sqlalchemy import select

from api.deps import Services
from notifier.incidents.models import Incident
from notifier.reports.models import Report

LIMIT = 5000  # the newest incidents; the layer is an overview, not an archive


def incidents_frame_provider(services: Services) -> Callable[[], gpd.GeoDataFrame]:
    """Origins of the newest incidents: the first report's point, else the origin reach's
    midpoint. Drills are left out."""

    def provide() -> gpd.GeoDataFrame:
        network = services.network()
        reaches = network.reaches.set_index("reach_id").geometry
        rows, points = [], []
        with services.sessions() as session:
            incidents = session.scalars(
                select(Incident)
                .where(Incident.exercise.is_(False))
                .order_by(Incident.id.desc())
                .limit(LIMIT)
            )
            for incident in incidents:
                first = session.scalars(
                    select(Report)
                    .where(Report.incident_id == incident.id)
                    .order_by(Report.id)
                    .limit(1)
                ).first()
                if first is not None and first.lon is not None and first.lat is not None:
                    point = Point(first.lon, first.lat)
                elif incident.origin_reach_id in reaches.index:
                    point = reaches[incident.origin_reach_id].interpolate(0.5, normalized=True)
                else:
                    continue
                rows.append(
                    {
                        "incident_id": str(incident.id),
                        "river": incident.river,
                        "status": incident.status.value,
                        "grade": incident.effective_grade.value,
                        "origin_jurisdiction_id": incident.origin_jurisdiction_id,
                        "opened_at": incident.opened_at,
                    }
                )
                points.append(point)
        columns = ["incident_id", "river", "status", "grade", "origin_jurisdiction_id", "opened_at"]
        return gpd.GeoDataFrame(rows, columns=columns, geometry=points, crs="EPSG:4326")

    return provide
