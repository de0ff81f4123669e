"""Time the import of an 11,000-station GBK CSV: parse, check, upsert and commit.

Usage: .venv/bin/python bench/station_import.py [--database-url URL] [--rows N]
Without a URL (or BENCH_DATABASE_URL) it uses a temporary SQLite file; a PostgreSQL URL
names a database of the bench's own, created when missing and emptied first, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/bench_import. Prints one JSON line.

Three imports are timed, each on its own, commit included: the file into an empty
registry (every row new), the same file again (every row unchanged), and the file with
every station's name and hours changed (every row an update).
"""

from __future__ import annotations

import csv
import io
import json
import random
import tempfile
import time

from _shared import arguments, database_name, empty_database, migrated_app
from flask_babel import force_locale
from sqlalchemy import func, select

from inclusive_day.extensions import db
from inclusive_day.stations.geo import Point, wgs84_to_gcj02
from inclusive_day.stations.importing import COLUMNS, import_stations
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Level
from inclusive_day.units.services import create_unit

GOAL_SECONDS = 5.0
ROWS = 11_000

# Yunnan's prefectures with their division codes, centres and a few districts each.
CITIES = [
    (
        "昆明市",
        "5301",
        (25.04, 102.71),
        ["五华区", "盘龙区", "官渡区", "西山区", "呈贡区", "晋宁区"],
    ),
    ("曲靖市", "5303", (25.49, 103.80), ["麒麟区", "沾益区", "马龙区", "陆良县", "师宗县"]),
    ("玉溪市", "5304", (24.35, 102.54), ["红塔区", "江川区", "澄江市", "通海县", "华宁县"]),
    ("保山市", "5305", (25.11, 99.16), ["隆阳区", "施甸县", "龙陵县", "昌宁县", "腾冲市"]),
    ("昭通市", "5306", (27.34, 103.72), ["昭阳区", "鲁甸县", "巧家县", "盐津县", "大关县"]),
    ("丽江市", "5307", (26.86, 100.23), ["古城区", "玉龙县", "永胜县", "华坪县", "宁蒗县"]),
    ("普洱市", "5308", (22.78, 100.97), ["思茅区", "宁洱县", "墨江县", "景东县", "景谷县"]),
    ("临沧市", "5309", (23.88, 100.09), ["临翔区", "凤庆县", "云县", "永德县", "镇康县"]),
    ("楚雄州", "5323", (25.05, 101.53), ["楚雄市", "禄丰市", "双柏县", "牟定县", "南华县"]),
    ("红河州", "5325", (23.36, 103.38), ["个旧市", "开远市", "蒙自市", "弥勒市", "建水县"]),
    ("文山州", "5326", (23.40, 104.24), ["文山市", "砚山县", "西畴县", "麻栗坡县", "马关县"]),
    ("大理州", "5329", (25.61, 100.27), ["大理市", "漾濞县", "祥云县", "宾川县", "弥渡县"]),
]
ROADS = ["人民路", "北京路", "青年路", "东风路", "环城路", "建设路", "文化路", "南屏街", "滇池路"]
PLACES = ["加油站", "营业厅", "银行网点", "社区服务中心", "环卫所", "快递网点", "便利店"]
HOURS = ["08:00-20:00", "24小时", "9:00-18:00", "8:00-12:00，14:00-18:00", "07:30-21:30"]
AMENITIES = ["饮水", "充电", "微波炉", "冰箱", "空调", "卫生间", "座椅", "无线网络", "药箱", "图书"]
STATUSES = ["正常"] * 18 + ["暂停", "关闭"]
HEADERS = ["驿站编码", "驿站名称", "所属工会", "地址", "经度", "纬度", "坐标系", "开放时间"]
HEADERS += ["服务设施", "共建单位", "特色服务", "联系电话", "状态"]


def build_units() -> list[tuple[str, str, str, tuple[float, float]]]:
    """The province, its cities and districts; returns (unit name, code, city, centre)."""
    province = create_unit("云南省总工会", Level.PROVINCE, code="530000")
    districts = []
    for city, code, centre, names in CITIES:
        city_unit = create_unit(f"{city}总工会", Level.CITY, province, code=f"{code}00")
        for n, name in enumerate(names, 1):
            unit_code = f"{code}{n:02d}"
            create_unit(f"{city}{name}总工会", Level.DISTRICT, city_unit, code=unit_code)
            districts.append((f"{city}{name}总工会", unit_code, city + name, centre))
    db.session.commit()
    return districts


def station_csv(districts, rows: int, rename: bool = False) -> bytes:
    """A GBK CSV of `rows` stations spread over the districts, as Excel on Windows saves it."""
    rng = random.Random(20231019)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for i in range(rows):
        unit_name, unit_code, place, (lat, lon) = districts[i % len(districts)]
        road, kind = rng.choice(ROADS), rng.choice(PLACES)
        point = wgs84_to_gcj02(Point(lat + rng.uniform(-0.3, 0.3), lon + rng.uniform(-0.3, 0.3)))
        hours = rng.choice(HOURS)
        name = f"{place}{road}{kind}工会驿站"
        if rename:
            name, hours = name + "（新址）", "06:00-22:00"
        writer.writerow(
            [
                f"YN{unit_code}-{i:05d}",
                name,
                unit_name if i % 3 else unit_code,  # a third by code, as some offices write
                f"云南省{place}{road}{rng.randint(1, 999)}号",
                f"{point.longitude:.6f}",
                f"{point.latitude:.6f}",
                "GCJ-02",
                hours,
                "、".join(rng.sample(AMENITIES, rng.randint(2, 6))),
                f"{place}{kind}" if rng.random() < 0.6 else "",
                "免费饮水、手机充电、应急药品" if rng.random() < 0.5 else "",
                f"0871-6{rng.randint(1000000, 9999999)}",
                rng.choice(STATUSES),
            ]
        )
    return out.getvalue().encode("gbk")


def timed_import(data: bytes) -> tuple[float, object]:
    """One whole import, commit included, on a fresh session."""
    db.session.remove()
    started = time.perf_counter()
    report = import_stations(data, "驿站台账.csv")
    db.session.commit()
    return time.perf_counter() - started, report


def main() -> None:
    """Build the province, write the CSV, import it three ways, print the figures."""
    parser = arguments(__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    assert [c.header for c in COLUMNS if c.header in HEADERS] == HEADERS
    with tempfile.TemporaryDirectory() as tmp:
        url = empty_database(args.database_url, tmp)
        app = migrated_app(url)
        with app.app_context(), force_locale("zh"):
            districts = build_units()
            data = station_csv(districts, args.rows)
            changed = station_csv(districts, args.rows, rename=True)
            first, new = timed_import(data)
            again, same = timed_import(data)
            third, moved = timed_import(changed)
            stations = db.session.scalar(select(func.count(Station.id)))
            db.engine.dispose()
    counts_right = (
        new.ok
        and (new.created, new.encoding) == (args.rows, "gb18030")
        and same.unchanged == args.rows
        and moved.updated == args.rows
        and stations == args.rows
    )
    print(
        json.dumps(
            {
                "bench": "station_import",
                "database": database_name(url),
                "rows": args.rows,
                "units": len(districts) + len(CITIES) + 1,
                "file_mb": round(len(data) / 1024 / 1024, 2),
                "encoding": new.encoding,
                "seconds_new": round(first, 2),
                "seconds_unchanged": round(again, 2),
                "seconds_all_updated": round(third, 2),
                "created": new.created,
                "unchanged": same.unchanged,
                "updated": moved.updated,
                "errors": len(new.errors) + len(same.errors) + len(moved.errors),
                "goal_seconds": GOAL_SECONDS,
                "met": counts_right and max(first, again, third) <= GOAL_SECONDS,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
