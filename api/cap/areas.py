"""CAP areas from the river network: the affected jurisdictions and the path of the pollution.

Jurisdictions drawn without a polygon of their own (prefectures, provinces, XPCC divisions) are
covered by the union of their members' polygons, so that a prefecture notified as supervisor
still has a shape on a map.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shapely import union_all

from api.cap.model import CapArea, CapText

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from basins.model import Network

PATH_NAME = CapText(zh="污染物可能经过的河段", en="River reaches the pollution may travel")


def areas_from_network(
    network: Network,
    *,
    jurisdiction_ids: Sequence[str],
    path_reach_ids: Sequence[str] = (),
    path_name: CapText = PATH_NAME,
) -> tuple[CapArea, ...]:
    """One area per affected jurisdiction (in the given order), then one for the path.

    Unknown ids raise ``KeyError`` naming all of them: the incident refers to a network that
    no longer holds them, which the caller must resolve rather than silently drop.
    """
    frame = network.jurisdictions.set_index("jurisdiction_id", drop=False)
    reaches = network.reaches.set_index("reach_id", drop=False)
    missing = [j for j in jurisdiction_ids if j not in frame.index]
    missing += [r for r in path_reach_ids if r not in reaches.index]
    if missing:
        raise KeyError(f"not in the network: {', '.join(missing)}")
    areas = []
    for jid in jurisdiction_ids:
        name = str(frame.at[jid, "name"])
        areas.append(
            CapArea(
                name=CapText(zh=name, en=f"{name} ({jid})"),
                geometry=_shape_of(network, jid),
                geocode=jid if jid.isdigit() else None,
            )
        )
    if path_reach_ids:
        path = union_all(list(reaches.loc[list(path_reach_ids)].geometry))
        areas.append(CapArea(name=path_name, geometry=path))
    return tuple(areas)


def _shape_of(network: Network, jurisdiction_id: str) -> BaseGeometry | None:
    """The jurisdiction's polygon, or the union of the polygons of everything under it."""
    frame = network.jurisdictions
    own = frame.loc[frame["jurisdiction_id"] == jurisdiction_id].geometry
    if len(own) and own.iloc[0] is not None and not own.iloc[0].is_empty:
        geometry: BaseGeometry = own.iloc[0]
        return geometry
    hierarchy = network.hierarchy
    members = [
        geometry
        for jid, geometry in zip(frame["jurisdiction_id"], frame.geometry, strict=True)
        if geometry is not None
        and jid in hierarchy.jurisdictions
        and jurisdiction_id in hierarchy.ancestors(jid)
    ]
    if not members:
        return None
    merged: BaseGeometry = union_all(members)
    return merged
