"""Scenarios on the shipped network (data/): exact recipients, roles and order, through the
real use cases on SQLite and PostgreSQL. The rules come from the two notices: 昌州环发〔2019〕59号
一(四) for 昌吉 and 晋环发〔2019〕48号 二 for 山西."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from basins.model import Network
from notifier.context import EngineContext
from notifier.enums import NoticeRole, NoticeStatus, ReportDirection
from notifier.evaluation.evaluate import Measurement
from notifier.evaluation.standards import read_standards
from notifier.incidents.lifecycle import cancel
from notifier.incidents.schemas import ReportInput, SubmitResult
from notifier.incidents.service import submit_report
from notifier.notices.models import Notice
from notifier.notices.service import acknowledge
from notifier.outbox.models import OutboxMessage
from notifier.routing.policy import load_policy
from notifier.topology import BasinsTopology
from tests.notifier.synthetic import NOW

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
R = NoticeRole
Factory = sessionmaker[Session]

HUTUBI = [
    ("660601", R.DOWNSTREAM),  # 芳草湖农场 (第六师)
    ("660602", R.DOWNSTREAM),  # 新湖农场 (第六师)
    ("652300", R.SUPERVISOR_COPY),  # 昌吉州生态环境局: the county reports to the prefecture
    ("660600", R.SUPERVISOR_COPY),  # 第六师: the XPCC units' division
]
WUJIAQU = [
    ("650109", R.UPSTREAM),  # 米东区, the first foreign jurisdiction upstream
    ("650104", R.UPSTREAM),  # 新市区
    ("650103", R.UPSTREAM),  # 沙依巴克区
    ("650105", R.BOUNDARY),  # 水磨沟区, the other bank of 沙依巴克区's boundary reach
    ("650102", R.UPSTREAM),  # 天山区
    ("650121", R.UPSTREAM),  # 乌鲁木齐县 (53.7 km: within the 300 km horizon)
    ("660600", R.SUPERVISOR_COPY),  # 第六师, 五家渠市's division
    ("650100", R.SUPERVISOR_COPY),  # 乌鲁木齐市: its districts are in another prefecture
]
TOUTUNHE = [
    ("650121", R.BOUNDARY),  # 乌鲁木齐县 bank
    ("652301", R.BOUNDARY),  # 昌吉市 bank
    ("650100", R.SUPERVISOR_COPY),  # 乌鲁木齐市, the origin 头屯河区's prefecture
    ("652300", R.SUPERVISOR_COPY),  # 昌吉州, 昌吉市 lies in another prefecture
]
FENHE = [
    ("140121", R.DOWNSTREAM),  # 清徐县 (太原)
    ("140727", R.DOWNSTREAM),  # 祁县 (晋中)
    ("141121", R.BOUNDARY),  # 文水县 (吕梁), other bank
    ("140728", R.DOWNSTREAM),  # 平遥县 (晋中)
    ("140781", R.BOUNDARY),  # 介休市 (晋中)
    ("141181", R.BOUNDARY),  # 孝义市 (吕梁)
    ("140729", R.DOWNSTREAM),  # 灵石县 (晋中)
    ("141082", R.BOUNDARY),  # 霍州市 (临汾)
    ("141024", R.DOWNSTREAM),  # 洪洞县 (临汾)
    ("141034", R.BOUNDARY),  # 汾西县 (临汾)
    ("141002", R.DOWNSTREAM),  # 尧都区 (临汾)
    ("141023", R.DOWNSTREAM),  # 襄汾县 (临汾)
    ("141021", R.DOWNSTREAM),  # 曲沃县 (临汾)
    ("141081", R.BOUNDARY),  # 侯马市 (临汾)
    ("140825", R.DOWNSTREAM),  # 新绛县 (运城), 282 km: the last within 300 km
    ("140100", R.SUPERVISOR_COPY),  # 太原市生态环境局
    ("140000", R.PROVINCIAL_COPY),  # 山西省生态环境厅, at once (晋环发〔2019〕48号 二)
    ("140700", R.SUPERVISOR_COPY),  # 晋中市
    ("141100", R.SUPERVISOR_COPY),  # 吕梁市
    ("141000", R.SUPERVISOR_COPY),  # 临汾市
    ("140800", R.SUPERVISOR_COPY),  # 运城市
]


@pytest.fixture(scope="module")
def shipped_network() -> Network:
    if not (DATA / "reaches.geojson").is_file():
        pytest.skip("the shipped network data/ is not built yet")
    from basins.io import read_network

    return read_network(DATA)


@pytest.fixture(scope="module")
def shipped(shipped_network: Network, limits_path: Path) -> EngineContext:
    return EngineContext(
        topology=BasinsTopology(shipped_network),
        policy=load_policy(),
        standards=read_standards(limits_path),
    )


@pytest.fixture(scope="module")
def picks(shipped_network: Network) -> dict[str, str]:
    """The scenario reaches, chosen by what they are rather than by id."""
    return {
        "hutubi": _pick(shipped_network, "呼图壁河", jurisdiction="652323"),
        # The last river reach 五家渠市 administers, before the 猛进水库.
        "wujiaqu": _pick(shipped_network, "乌鲁木齐河", jurisdiction="659004", last=True),
        # The first 头屯河 reach of 头屯河区 that is a boundary reach.
        "toutunhe": _pick(shipped_network, "头屯河", jurisdiction="650106", boundary=True),
    }


@pytest.fixture
def shipped_db(factory: Factory, shipped_network: Network) -> Factory:
    from notifier.seed import contacts_in, seed_network

    with factory() as session, session.begin():
        seed_network(session, network=shipped_network, contacts=contacts_in(DATA), now=NOW)
    return factory


def _in_flow_order(network: Network, river: str) -> list[dict[str, str]]:
    """The reaches of one (unbranched) river from source to mouth."""
    rows = {
        str(r.reach_id): {
            "reach_id": str(r.reach_id),
            "jurisdiction": str(r.jurisdiction),
            "co": str(r.co_jurisdictions),
            "kind": str(r.kind),
            "down": str(r.downstream),
        }
        for r in network.reaches.itertuples(index=False)
        if r.river == river
    }
    fed = {d for row in rows.values() for d in row["down"].split(",") if d}
    current = next(rid for rid in rows if rid not in fed)
    ordered = []
    while current in rows:
        ordered.append(rows[current])
        current = rows[current]["down"].split(",")[0]
    return ordered


def _pick(
    network: Network,
    river: str,
    *,
    jurisdiction: str,
    last: bool = False,
    boundary: bool = False,
    kind: str = "river",
) -> str:
    found = [
        r["reach_id"]
        for r in _in_flow_order(network, river)
        if r["jurisdiction"] == jurisdiction
        and r["kind"] == kind
        and (bool(r["co"]) or not boundary)
    ]
    assert found, f"no reach of {river} in {jurisdiction}"
    return found[-1] if last else found[0]


def _submit(
    factory: Factory,
    ctx: EngineContext,
    reach: str,
    *,
    direction: ReportDirection = ReportDirection.SOURCE,
    at: timedelta = timedelta(0),
    exercise: bool = False,
) -> SubmitResult:
    data = ReportInput(
        measurements=(Measurement("w21003", 6.0),),
        reporter="值班员",
        observed_at=NOW + at,
        reach_id=reach,
        direction=direction,
        exercise=exercise,
        declared_incident=exercise,
    )
    with factory() as session, session.begin():
        return submit_report(session, data, ctx=ctx, now=NOW + at)


def _pairs(result: SubmitResult) -> list[tuple[str, NoticeRole]]:
    return [(n.jurisdiction_id, n.role) for n in result.notices]


def test_source_on_hutubi_river_in_hutubi_county(
    shipped_db: Factory, shipped: EngineContext, picks: dict[str, str]
) -> None:
    result = _submit(shipped_db, shipped, picks["hutubi"])
    assert _pairs(result) == HUTUBI
    bureaus = shipped.topology.hierarchy.jurisdictions
    assert [n.bureau for n in result.notices] == [bureaus[j].bureau for j, _ in HUTUBI]
    assert result.notices[2].bureau == "昌吉州生态环境局"


def test_observed_downstream_at_wujiaqu_end_of_urumqi_river(
    shipped_db: Factory, shipped: EngineContext, picks: dict[str, str]
) -> None:
    result = _submit(
        shipped_db, shipped, picks["wujiaqu"], direction=ReportDirection.OBSERVED_DOWNSTREAM
    )
    assert _pairs(result) == WUJIAQU


def test_source_on_toutunhe_boundary_reach_notifies_both_banks_at_once(
    shipped_db: Factory, shipped: EngineContext, picks: dict[str, str]
) -> None:
    result = _submit(shipped_db, shipped, picks["toutunhe"])
    assert _pairs(result) == TOUTUNHE
    banks = result.notices[:2]
    assert all(n.eta_hours == 0 and n.distance_km == 0 for n in banks)
    floor = NOW + timedelta(minutes=shipped.policy.minimum_minutes)
    assert all(n.ack_deadline == floor for n in banks)


def test_source_on_fenhe_in_taiyuan(shipped_db: Factory, shipped: EngineContext) -> None:
    result = _submit(shipped_db, shipped, "fenhe-ngcc1137-1")
    assert _pairs(result) == FENHE
    etas = [n.eta_hours for n in result.notices if n.role in (R.DOWNSTREAM, R.BOUNDARY)]
    assert etas == sorted(etas)
    with shipped_db() as session:
        payloads = [m.payload for m in session.scalars(select(OutboxMessage))]
    assert payloads and all(p["heads_notify_each_other"] is True for p in payloads)


def test_fenhe_reaches_the_shaanxi_bank_of_the_yellow_river_with_a_wider_horizon(
    shipped: EngineContext,
) -> None:
    from basins.model import Direction
    from notifier.enums import Grade
    from notifier.routing.route import route

    wide = dataclasses.replace(shipped.policy, max_km=450.0)
    down = shipped.topology.trace("fenhe-ngcc1137-1", direction=Direction.DOWN)
    got = route(
        "140105",
        direction=ReportDirection.SOURCE,
        downstream=down,
        upstream=[],
        hierarchy=shipped.topology.hierarchy,
        policy=wide,
        grade=Grade.IV,
        now=NOW,
    )
    pairs = [(d.jurisdiction_id, d.role) for d in got]
    assert pairs[: len(FENHE) - 6] == FENHE[:-6]  # the same counties first, in order
    assert ("140824", R.DOWNSTREAM) in pairs and ("140882", R.DOWNSTREAM) in pairs  # 稷山, 河津
    assert ("610581", R.BOUNDARY) in pairs  # 韩城市, the Shaanxi bank of the 黄河
    assert ("610500", R.ADJACENT_PREFECTURE) in pairs  # 渭南市, adjacent prefecture
    assert ("140000", R.PROVINCIAL_COPY) in pairs  # 山西省生态环境厅 (once)
    han = next(d for d in got if d.jurisdiction_id == "610581")
    hejin = next(d for d in got if d.jurisdiction_id == "140882")
    assert han.eta_hours is not None and hejin.eta_hours is not None
    assert han.eta_hours >= hejin.eta_hours


def test_second_report_joins_the_first_incident(
    shipped_db: Factory, shipped: EngineContext
) -> None:
    first = _submit(shipped_db, shipped, "fenhe-ngcc1137-1")
    second = _submit(shipped_db, shipped, "fenhe-ngcc1137-4", at=timedelta(hours=2))
    assert second.incident_id == first.incident_id and second.joined and not second.opened
    before = {n.jurisdiction_id: n.id for n in first.notices}
    after = {n.jurisdiction_id: n.id for n in second.notices}
    assert {j: after[j] for j in before} == before  # nobody is told twice
    new = [n for n in second.notices if n.id in second.new_notice_ids]
    assert all(n.jurisdiction_id not in before for n in new)
    # Only bureaus further down, beyond the first report's horizon, are added.
    assert all(
        n.role in (R.DOWNSTREAM, R.BOUNDARY, R.SUPERVISOR_COPY, R.ADJACENT_PREFECTURE) for n in new
    )
    with shipped_db() as session:
        notices = session.scalars(select(Notice)).all()
        assert len(notices) == len({(n.incident_id, n.jurisdiction_id) for n in notices})


def test_cancel(shipped_db: Factory, shipped: EngineContext, picks: dict[str, str]) -> None:
    result = _submit(shipped_db, shipped, picks["hutubi"])
    assert result.incident_id is not None
    with shipped_db() as session, session.begin():
        cancel(
            session,
            incident_id=result.incident_id,
            actor="呼图壁县分局",
            reason="仪器故障 误报",
            now=NOW + timedelta(minutes=4),
        )
    with shipped_db() as session:
        assert {n.status for n in session.scalars(select(Notice))} == {NoticeStatus.CANCELLED}
        statuses = {m.status for m in session.scalars(select(OutboxMessage))}
        assert statuses == {"failed"}  # nothing had gone out: everything withdrawn


def test_drill(shipped_db: Factory, shipped: EngineContext, picks: dict[str, str]) -> None:
    from notifier.drills.service import drill_results, start_drill

    with shipped_db() as session, session.begin():
        drill = start_drill(
            session, reach_id=picks["toutunhe"], actor="昌吉州生态环境局", ctx=shipped, now=NOW
        )
    assert _pairs(drill) == TOUTUNHE
    assert drill.incident_id is not None
    for minutes, jid in ((3, "652301"), (25, "650121"), (8, "652300")):
        notice = next(n for n in drill.notices if n.jurisdiction_id == jid)
        with shipped_db() as session, session.begin():
            acknowledge(
                session,
                notice_id=notice.id,
                by_name=f"{jid}值班",
                channel="link",
                now=NOW + timedelta(minutes=minutes),
            )
    with shipped_db() as session:
        results = drill_results(session, incident_id=drill.incident_id)
    got = [(r.jurisdiction_id, r.seconds_to_ack, r.within_deadline) for r in results]
    assert got == [
        ("650121", 1500.0, False),  # a bank has 10 minutes: 25 is late
        ("652301", 180.0, True),
        ("650100", None, False),
        ("652300", 480.0, True),  # a copy triggered at distance 0: 10 minutes too
    ]
    # A drill never joins a real incident on the same reach.
    real = _submit(shipped_db, shipped, picks["toutunhe"], at=timedelta(minutes=30))
    assert real.opened and real.incident_id != drill.incident_id
