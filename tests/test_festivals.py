"""Festival dates: lunar festivals, solar terms and Gregorian holidays, the page and the JSON."""

from datetime import date

import pytest
from flask_babel import force_locale
from lunar_python import Lunar, LunarYear, Solar

from inclusive_day.activities.festivals import (
    FESTIVALS,
    MAX_YEAR,
    MIN_YEAR,
    FestivalError,
    FestivalKind,
    NotInYearError,
    UnknownFestivalError,
    YearOutOfRangeError,
    festival_choices,
    festival_date,
    festival_dates,
    festival_year,
    lunar_month_day,
    lunar_text,
    parse_year,
)
from inclusive_day.auth.models import Role
from inclusive_day.periods import local_today

ALL_YEARS = range(MIN_YEAR, MAX_YEAR + 1)
# Gregorian years with no Laba: the lunar year before had its Laba on 29-31 December and the
# next lunar year, with a leap month, has it in the January after.
YEARS_WITHOUT_LABA = (1909, 1928, 1947, 1966, 1974, 1993, 2004, 2023, 2042, 2061, 2069, 2080, 2099)
# Years checked against the library's own lunar conversion (slow): every fifth, and the edges.
SAMPLE_YEARS = sorted(
    set(range(MIN_YEAR, MAX_YEAR + 1, 5)) | {y + d for y in YEARS_WITHOUT_LABA for d in (-1, 0)}
)
# The library's own names (Lunar.getFestivals) for the lunar festivals.
LIBRARY_NAMES = {
    "spring_festival": "春节",
    "lantern": "元宵节",
    "dragon_boat": "端午节",
    "qixi": "七夕节",
    "mid_autumn": "中秋节",
    "double_ninth": "重阳节",
    "laba": "腊八节",
    "new_years_eve": "除夕",
}


def _lunar_of(day: date) -> Lunar:
    return Solar.fromYmd(day.year, day.month, day.day).getLunar()


@pytest.mark.parametrize(
    "code, year, expected",
    [
        ("laba", 2024, date(2024, 1, 18)),  # lunar 2023-12-08
        ("lantern", 2024, date(2024, 2, 24)),
        ("spring_festival", 2025, date(2025, 1, 29)),
        ("new_years_eve", 2025, date(2025, 1, 28)),  # a 29-day 12th month
        ("new_years_eve", 2023, date(2023, 1, 21)),  # a 30-day 12th month
        ("dragon_boat", 2025, date(2025, 5, 31)),
        ("qixi", 2025, date(2025, 8, 29)),
        ("mid_autumn", 2026, date(2026, 9, 25)),
        ("double_ninth", 2025, date(2025, 10, 29)),
        ("little_new_year", 2025, date(2025, 1, 22)),
        ("lixia", 2025, date(2025, 5, 5)),
        ("dongzhi", 2025, date(2025, 12, 21)),
        ("lichun", 2025, date(2025, 2, 3)),
        ("qingming", 2024, date(2024, 4, 4)),
        ("new_year", 2025, date(2025, 1, 1)),
        ("womens_day", 2025, date(2025, 3, 8)),
        ("labour_day", 2025, date(2025, 5, 1)),
        ("national_day", 2025, date(2025, 10, 1)),
    ],
)
def test_published_dates(code, year, expected):
    assert festival_date(code, year) == expected


@pytest.mark.parametrize(
    "code, expected", [("xiaohan", date(2026, 1, 5)), ("dahan", date(2026, 1, 20))]
)
def test_the_january_terms_of_the_requested_year(code, expected):
    # The library's table for 2026 also holds January 2027's (keyed XIAO_HAN, DA_HAN).
    assert festival_date(code, 2026) == expected


@pytest.mark.parametrize(
    "code, year, expected, leap",
    [
        ("dragon_boat", 2023, date(2023, 6, 22), 2),  # after a leap 2nd month
        ("mid_autumn", 2023, date(2023, 9, 29), 2),
        ("double_ninth", 2023, date(2023, 10, 23), 2),
        ("mid_autumn", 2025, date(2025, 10, 6), 6),  # after a leap 6th month
        ("double_ninth", 2025, date(2025, 10, 29), 6),
        ("dragon_boat", 2020, date(2020, 6, 25), 4),
        ("dragon_boat", 2009, date(2009, 5, 28), 5),  # the 5th month, not the leap 5th
        ("qixi", 2006, date(2006, 7, 31), 7),
        ("mid_autumn", 1995, date(1995, 9, 9), 8),
    ],
)
def test_leap_months(code, year, expected, leap):
    assert LunarYear.fromYear(year).getLeapMonth() == leap
    assert festival_date(code, year) == expected


def test_a_leap_month_is_named_as_one(app):
    day = date(2025, 7, 25)  # lunar 2025, leap 6th month, 1st day
    assert lunar_month_day(day) == (-6, 1)
    with force_locale("zh"):
        assert lunar_text(day) == "闰六月初一"
    with force_locale("en"):
        assert lunar_text(day) == "leap month 6, day 1"


def test_lunar_text_in_both_languages(app):
    with force_locale("zh"):
        assert lunar_text(date(2024, 1, 18)) == "腊月初八"
        assert lunar_text(date(2024, 12, 21)) == "冬月廿一"
        assert lunar_text(date(2025, 1, 29)) == "正月初一"
    with force_locale("en"):
        assert lunar_text(date(2024, 1, 18)) == "month 12, day 8"


def test_new_years_eve_is_the_last_day_of_the_12th_month_whatever_its_length():
    lengths = set()
    for year in range(2000, 2041):
        eve = festival_date("new_years_eve", year)
        lunar = _lunar_of(eve)
        lengths.add(lunar.getDay())
        assert abs(lunar.getMonth()) == 12
        assert lunar.getDay() == LunarYear.fromYear(lunar.getYear()).getMonth(12).getDayCount()
        assert "除夕" in lunar.getFestivals()
        assert festival_date("spring_festival", year) == date.fromordinal(eve.toordinal() + 1)
    assert lengths == {29, 30}


def test_a_year_with_two_labas_gives_the_first_and_shows_both(app):
    # Lunar 2021-12-08 is 2022-01-10; lunar 2022's 12th month starts on 23 December.
    assert festival_date("laba", 2022) == date(2022, 1, 10)
    assert Lunar.fromYmd(2022, 12, 8).getSolar().toYmd() == "2022-12-30"
    laba = next(
        r for r in festival_year(2022, date(2022, 6, 1)).festivals if r.festival.code == "laba"
    )
    assert laba.date == date(2022, 1, 10)
    assert laba.also == (date(2022, 12, 30),)


def test_a_year_with_no_laba_is_an_error_with_a_clear_message(app):
    # Lunar 2022's Laba is 2022-12-30, and lunar 2023 (a leap 2nd month) has it on 2024-01-18.
    assert Lunar.fromYmd(2023, 12, 8).getSolar().toYmd() == "2024-01-18"
    with pytest.raises(NotInYearError) as caught:
        festival_date("laba", 2023)
    with force_locale("en"):
        assert str(caught.value) == "Laba Festival does not fall in 2023."
    assert isinstance(caught.value, FestivalError)
    assert "laba" not in {f.code for f, _ in festival_dates(2023)}
    missed = festival_year(2023, date(2023, 6, 1)).missing
    assert [(m.festival.code, m.before, m.after) for m in missed] == [
        ("laba", date(2022, 12, 30), date(2024, 1, 18))
    ]


def test_the_twelfth_month_edge_happens_only_where_found():
    """Only Laba misses a year, in these years, and falls twice in the years before them."""
    missing, twice = [], []
    for year in ALL_YEARS:
        for code in ("little_new_year", "new_years_eve"):
            assert festival_date(code, year).month in (1, 2)
        rows = {r.festival.code: r for r in festival_year(year, date(year, 1, 1)).festivals}
        if "laba" not in rows:
            missing.append(year)
            with pytest.raises(NotInYearError):
                festival_date("laba", year)
            assert Lunar.fromYmd(year - 1, 12, 8).getSolar().getMonth() == 12
            assert LunarYear.fromYear(year).getLeapMonth() > 0
            continue
        laba = rows["laba"]
        assert festival_date("laba", year) == laba.date
        assert laba.date.month == 1
        if laba.also:
            twice.append(year)
            assert [d.month for d in laba.also] == [12]
    assert tuple(missing) == YEARS_WITHOUT_LABA
    assert tuple(twice) == tuple(y - 1 for y in YEARS_WITHOUT_LABA)


def test_every_festival_resolves_inside_every_supported_year():
    for year in ALL_YEARS:
        pairs = festival_dates(year)
        codes = [f.code for f, _ in pairs]
        expected = len(FESTIVALS) - (year in YEARS_WITHOUT_LABA)
        assert len(codes) == len(set(codes)) == expected, year
        assert all(day.year == year for _, day in pairs), year
        assert [day for _, day in pairs] == sorted(day for _, day in pairs)
        for festival, day in pairs:
            assert festival_date(festival.code, year) == day


def test_lunar_festivals_agree_with_the_library():
    lunar = [f for f in FESTIVALS if f.kind == FestivalKind.LUNAR]
    for year in SAMPLE_YEARS:
        for festival, day in festival_dates(year):
            if festival.kind != FestivalKind.LUNAR:
                continue
            library = _lunar_of(day)
            if festival.code in LIBRARY_NAMES:
                assert LIBRARY_NAMES[festival.code] in library.getFestivals(), (festival, day)
            if festival.code != "new_years_eve":
                assert (library.getMonth(), library.getDay()) == (festival.month, festival.day)
                expected = Lunar.fromYmd(library.getYear(), festival.month, festival.day)
                assert expected.getSolar().toYmd() == day.isoformat()
    assert len(lunar) == 9


def test_solar_terms_agree_with_the_library():
    terms = [f for f in FESTIVALS if f.kind == FestivalKind.SOLAR_TERM]
    assert len(terms) == 24
    for year in SAMPLE_YEARS:
        for festival, day in festival_dates(year):
            if festival.kind == FestivalKind.SOLAR_TERM:
                assert _lunar_of(day).getJieQi() == festival.term, (festival, day)


@pytest.mark.parametrize("year", [MIN_YEAR - 1, MAX_YEAR + 1, 0, -5])
def test_years_outside_the_range_are_refused(year):
    with pytest.raises(YearOutOfRangeError):
        festival_date("mid_autumn", year)
    with pytest.raises(FestivalError):
        festival_dates(year)


def test_unknown_codes_are_refused(app):
    with pytest.raises(UnknownFestivalError) as caught:
        festival_date("christmas", 2025)
    with force_locale("en"):
        assert str(caught.value) == '"christmas" is not a known festival.'


@pytest.mark.parametrize("text", ["", "abc", "20x5", "2025.5", "１９９９", "1800", "99999999999"])
def test_parse_year_refuses_what_is_not_a_supported_year(text):
    with pytest.raises(YearOutOfRangeError):
        parse_year(text)


def test_parse_year():
    assert parse_year(" 2025 ") == 2025


def test_choices_and_labels(app):
    choices = festival_choices()
    assert len(choices) == len(FESTIVALS) == 37
    assert [code for code, _ in choices[:2]] == ["spring_festival", "lantern"]
    with force_locale("en"):
        labels = {code: str(label) for code, label in choices}
        assert labels["lixia"] == "Start of Summer"
        assert labels["xiaohan"] == "Minor Cold"
        assert labels["mid_autumn"] == "Mid-Autumn Festival"
    assert len({code for code, _ in choices}) == 37


def test_the_json_date(client, make_user, login):
    login(make_user(Role.ADMIN))
    response = client.get("/activities/festivals/laba/2024.json")
    assert response.status_code == 200
    assert response.json == {
        "code": "laba",
        "name": "Laba Festival",
        "date": "2024-01-18",
        "lunar": "month 12, day 8",
    }
    zh = client.get("/activities/festivals/mid_autumn/2026.json", headers={"Accept-Language": "zh"})
    assert zh.json["date"] == "2026-09-25"
    assert zh.json["lunar"] == "八月十五"


@pytest.mark.parametrize(
    "path, status",
    [
        ("/activities/festivals/christmas/2025.json", 404),
        ("/activities/festivals/laba/1800.json", 400),
        ("/activities/festivals/laba/2101.json", 400),
        ("/activities/festivals/laba/2023.json", 404),  # no Laba that year
    ],
)
def test_the_json_errors(client, make_user, login, path, status):
    login(make_user(Role.ADMIN))
    response = client.get(path)
    assert response.status_code == status
    assert response.is_json and response.json["error"]


def test_the_json_needs_a_login(client):
    assert client.get("/activities/festivals/laba/2024.json").status_code == 302
    assert client.get("/activities/festivals").status_code == 302


def test_the_page_in_english(client, make_user, login):
    login(make_user(Role.ADMIN))
    html = client.get("/activities/festivals?year=2024").get_data(as_text=True)
    assert "Festivals and solar terms 2024" in html
    assert 'datetime="2024-01-18"' in html and "Laba Festival" in html
    assert "month 12, day 8" in html
    assert "Start of Summer" in html and "立夏" in html
    assert "?year=2023" in html and "?year=2025" in html


def test_the_page_in_chinese(client, make_user, login):
    login(make_user(Role.ADMIN))
    html = client.get(
        "/activities/festivals?year=2024", headers={"Accept-Language": "zh"}
    ).get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert "腊月初八" in html and "八月十五" in html and "month 12, day 8" not in html
    assert "2024年1月18日" in html and "周四" in html


def test_the_page_marks_a_year_without_laba(client, make_user, login):
    login(make_user(Role.ADMIN))
    html = client.get("/activities/festivals?year=2023").get_data(as_text=True)
    assert "Laba Festival does not fall in 2023" in html
    assert 'id="laba"' not in html


@pytest.mark.parametrize("year", ["1800", "abc", "2101", "-1"])
def test_a_bad_year_shows_a_message_and_this_year(client, make_user, login, year):
    login(make_user(Role.ADMIN))
    response = client.get(f"/activities/festivals?year={year}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Festivals and solar terms {local_today().year}" in html
    assert "alert-warning" in html
