"""A synthetic fleet the size of a prefecture-level city: Lianyungang, Jiangsu (34.6 N, 119.2 E).

The fleet is built as a fleet document and goes in through the same all-or-nothing import as
``fleet import``. It is deterministic for a given seed (numpy's ``Generator``) and reference
date. Seeded users are for demonstrations only: their passwords are published below.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import numpy as np
from rich.progress import Progress
from sqlmodel import Session, select

from fleet.db import make_engine, session_scope, upgrade
from fleet.fleet_document import FORMAT, validate_document, write_document
from fleet.geo import M_PER_DEG_LAT, m_per_deg_lon
from fleet.models import NEV_ENERGIES, Organisation, Place

#: Cars are dated relative to this day, so a seed always gives the same fleet.
REFERENCE_DATE = date(2026, 1, 1)
#: Metres per degree of longitude at the city's latitude (34.6 N).
M_PER_DEG_LON = m_per_deg_lon(34.6)

CITY = ("320700", "连云港市", 34.596, 119.222)

#: Districts and counties: code, name, centre (lat, lon), townships (real names, 10 each).
COUNTIES: tuple[tuple[str, str, float, float, tuple[str, ...]], ...] = (
    ("320706", "海州区", 34.572, 119.163, ("海州街道", "幸福路街道", "朐阳街道", "洪门街道", "新海街道",
                                         "新南街道", "路南街道", "新东街道", "锦屏镇", "板浦镇")),
    ("320703", "连云区", 34.760, 119.366, ("墟沟街道", "连云街道", "云山街道", "板桥街道", "连岛街道",
                                         "徐圩街道", "朝阳街道", "宿城街道", "高公岛街道", "中云街道")),
    ("320707", "赣榆区", 34.841, 119.128, ("青口镇", "柘汪镇", "石桥镇", "金山镇", "黑林镇",
                                         "厉庄镇", "海头镇", "塔山镇", "赣马镇", "班庄镇")),
    ("320722", "东海县", 34.542, 118.771, ("牛山街道", "石榴街道", "白塔埠镇", "黄川镇", "石梁河镇",
                                         "青湖镇", "温泉镇", "双店镇", "桃林镇", "洪庄镇")),
    ("320723", "灌云县", 34.284, 119.239, ("伊山镇", "杨集镇", "燕尾港镇", "同兴镇", "四队镇",
                                         "圩丰镇", "龙苴镇", "下车镇", "图河镇", "东王集镇")),
    ("320724", "灌南县", 34.087, 119.315, ("新安镇", "堆沟港镇", "田楼镇", "北陈集镇", "张店镇",
                                         "三口镇", "孟兴庄镇", "汤沟镇", "百禄镇", "新集镇")),
)

CITY_AGENCIES = (
    "市机关事务管理局", "市委办公室", "市政府办公室", "市纪委监委", "市发展和改革委员会", "市教育局",
    "市科学技术局", "市工业和信息化局", "市公安局", "市民政局", "市司法局", "市财政局",
    "市人力资源和社会保障局", "市自然资源和规划局", "市生态环境局", "市住房和城乡建设局", "市交通运输局",
    "市水利局", "市农业农村局", "市商务局", "市文化广电和旅游局", "市卫生健康委员会", "市退役军人事务局",
    "市应急管理局", "市审计局", "市市场监督管理局", "市统计局", "市医疗保障局", "市城市管理局", "市信访局",
)
COUNTY_AGENCIES = (
    "机关事务管理局", "委办公室", "政府办公室", "纪委监委", "发展和改革局", "教育局", "公安局",
    "财政局", "自然资源和规划局", "住房和城乡建设局", "交通运输局", "卫生健康委员会",
)
#: Township-level agencies go to every township but each ``TOWNSHIP_AGENCY_SKIP``-th.
TOWNSHIP_AGENCY = "便民服务中心"
TOWNSHIP_AGENCY_SKIP = 5

#: Pool cars owned by the city's and each county's vehicle service centre, and by townships.
CITY_POOL_CARS = 180
COUNTY_POOL_CARS = 60
TOWNSHIP_POOL_CARS = 1

#: The municipality's rough boundary, [lon, lat] degrees (the allowed area).
CITY_BOUNDARY = (
    (118.40, 34.45), (118.60, 34.75), (118.85, 35.05), (119.25, 35.10), (119.35, 34.95),
    (119.65, 34.80), (119.85, 34.55), (119.60, 34.35), (119.55, 34.05), (119.40, 33.90),
    (119.05, 33.93), (118.85, 34.25), (118.40, 34.45),
)

#: Venues where an official car must not be parked: (name, category, lat, lon); more are
#: generated around the county seats.
KNOWN_VENUES = (
    ("花果山风景区", "scenic", 34.641, 119.272),
    ("连岛海滨浴场", "scenic", 34.763, 119.437),
    ("孔望山景区", "scenic", 34.598, 119.196),
    ("渔湾景区", "scenic", 34.671, 119.317),
    ("苏马湾生态园", "scenic", 34.754, 119.469),
    ("大伊山景区", "scenic", 34.326, 119.262),
)
GENERATED_VENUES = (
    ("KTV", "entertainment"), ("洗浴中心", "entertainment"), ("会所", "entertainment"),
    ("大酒店", "restaurant"), ("海鲜城", "restaurant"), ("私房菜馆", "restaurant"),
    ("名苑小区", "residential"), ("花园小区", "residential"), ("高尔夫练习场", "other"),
    ("棋牌室", "other"),
)
VENUES_PER_COUNTY = 4

#: Places the city's staff often ask to be driven to: (name, lat, lon, address), degrees.
COMMON_DESTINATIONS = (
    ("市政府", 34.5967, 119.2218, "海州区朝阳东路 6 号"),
    ("市人民医院", 34.6012, 119.1795, "海州区通灌北路 182 号"),
    ("市中医院", 34.5842, 119.1768, "海州区朝阳中路 160 号"),
    ("连云港站", 34.5555, 119.1432, "海州区锦屏镇连云港站"),
    ("花果山机场", 34.4420, 119.1890, "灌云县小伊乡花果山国际机场"),
    ("市体育中心", 34.5850, 119.2075, "海州区瀛洲南路 1 号"),
    ("市会议中心", 34.6003, 119.2310, "海州区朝阳东路 28 号"),
    ("市政务服务中心", 34.6035, 119.2402, "海州区海连东路 2 号"),
    ("市图书馆", 34.5941, 119.1903, "海州区郁洲南路 20 号"),
    ("市博物馆", 34.5946, 119.2257, "海州区朝阳东路 68 号"),
    ("连云港港务大楼", 34.7421, 119.4478, "连云区中华西路 18 号"),
    ("徐圩新区管委会", 34.5830, 119.5520, "连云区徐圩街道港前大道"),
)
#: Streets that offices stand on, by district or county code (the city's agencies: 海州区).
OFFICE_STREETS = {
    "320706": ("朝阳东路", "海连中路", "通灌北路", "郁洲南路", "苍梧路"),
    "320703": ("中山西路", "海棠北路", "墟中路"),
    "320707": ("黄海路", "青口路", "海州路"),
    "320722": ("牛山北路", "和平东路", "晶都大道"),
    "320723": ("伊山北路", "人民中路", "胜利路"),
    "320724": ("人民路", "新港大道", "长江路"),
}

#: Vehicle classes: share of the fleet, seats choices, price range in CNY.
CLASSES = {
    "sedan": (0.70, (5,), (120_000, 180_000)),
    "suv": (0.09, (5, 7), (160_000, 250_000)),
    "mpv": (0.10, (7,), (180_000, 300_000)),
    "minibus": (0.07, (11, 15, 19), (220_000, 400_000)),
    "bus": (0.02, (23, 33, 45), (400_000, 900_000)),
    "special": (0.02, (2, 5, 9), (250_000, 600_000)),
}
#: Drivers' daily shifts, local time: the day shift, early and late shifts, and the night
#: duty (值班) of the service centre, split at midnight into its two halves.
SHIFTS = ((time(7, 30), time(17, 30)), (time(6, 0), time(14, 0)), (time(13, 0), time(22, 0)),
          (time(0, 0), time(8, 0)), (time(16, 0), time(23, 59)))
SHIFT_WEIGHTS = (0.62, 0.13, 0.13, 0.06, 0.06)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌海波宁兵峰东辉健亮成龙"
#: World manufacturer identifiers of makers common in Chinese official fleets.
WMIS = ("LSV", "LFV", "LSG", "LVH", "LHG", "LGB", "LFP", "LNB", "LGX", "LC0")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
#: Letters of ordinary plates: no I or O, and no D or F, which mark new-energy plates.
PLATE_LETTERS = "ABCEGHJKLMNPQRSTUVWXYZ"
DEMO_PASSWORD_SUFFIX = "-demo-2021"


class AlreadySeeded(RuntimeError):
    """The database already holds an organisation tree; the seed only fills an empty one."""


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    org: str


def seed_database(url: str, *, seed: int = 2021, progress: bool = False) -> dict[str, Any]:
    """Create the schema at ``url`` if needed and import the synthetic Lianyungang fleet.

    Refuses (:class:`AlreadySeeded`) when the database already has organisations. Returns
    ``{"counts": {kind: n}, "logins": [{"username", "password", "role", "org"}],
    "seconds": elapsed wall time}``; the logins are demo accounts with published passwords.
    """
    started = clock.perf_counter()
    with _stages(progress) as stage:
        stage("Upgrading the database schema")
        upgrade(url)
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                if session.exec(select(Organisation.id).limit(1)).first() is not None:
                    raise AlreadySeeded(
                        "the database already has organisations; seed an empty database "
                        "(for example a new FLEET_DATABASE_URL) or import with `fleet import`"
                    )
                stage("Building the synthetic fleet")
                document, logins = build_seed_document(seed)
                stage("Validating the fleet document")
                validated = validate_document(document, session)
                stage("Writing the fleet")
                counts = write_document(session, validated, actor="seed")
                stage("Writing the named places")
                counts["places"] = _write_places(session, build_seed_places(document, seed))
        finally:
            engine.dispose()
        stage("Done")
    return {
        "counts": counts,
        "logins": [login.__dict__ for login in logins],
        "seconds": round(clock.perf_counter() - started, 2),
    }


@contextmanager
def _stages(show: bool) -> Iterator[Any]:
    """A ``stage(description)`` callback that advances a rich progress bar when ``show``."""
    stage_count = 6
    if not show:
        yield lambda _description: None
        return
    with Progress(transient=False) as bar:
        task = bar.add_task("Seeding", total=stage_count)
        started = False

        def stage(description: str) -> None:
            nonlocal started
            bar.update(task, description=description, advance=1 if started else 0)
            started = True

        yield stage
        bar.update(task, completed=stage_count)


def build_seed_document(seed: int = 2021) -> tuple[dict[str, Any], list[DemoLogin]]:
    """The synthetic fleet as a fleet document, and its demo logins."""
    return _Builder(np.random.default_rng(seed)).build()


def build_seed_places(document: dict[str, Any], seed: int = 2021) -> list[dict[str, Any]]:
    """The named places of the seeded fleet ``document``: every agency's office, every depot,
    the county seats and the city's common destinations, as ``{name, kind, org (code), lat,
    lon, address}`` (degrees). The offices are placed by their own generator, so the fleet
    itself stays what it was."""
    rng = np.random.default_rng([seed, 7])
    orgs = {o["code"]: o for o in document["organisations"]}
    depots = {f["properties"]["org"]: f for f in document["depots"]["features"]}
    centres = {code: (lat, lon) for code, _, lat, lon, _ in COUNTIES}
    city = CITY[0]
    places = []
    for org in document["organisations"]:
        if org["level"] != "agency":
            continue
        parent = orgs[org["parent"]]
        if parent["level"] == "township":
            lon, lat = depots[parent["code"]]["geometry"]["coordinates"]
            lat, lon = _point_near(rng, lat, lon, 50, 300)
            street = f"{parent['name']}政府旁"
        else:
            in_county = parent["level"] == "county"
            county = parent["code"] if in_county else COUNTIES[0][0]  # the city's agencies sit in 海州区
            lat, lon = centres[county] if in_county else (CITY[2], CITY[3])
            lat, lon = _point_near(rng, lat, lon, 200, 3_000)
            streets = OFFICE_STREETS[county]
            street = f"{orgs[county]['name']}{streets[int(rng.integers(len(streets)))]} {int(rng.integers(1, 300))} 号"
        places.append({"name": org["name"], "kind": "office", "org": org["code"], "lat": lat, "lon": lon,
                       "address": street})
    for feature in document["depots"]["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        props = feature["properties"]
        places.append({"name": props["name"], "kind": "depot", "org": props["org"], "lat": lat, "lon": lon,
                       "address": props.get("address", "")})
    for code, name, lat, lon, _ in COUNTIES:
        places.append({"name": f"{name}人民政府", "kind": "county_seat", "org": city, "lat": lat, "lon": lon,
                       "address": f"{name}政府驻地"})
    for name, lat, lon, address in COMMON_DESTINATIONS:
        places.append({"name": name, "kind": "destination", "org": city, "lat": lat, "lon": lon, "address": address})
    return places


def _point_near(rng: np.random.Generator, lat: float, lon: float, min_m: float, max_m: float) -> tuple[float, float]:
    """A point between ``min_m`` and ``max_m`` metres from (lat, lon), degrees."""
    distance = rng.uniform(min_m, max_m)
    bearing = rng.uniform(0, 2 * np.pi)
    return (round(float(lat + distance * np.cos(bearing) / M_PER_DEG_LAT), 6),
            round(float(lon + distance * np.sin(bearing) / M_PER_DEG_LON), 6))


def _write_places(session: Session, places: list[dict[str, Any]]) -> int:
    """Insert the named places (their organisations by code); returns how many."""
    org_ids = dict(session.exec(select(Organisation.code, Organisation.id)).all())
    session.add_all([Place(**{k: v for k, v in p.items() if k != "org"}, org_id=org_ids[p["org"]]) for p in places])
    session.flush()
    return len(places)


class _Builder:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.orgs: list[dict[str, Any]] = []
        self.depots: list[dict[str, Any]] = []
        self.sites: list[dict[str, Any]] = []
        self.zones: list[dict[str, Any]] = []
        self.vehicles: list[dict[str, Any]] = []
        self.drivers: list[dict[str, Any]] = []
        self.plates: set[str] = set()
        self.vins: set[str] = set()

    def build(self) -> tuple[dict[str, Any], list[DemoLogin]]:
        pools = self._organisations()
        lessors = self._lessors()
        for owner, lat, lon, cars in pools:
            depot = self._depot(owner, lat, lon)
            self._cars(owner, depot, cars)
        self._leased_cars(lessors)
        self._zones()
        logins = self._logins()
        self.drivers[0]["user"] = "driver"
        document = {
            "format": FORMAT,
            "organisations": self.orgs,
            "lessors": lessors,
            "depots": _collection(self.depots),
            "parking_sites": _collection(self.sites),
            "zones": _collection(self.zones),
            "users": [
                {"username": l.username, "password": l.password, "role": l.role, "org": l.org,
                 "full_name": f"演示用户（{l.role}）"}
                for l in logins
            ],
            "drivers": self.drivers,
            "vehicles": self.vehicles,
        }
        return document, logins

    # -- organisations ------------------------------------------------------------------
    def _organisations(self) -> list[tuple[str, float, float, int]]:
        """The tree; returns the car-owning organisations as (code, lat, lon, cars)."""
        city_code, city_name, city_lat, city_lon = CITY
        self._org(city_code, city_name, "city", None)
        pools = []
        for index, name in enumerate(CITY_AGENCIES, start=1):
            self._org(f"{city_code}-A{index:02d}", name, "agency", city_code)
        pools.append((f"{city_code}-A01", city_lat, city_lon, CITY_POOL_CARS))
        for county_code, county_name, lat, lon, townships in COUNTIES:
            self._org(county_code, county_name, "county", city_code)
            for index, name in enumerate(COUNTY_AGENCIES, start=1):
                self._org(f"{county_code}-A{index:02d}", f"{county_name}{name}", "agency", county_code)
            pools.append((f"{county_code}-A01", lat, lon, COUNTY_POOL_CARS))
            for index, name in enumerate(townships, start=1):
                code = f"{county_code}{index:03d}"
                self._org(code, name, "township", county_code)
                if index % TOWNSHIP_AGENCY_SKIP:
                    self._org(f"{code}-A01", f"{name}{TOWNSHIP_AGENCY}", "agency", code)
                t_lat, t_lon = self._near(lat, lon, 3_000, 12_000)
                pools.append((code, t_lat, t_lon, TOWNSHIP_POOL_CARS))
        return pools

    def _org(self, code: str, name: str, level: str, parent: str | None) -> None:
        record = {"code": code, "name": name, "level": level}
        if parent is not None:
            record["parent"] = parent
        self.orgs.append(record)

    def _near(self, lat: float, lon: float, min_m: float, max_m: float) -> tuple[float, float]:
        """A point between ``min_m`` and ``max_m`` metres from (lat, lon), degrees."""
        return _point_near(self.rng, lat, lon, min_m, max_m)

    # -- places -------------------------------------------------------------------------
    def _depot(self, owner: str, lat: float, lon: float) -> str:
        org_name = next(o["name"] for o in self.orgs if o["code"] == owner)
        name = f"{org_name}车库"
        self.depots.append(_feature({"type": "Point", "coordinates": [lon, lat]},
                                    {"name": name, "org": owner, "address": f"{org_name}院内"}))
        site_lat, site_lon = lat + 60 / M_PER_DEG_LAT, lon
        self.sites.append(_feature(_rectangle(site_lat, site_lon, 100, 60),
                                   {"name": f"{org_name}定点停车场", "org": owner, "depot": name}))
        return name

    def _zones(self) -> None:
        city = CITY[0]
        self.zones.append(_feature({"type": "Polygon", "coordinates": [[list(p) for p in CITY_BOUNDARY]]},
                                   {"name": "连云港市行政区域", "org": city, "kind": "allowed_area"}))
        venues = list(KNOWN_VENUES)
        for _, county_name, lat, lon, _ in COUNTIES:
            picks = self.rng.choice(len(GENERATED_VENUES), size=VENUES_PER_COUNTY, replace=False)
            for pick in picks:
                label, category = GENERATED_VENUES[pick]
                v_lat, v_lon = self._near(lat, lon, 500, 6_000)
                venues.append((f"{county_name}{label}", category, v_lat, v_lon))
        for name, category, lat, lon in venues:
            size_m = 400 if category == "scenic" else float(self.rng.uniform(50, 150))
            self.zones.append(_feature(_rectangle(lat, lon, size_m, size_m * 0.8),
                                       {"name": name, "org": city, "kind": "forbidden_venue", "category": category}))

    # -- vehicles and drivers -----------------------------------------------------------
    def _cars(self, owner: str, depot: str, count: int) -> None:
        classes = list(CLASSES)
        shares = np.array([CLASSES[c][0] for c in classes])
        for _ in range(count):
            vehicle_class = classes[self.rng.choice(len(classes), p=shares / shares.sum())]
            vehicle = self._vehicle(owner, vehicle_class)
            vehicle |= {"home_depot": depot, "parking_site": self.sites[-1]["properties"]["name"]}
            self.vehicles.append(vehicle)
            self._driver(owner, depot, vehicle_class)

    def _vehicle(self, owner: str, vehicle_class: str, energy: str | None = None) -> dict[str, Any]:
        """A car of ``vehicle_class``; its energy drawn by purchase year unless given."""
        rng = self.rng
        age_years = int(rng.choice(16, p=_AGE_WEIGHTS))
        purchase = REFERENCE_DATE - timedelta(days=int(age_years * 365.25 + rng.integers(1, 365)))
        energy = energy or self._energy(vehicle_class, purchase.year)
        _, seat_choices, (low, high) = CLASSES[vehicle_class]
        km_per_year = rng.uniform(10_000, 25_000) * (0.7 if energy == "bev" else 1.0)
        in_use_years = max((REFERENCE_DATE - purchase).days / 365.25, 0.05)
        status = "retired" if age_years >= 15 and rng.random() < 0.3 else (
            "maintenance" if rng.random() < 0.03 else "available")
        vehicle: dict[str, Any] = {
            "plate": self._plate(energy),
            "vin": self._vin(purchase.year),
            "org": owner,
            "vehicle_class": vehicle_class,
            "seats": int(rng.choice(seat_choices)),
            "energy": energy,
            "purchase_date": purchase.isoformat(),
            "purchase_price_cny": float(round(rng.uniform(low, high), -2)),
            "odometer_km": float(round(km_per_year * in_use_years, 1)),
            "status": status,
            "gps_device_id": f"86{len(self.vins):013d}",
        }
        if energy != "bev":
            vehicle["emission_standard"] = _emission_standard(purchase)
        if energy in NEV_ENERGIES:
            vehicle["battery_range_km"] = float(rng.integers(380, 620) if energy == "bev" else rng.integers(50, 120))
        return vehicle

    def _energy(self, vehicle_class: str, year: int) -> str:
        """Mostly petrol; a new-energy share that grows from 2016 to 60 % in 2025."""
        rng = self.rng
        if vehicle_class in ("bus", "special"):
            return "diesel" if rng.random() < 0.8 else "bev"
        if rng.random() < float(np.clip(0.06 * (year - 2015), 0.0, 0.6)):
            return "bev" if rng.random() < 0.7 else "phev"
        return "hev" if rng.random() < 0.08 else "petrol"

    def _plate(self, energy: str) -> str:
        rng = self.rng
        while True:
            if energy in NEV_ENERGIES:
                plate = "苏G" + ("D" if energy == "bev" else "F") + "".join(rng.choice(list("0123456789"), 5))
            else:
                chars = list(rng.choice(list("0123456789"), 5))
                if rng.random() < 0.5:
                    chars[int(rng.integers(0, 5))] = str(rng.choice(list(PLATE_LETTERS)))
                plate = "苏G" + "".join(chars)
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def _vin(self, model_year: int) -> str:
        while True:
            body = str(self.rng.choice(WMIS)) + "".join(self.rng.choice(list(VIN_CHARS), 14))
            vin = vin_with_check_digit(body[:9] + _model_year_code(model_year) + body[10:])
            if vin not in self.vins:
                self.vins.add(vin)
                return vin

    def _driver(self, owner: str, depot: str, vehicle_class: str) -> None:
        rng = self.rng
        licence = {"bus": "A1", "minibus": "B1", "special": "B2"}.get(vehicle_class, "C1")
        start, end = SHIFTS[int(rng.choice(len(SHIFTS), p=SHIFT_WEIGHTS))]
        self.drivers.append({
            "name": str(rng.choice(list(SURNAMES))) + "".join(rng.choice(list(GIVEN), int(rng.integers(1, 3)))),
            "org": owner,
            "licence_class": licence,
            "phone": "1" + str(rng.choice(["33", "35", "38", "39", "51", "58", "77", "87"])) + f"{int(rng.integers(0, 10**8)):08d}",
            "shift_start": start.isoformat(),
            "shift_end": end.isoformat(),
            "home_depot": depot,
        })

    # -- lessors --------------------------------------------------------------------------
    def _lessors(self) -> list[dict[str, Any]]:
        names = ("连云港港城汽车租赁有限公司", "江苏苏北出行汽车服务有限公司", "连云港新能源汽车租赁有限公司")
        lessors = []
        for index, name in enumerate(names):
            lat, lon = self._near(CITY[2], CITY[3], 1_000, 8_000)
            factor = 1.0 + 0.08 * index
            nev_only = index == 2
            tariffs = [
                {"vehicle_class": cls, "seats": seats, "energy": energy,
                 "base_cny": round(base * factor, 2), "per_km_cny": round(per_km * factor, 2),
                 "per_hour_cny": round(per_hour * factor, 2), "max_vehicles": capacity}
                for cls, seats, energy, base, per_km, per_hour, capacity in _TARIFFS
                if not nev_only or energy == "bev"
            ]
            lessors.append({
                "name": name, "org": CITY[0], "contract_start": "2024-01-01", "contract_end": "2028-12-31",
                "lat": lat, "lon": lon, "shift_start": "06:30:00", "shift_end": "22:30:00",
                "phone": f"0518-8{index + 1}66{int(self.rng.integers(1000, 10000))}", "tariffs": tariffs,
            })
        return lessors

    def _leased_cars(self, lessors: list[dict[str, Any]]) -> None:
        """A few long-term leased sedans at the city's vehicle service centre."""
        owner = f"{CITY[0]}-A01"
        for lessor in lessors:
            for _ in range(LEASED_CARS_PER_LESSOR):
                energies = sorted({t["energy"] for t in lessor["tariffs"] if t["vehicle_class"] == "sedan"})
                vehicle = self._vehicle(owner, "sedan", str(self.rng.choice(energies)))
                vehicle |= {"ownership": "leased", "lessor": lessor["name"], "status": "available",
                            "hire_windows": [_contract_hire(lessor)]}
                self.vehicles.append(vehicle)

    def _logins(self) -> list[DemoLogin]:
        city, service_centre, education = CITY[0], f"{CITY[0]}-A01", f"{CITY[0]}-A06"
        orgs = {"admin": city, "dispatcher": city, "driver": service_centre,
                "requester": education, "approver": city, "auditor": city,
                "planner": city}
        return [DemoLogin(role, f"{role}{DEMO_PASSWORD_SUFFIX}", role, org) for role, org in orgs.items()]


LEASED_CARS_PER_LESSOR = 3


def _contract_hire(lessor: dict[str, Any]) -> dict[str, str]:
    """A long-term lease over the lessor's whole contract: local midnights (UTC+8) from its
    first day to the day after its last."""
    ends = date.fromisoformat(lessor["contract_end"]) + timedelta(days=1)
    return {"starts_at": f"{lessor['contract_start']}T00:00:00+08:00", "ends_at": f"{ends.isoformat()}T00:00:00+08:00",
            "note": f"long-term lease, contract {lessor['contract_start']} to {lessor['contract_end']}"}
#: Relative frequency of car ages 0..15 years: steady purchases, fewer very old cars.
_AGE_WEIGHTS = np.array([6, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 5, 5, 4, 3, 3], dtype=float)
_AGE_WEIGHTS /= _AGE_WEIGHTS.sum()
#: Lessor tariffs: class, seats, energy, base CNY/day, CNY/km, CNY/hour, cars per day.
_TARIFFS = (
    ("sedan", 5, "petrol", 180.0, 1.6, 35.0, 20),
    ("sedan", 5, "bev", 160.0, 1.2, 35.0, 15),
    ("mpv", 7, "petrol", 260.0, 2.2, 45.0, 8),
    ("mpv", 7, "bev", 240.0, 1.8, 45.0, 6),
    ("minibus", 19, "diesel", 420.0, 3.0, 60.0, 4),
    ("bus", 45, "diesel", 800.0, 5.0, 90.0, 2),
)


def _emission_standard(purchase: date) -> str:
    """The China standard in force in Jiangsu for a car bought on ``purchase``."""
    if purchase < date(2011, 1, 1):
        return "china3"
    if purchase < date(2016, 1, 1):
        return "china4"
    if purchase < date(2019, 7, 1):
        return "china5"
    return "china6"


_VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9))),
               **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10)))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 2010 ... 2039


def vin_with_check_digit(vin: str) -> str:
    """``vin`` (17 characters) with position 9 set to its ISO 3779 check digit."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    check = "X" if total % 11 == 10 else str(total % 11)
    return vin[:8] + check + vin[9:]


def _model_year_code(year: int) -> str:
    return _YEAR_CODES[(year - 2010) % len(_YEAR_CODES)]


def _rectangle(lat: float, lon: float, width_m: float, height_m: float) -> dict[str, Any]:
    """An axis-aligned GeoJSON rectangle centred on (lat, lon), sides in metres."""
    dx, dy = width_m / 2 / M_PER_DEG_LON, height_m / 2 / M_PER_DEG_LAT
    ring = [[lon - dx, lat - dy], [lon + dx, lat - dy], [lon + dx, lat + dy], [lon - dx, lat + dy], [lon - dx, lat - dy]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}
