"""Small hand-made networks for the engine tests (real basins index and trace on them).

River 清水河 flows west to east at 1 m/s (10 km reaches, 2.78 h each):

    t1 (A3) ─┐
    r1 (A1) → r2 (A1) → r3 (A2) → r4 (B1) → r5 (B1 | C1 boundary) → r6 (C2) → r7 (C2)

A1, A2, A3 in prefecture A; B1 in prefecture B (both province P, policy "default");
C1, C2 in prefecture C of province Q. X1 is an XPCC city on division XD (on 新河, not used
by the main river) for copy rules.
"""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

from basins.frames import hierarchy_from, jurisdiction_frame, reach_frame, station_frame
from basins.model import Network
from notifier.bureaus.schemas import BureauContacts, Webhook

NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)

JURISDICTIONS = [
    # id, name, kind, parent, bureau
    ("P", "甲省", "province", "", "甲省生态环境厅"),
    ("Q", "乙省", "province", "", "乙省生态环境厅"),
    ("A", "A市", "prefecture", "P", "A市生态环境局"),
    ("B", "B市", "prefecture", "P", "B市生态环境局"),
    ("C", "C市", "prefecture", "Q", "C市生态环境局"),
    ("A1", "A1县", "county", "A", "A市生态环境局A1县分局"),
    ("A2", "A2县", "county", "A", "A市生态环境局A2县分局"),
    ("A3", "A3县", "county", "A", "A市生态环境局A3县分局"),
    ("B1", "B1县", "county", "B", "B市生态环境局B1县分局"),
    ("C1", "C1县", "county", "C", "C市生态环境局C1县分局"),
    ("C2", "C2县", "county", "C", "C市生态环境局C2县分局"),
    ("XPCC", "兵团", "xpcc", "", "兵团生态环境局"),
    ("XD", "第六师", "xpcc_division", "XPCC", "第六师生态环境局"),
    ("X1", "X1市", "xpcc_city", "XD", "X1市生态环境局"),
]

REACHES = [
    # id, downstream, jurisdiction, co, x0
    ("t1", "r2", "A3", "", 0.0),
    ("r1", "r2", "A1", "", 0.0),
    ("r2", "r3", "A1", "", 0.1),
    ("r3", "r4", "A2", "", 0.2),
    ("r4", "r5", "B1", "", 0.3),
    ("r5", "r6", "B1", "C1", 0.4),
    ("r6", "r7", "C2", "", 0.5),
    ("r7", "", "C2", "", 0.6),
    ("x1", "", "X1", "", 1.0),
]


def network() -> Network:
    rows = []
    geoms = []
    for rid, down, jid, co, x0 in REACHES:
        y = 40.05 if rid == "t1" else 40.0
        rows.append(
            {
                "reach_id": rid,
                "river": "新河" if rid == "x1" else "清水河",
                "basin": "test",
                "downstream": down,
                "length_m": 10_000.0,
                "velocity_ms": 1.0,
                "discharge_m3s": float("nan"),
                "kind": "river",
                "target_class": 3,
                "jurisdiction": jid,
                "co_jurisdictions": co,
                "host": "",
                "approximate": False,
            }
        )
        geoms.append(LineString([(100 + x0, y), (100 + x0 + 0.1, 40.0)]))
    reaches = reach_frame(gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326"))
    jur = pd.DataFrame(
        [
            {
                "jurisdiction_id": j,
                "name": n,
                "kind": k,
                "parent": p,
                "host": "",
                "approximate": False,
                "bureau": b,
            }
            for j, n, k, p, b in JURISDICTIONS
        ]
    ).assign(geometry=[None] * len(JURISDICTIONS))
    jurisdictions = jurisdiction_frame(jur)
    stations = station_frame(
        gpd.GeoDataFrame(
            [
                {
                    "station_id": "S1",
                    "name": "r2 断面",
                    "reach_id": "r2",
                    "jurisdiction": "A1",
                    "mn": "010000A8900016F000169DC0",
                    "geometry": Point(100.15, 40.0),
                },
            ],
            geometry="geometry",
            crs="EPSG:4326",
        )
    )
    return Network(
        reaches=reaches,
        jurisdictions=gpd.GeoDataFrame(jurisdictions),
        stations=stations,
        hierarchy=hierarchy_from(jurisdictions),
    )


def contacts() -> dict[str, BureauContacts]:
    found: dict[str, BureauContacts] = {}
    for jid, *_ in JURISDICTIONS:
        hooks = (
            (Webhook(url=f"http://127.0.0.1:9/hook/{jid}", format="wecom"),) if jid == "B1" else ()
        )
        found[jid] = BureauContacts(
            jurisdiction_id=jid,
            emails=(f"duty-{jid.lower()}@example.org",),
            webhooks=hooks,
            duty_name="值班员",
            duty_phone="0000",
        )
    return found
