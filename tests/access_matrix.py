"""The access matrix: every route of the app, and what each role gets from it.

tests/test_access_matrix.py builds one world (a city with districts A and B, each with a
station, campaign, activity, check-in, sponsor and donation) and asks every URL below as every
role in ROLES. Every rule of `app.url_map` (but `static`) must appear here: a new route
fails `test_every_route_is_in_the_matrix` until it is given an entry.

Adding a route is one entry in CASES:

    Case("activities.show", {"activity_id": W.A.activity}, only(*STATION_A)),

- the endpoint, then the values `url_for` needs (path values and query string), where
  `W.A.activity` stands for the id of district A's activity in the world (every name is
  in `build_world()` in test_access_matrix.py: W.A.unit, W.A.station_code, W.B.campaign,
  W.city_campaign, W.feed_token, W.bystander, ...);
- the answer per role: `only(*roles)` gives those roles OK and the other signed-in roles
  404 (the object exists, but not for them) and a logged-out visitor a 302 to the sign-in
  page; `signed_in()` and `public()` likewise; all take overrides per role, e.g.
  `only(*EDIT_A, sponsor_rep_A=REDIRECT)`. Give every override a one-line comment saying why.
- A page that takes GET and POST: wrap its case in `*with_post(...)`, which adds the same
  URL POSTed with an empty form (refused to whoever GET refuses).
- POST-only routes: `method="POST"` and, if the view needs it, `data={...}` (a form) or
  `json={...}` (both may hold `W.…` names). CSRF is off in TestConfig, so the answer is the
  view's own. `ALLOWED` means "the view ran for an authorised user" (any answer but
  401/403/404/405, a 302 to the sign-in page or a 5xx).
- Token-authenticated JSON routes (/api/v1/... with `Authorization: Bearer`):
  `client=BEARER` and `api_only(...)`/`api_signed_in(...)`, which answer 401 JSON to a
  request without a token and 404 JSON to a token whose user may not see the object.
  Each role's token is made with the API's own `issue_token`.
- More than one case for an endpoint: give each a `label` (it shows in the test id).
- Every method of every rule needs a case: `test_every_route_is_in_the_matrix` lists the
  missing ones, and `test_every_case_names_a_route_its_method_and_every_role` stale ones.

Test ids read `<endpoint>[<label>]-<role>`, e.g. `activities.show-organiser_B`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlsplit

# ---- Roles --------------------------------------------------------------------------------

ADMIN = "admin"
ORGANISER_A = "organiser_A"  # organiser of district A's subtree
VIEWER_A = "viewer_A"  # viewer of district A's subtree
STATION_MANAGER_A = "station_manager_A"  # manager of district A's station
SPONSOR_REP_A = "sponsor_rep_A"  # representative of district A's sponsor
ORGANISER_B = "organiser_B"  # organiser of district B: outside everything of A
LOGGED_OUT = "logged_out"

ROLES = (
    ADMIN,
    ORGANISER_A,
    VIEWER_A,
    STATION_MANAGER_A,
    SPONSOR_REP_A,
    ORGANISER_B,
    LOGGED_OUT,
)
SIGNED_IN = ROLES[:-1]

# Who reaches what of district A, by the access rule (inclusive_day/access/rule.py).
UNIT_A = (ADMIN, ORGANISER_A, VIEWER_A)  # view A's units: grants on A's subtree
EDIT_A = (ADMIN, ORGANISER_A)  # change A's plans and records
RECORD_A = (ADMIN, ORGANISER_A, STATION_MANAGER_A)  # record attendance at A's activities
STATION_A = (*UNIT_A, STATION_MANAGER_A)  # view A's station and its activities
CAMPAIGN_A = (*STATION_A, SPONSOR_REP_A)  # view A's campaign (the sponsor gives to it)
SPONSOR_A = (*UNIT_A, SPONSOR_REP_A)  # view A's sponsor and its donations
UNIT_EDITORS = (ADMIN, ORGANISER_A, ORGANISER_B)  # may edit some unit, wherever


# ---- Answers ------------------------------------------------------------------------------


def _location(response) -> str:
    return response.headers.get("Location", "")


def is_login_redirect(response, path: str) -> bool:
    """A 302 to the sign-in page that comes back to `path` afterwards."""
    if response.status_code != 302:
        return False
    target = urlsplit(_location(response))
    if target.path != "/auth/login":
        return False
    back = parse_qs(target.query).get("next", [""])[0]
    return urlsplit(back).path == urlsplit(path).path


@dataclass(frozen=True)
class Answer:
    """What a response must be; `problem` says what is wrong with one, or None."""

    name: str

    def problem(self, response, path: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Status(Answer):
    """Exactly this status code (and a JSON body, when `json`)."""

    code: int = 200
    json: bool = False

    def problem(self, response, path: str) -> str | None:
        if response.status_code != self.code:
            return f"expected {self.code}, got {response.status_code} {_location(response)}"
        if self.json and not response.is_json:
            return f"expected a JSON {self.code}, got {response.mimetype}"
        return None


@dataclass(frozen=True)
class LoginRedirect(Answer):
    """302 to /auth/login?next=<this page>."""

    def problem(self, response, path: str) -> str | None:
        if is_login_redirect(response, path):
            return None
        return (
            f"expected a 302 to the sign-in page, got {response.status_code} {_location(response)}"
        )


@dataclass(frozen=True)
class Redirect(Answer):
    """A redirect that is not to the sign-in page; to `to` (a path) when given."""

    to: str | None = None

    def problem(self, response, path: str) -> str | None:
        if response.status_code not in (301, 302, 303, 307, 308):
            return f"expected a redirect, got {response.status_code}"
        if is_login_redirect(response, path):
            return "expected a redirect into the app, got one to the sign-in page"
        if self.to is not None and urlsplit(_location(response)).path != self.to:
            return f"expected a redirect to {self.to}, got one to {_location(response)}"
        return None


@dataclass(frozen=True)
class Allowed(Answer):
    """The view ran for an authorised user: anything but a refusal or a crash."""

    def problem(self, response, path: str) -> str | None:
        code = response.status_code
        if code in (401, 403, 404, 405) or code >= 500 or is_login_redirect(response, path):
            return f"expected the view to act, got {code} {_location(response)}"
        return None


OK = Status("200", 200)
NOT_FOUND = Status("404", 404)
LOGIN = LoginRedirect("302 to sign-in")
REDIRECT = Redirect("302")
ALLOWED = Allowed("allowed")
UNAUTHORISED_JSON = Status("401 JSON", 401, json=True)
NOT_FOUND_JSON = Status("404 JSON", 404, json=True)


def status(code: int, json: bool = False) -> Status:
    """Exactly `code`."""
    return Status(f"{code}{' JSON' if json else ''}", code, json)


def redirect_to(path: str) -> Redirect:
    """A redirect to `path` (not the sign-in page)."""
    return Redirect(f"302 to {path}", path)


def only(
    *roles: str, answer: Answer = OK, denied: Answer = NOT_FOUND, logged_out: Answer = LOGIN, **but
) -> dict[str, Answer]:
    """`answer` for `roles`, `denied` for the other signed-in roles, `logged_out` for a
    visitor; keyword overrides per role."""
    table = {role: (answer if role in roles else denied) for role in SIGNED_IN}
    table[LOGGED_OUT] = logged_out
    return _override(table, but)


def signed_in(answer: Answer = OK, **but) -> dict[str, Answer]:
    """Every signed-in role gets `answer`; a visitor is sent to sign in."""
    return only(*SIGNED_IN, answer=answer, **but)


def public(answer: Answer = OK, **but) -> dict[str, Answer]:
    """The same answer for everyone, signed in or not."""
    return _override(dict.fromkeys(ROLES, answer), but)


def api_only(*roles: str, answer: Answer = OK, **but) -> dict[str, Answer]:
    """A bearer-token route: 401 JSON without a token, 404 JSON out of the token user's reach."""
    return only(*roles, answer=answer, denied=NOT_FOUND_JSON, logged_out=UNAUTHORISED_JSON, **but)


def api_signed_in(answer: Answer = OK, **but) -> dict[str, Answer]:
    """A bearer-token route every token opens (lists filtered by the user's reach)."""
    return api_only(*SIGNED_IN, answer=answer, **but)


def _override(table: dict[str, Answer], but: Mapping[str, Answer]) -> dict[str, Answer]:
    unknown = set(but) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; roles are {ROLES}")
    return {**table, **but}


# ---- References into the world ------------------------------------------------------------


class Ref:
    """A name in the world, resolved when the test runs: `W.A.activity`, `W.feed_token`."""

    def __init__(self, path: tuple[str, ...] = ()) -> None:
        self._path = path

    def __getattr__(self, name: str) -> Ref:
        if name.startswith("_"):
            raise AttributeError(name)
        return Ref((*self._path, name))

    def resolve(self, world):
        """The value this reference names in `world`."""
        value = world
        for name in self._path:
            value = getattr(value, name)
        return value

    def __repr__(self) -> str:
        return "W." + ".".join(self._path)


W = Ref()


def resolve(value, world):
    """`value` with every Ref in it (also inside dicts and lists) replaced from `world`."""
    if isinstance(value, Ref):
        return value.resolve(world)
    if isinstance(value, dict):
        return {k: resolve(v, world) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(resolve(v, world) for v in value)
    return value


# ---- Cases --------------------------------------------------------------------------------

BROWSER = "browser"  # a browser session: signed in through /auth/login
BEARER = "bearer"  # a JSON client: Authorization: Bearer <the role's API token>


@dataclass(frozen=True)
class Case:
    """One request to ask as every role, and the answer each role must get."""

    endpoint: str
    values: dict
    expect: dict[str, Answer]
    method: str = "GET"
    data: dict | None = None
    json: object = None
    client: str = BROWSER
    label: str = ""
    headers: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The test id's stem: the endpoint, and the label when there is one."""
        return f"{self.endpoint}[{self.label}]" if self.label else self.endpoint


def with_post(case: Case, **but: Answer) -> tuple[Case, Case]:
    """The case, and the same URL POSTed with an empty form: the view must refuse whoever
    it refuses on GET; OK becomes ALLOWED (an empty form is the view's to complain about)."""
    expect = {role: (ALLOWED if answer == OK else answer) for role, answer in case.expect.items()}
    label = f"{case.label}-post" if case.label else "post"
    return case, replace(case, method="POST", label=label, expect=_override(expect, but))


A_ACTIVITY = {"activity_id": W.A.activity}

CASES: tuple[Case, ...] = (
    # ---- main ----------------------------------------------------------------------------
    Case(
        "main.dashboard",
        {},
        # A sponsor's representative's home is their sponsor's page.
        signed_in(sponsor_rep_A=redirect_to("/sponsors/mine")),
    ),
    Case("main.healthz", {}, public()),
    Case("main.favicon", {}, public()),
    Case("main.set_language", {}, public(REDIRECT), method="POST", data={"lang": "en"}),
    # ---- auth ----------------------------------------------------------------------------
    # Signed-in users are sent on to the dashboard.
    *with_post(Case("auth.login", {}, public(REDIRECT, logged_out=OK))),
    # Signing out lands on the sign-in page (with no `next`, so not "sent to sign in").
    Case("auth.logout", {}, signed_in(REDIRECT), method="POST"),
    *with_post(Case("auth.change_password", {}, signed_in())),
    # ---- user administration: administrators only ----------------------------------------
    Case("auth.users", {}, only(ADMIN)),
    *with_post(Case("auth.new_user", {}, only(ADMIN))),
    Case("auth.user", {"user_id": W.bystander}, only(ADMIN)),
    *(
        Case(endpoint, {"user_id": W.bystander}, only(ADMIN, answer=ALLOWED), method="POST")
        for endpoint in (
            "auth.disable_user",
            "auth.enable_user",
            "auth.reset_user_password",
            "auth.grant_user_role",
        )
    ),
    Case(
        "auth.revoke_user_role",
        {"user_id": W.bystander, "grant_id": W.bystander_grant},
        only(ADMIN, answer=ALLOWED),
        method="POST",
    ),
    # ---- audit log: organisers of the subtree, administrators ----------------------------
    Case("audit.index", {}, only(*UNIT_EDITORS)),
    Case("audit.index", {"unit": W.A.unit}, only(*EDIT_A), label="unit"),
    Case(
        "audit.history",
        {"object_type": "activity", "object_id": W.A.activity},
        only(*EDIT_A),
    ),
    # ---- units ---------------------------------------------------------------------------
    Case("units.tree", {"unit": W.A.unit}, only(*UNIT_A)),
    # Without ?unit= the tree opens at the user's own top unit; stations' and sponsors'
    # roles reach no unit.
    Case(
        "units.tree",
        {},
        only(*UNIT_A, ORGANISER_B),
        label="own",
    ),
    *with_post(Case("units.new", {"parent": W.A.unit}, only(*EDIT_A))),
    # A unit with no parent: administrators only.
    Case("units.new", {}, only(ADMIN), label="root"),
    *with_post(Case("units.edit", {"unit_id": W.A.unit}, only(*EDIT_A))),
    # Moving needs the right to edit the old parent too (the city): administrators only here.
    *with_post(Case("units.move", {"unit_id": W.A.unit}, only(ADMIN))),
    Case("units.posters", {"unit_id": W.A.unit}, only(*UNIT_A)),
    # ---- stations ------------------------------------------------------------------------
    Case("stations.index", {}, signed_in()),
    Case("stations.index", {"unit": W.A.unit}, only(*UNIT_A), label="unit"),
    Case("stations.show", {"station_id": W.A.station}, only(*STATION_A)),
    *with_post(Case("stations.new", {}, only(*UNIT_EDITORS))),
    *with_post(Case("stations.edit", {"station_id": W.A.station}, only(*EDIT_A))),
    Case(
        "stations.add_manager_view",
        {"station_id": W.A.station},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    Case(
        "stations.remove_manager_view",
        # Someone who manages nothing, so the matrix's station manager keeps the role.
        {"station_id": W.A.station, "user_id": W.bystander},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    *with_post(Case("stations.inspect", {"station_id": W.A.station}, only(*EDIT_A))),
    Case("stations.overdue_list", {"unit": W.A.unit}, only(*UNIT_A)),
    # The live board: everything in one's reach, or a subtree one may see.
    Case("stations.live", {}, signed_in()),
    Case("stations.live", {"unit": W.A.unit}, only(*UNIT_A), label="unit"),
    # Its refreshing script reads JSON, so a lapsed session gets a 401, not the sign-in page.
    Case("stations.live_json", {}, signed_in(logged_out=UNAUTHORISED_JSON)),
    Case(
        "stations.live_json",
        {"unit": W.A.unit},
        only(*UNIT_A, denied=NOT_FOUND_JSON, logged_out=UNAUTHORISED_JSON),
        label="unit",
    ),
    # The inspection cadence is province-wide: administrators only.
    *with_post(Case("stations.cadence", {}, only(ADMIN))),
    Case("stations.poster", {"station_id": W.A.station}, only(*STATION_A)),
    *with_post(Case("stations.import_upload", {}, only(*UNIT_EDITORS))),
    # No upload token: the importer's own 400.
    Case("stations.import_confirm", {}, only(*UNIT_EDITORS, answer=ALLOWED), method="POST"),
    Case("stations.export", {"fmt": "csv", "unit": W.A.unit}, only(*UNIT_A)),
    # The lifecycle and labels on a station's page: its editors; an empty form changes nothing,
    # and withdrawing an award the station does not hold says so.
    Case(
        "stations.close_view",
        {"station_id": W.A.station},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    Case(
        "stations.award_label_view",
        {"station_id": W.A.station},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    Case(
        "stations.withdraw_label_view",
        {"station_id": W.A.station, "award_id": 0},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    # Workers' ratings and comments: whoever sees the station; hiding one, its editors (a
    # comment the station does not have is said to be missing, and nothing changes).
    Case("stations.feedback", {"station_id": W.A.station}, only(*STATION_A)),
    Case(
        "stations.hide_feedback",
        {"station_id": W.A.station, "feedback_id": 0},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    Case(
        "stations.show_feedback",
        {"station_id": W.A.station, "feedback_id": 0},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    # ---- co-building partners: kept by a unit, seen by its subtree and the station it co-builds
    # Every signed-in user gets the list of what they may see (maybe empty).
    Case("stations.partners", {}, signed_in()),
    Case("stations.partner", {"partner_id": W.A.partner}, only(*STATION_A)),
    *with_post(Case("stations.new_partner", {}, only(*UNIT_EDITORS))),
    *with_post(Case("stations.edit_partner", {"partner_id": W.A.partner}, only(*EDIT_A))),
    # ---- host types and labels: a shared set every signed-in user reads; administrators manage
    Case("stations.catalogue", {"kind": "host-types"}, signed_in()),
    *with_post(Case("stations.new_catalogue_value", {"kind": "labels"}, only(ADMIN))),
    *with_post(
        Case(
            "stations.edit_catalogue_value",
            {"kind": "host-types", "value_id": W.host_type},
            only(ADMIN),
        )
    ),
    # "other" is in use (and every new station's): deleting it is refused, moving it harmless.
    Case(
        "stations.delete_catalogue_value",
        {"kind": "host-types", "value_id": W.host_type},
        only(ADMIN, answer=ALLOWED),
        method="POST",
    ),
    Case(
        "stations.move_catalogue_value",
        {"kind": "host-types", "value_id": W.host_type},
        only(ADMIN, answer=ALLOWED),
        method="POST",
        data={"direction": "down"},
    ),
    # ---- campaigns -----------------------------------------------------------------------
    Case("campaigns.index", {}, signed_in()),
    Case("campaigns.show", {"campaign_id": W.A.campaign}, only(*CAMPAIGN_A)),
    Case("campaigns.show", {"campaign_id": W.B.campaign}, only(ADMIN, ORGANISER_B), label="B"),
    # A campaign covers its owner's subtree: the units below look at it, only its owner's
    # organisers (here: administrators) change it.
    Case(
        "campaigns.show",
        {"campaign_id": W.city_campaign},
        only(*UNIT_A, ORGANISER_B),
        label="city",
    ),
    Case("campaigns.edit", {"campaign_id": W.city_campaign}, only(ADMIN), label="city"),
    *with_post(Case("campaigns.new", {}, only(*UNIT_EDITORS))),
    *with_post(Case("campaigns.edit", {"campaign_id": W.A.campaign}, only(*EDIT_A))),
    # Targets belong to units; a station's or a sponsor's role follows the campaign from none.
    *with_post(
        Case("campaigns.targets", {"campaign_id": W.A.campaign}, only(*UNIT_A)),
        viewer_A=NOT_FOUND,  # sees the targets, sets none
    ),
    Case("campaigns.themes", {}, signed_in()),
    # ---- construction targets and coverage goals -----------------------------------------
    # Without ?unit= the page opens on the user's highest unit; a station's or a sponsor's
    # role reaches none.
    Case(
        "construction.targets",
        {},
        only(*UNIT_A, ORGANISER_B),
        label="top",
    ),
    *with_post(
        Case("construction.targets", {"unit": W.A.unit}, only(*UNIT_A)),
        # A's own target is handed down by the city, and A has no sub-units to hand down to.
        organiser_A=NOT_FOUND,
        viewer_A=NOT_FOUND,  # sees the targets, sets none
    ),
    # A unit's coverage goals are its own: its organisers set them.
    Case("construction.goals", {"unit": W.A.unit}, only(*EDIT_A, answer=ALLOWED), method="POST"),
    *with_post(Case("campaigns.new_theme", {}, only(*UNIT_EDITORS))),
    *with_post(Case("campaigns.edit_theme", {"theme_id": W.A.theme}, only(*EDIT_A))),
    # The shared catalogue's themes: administrators only.
    Case("campaigns.edit_theme", {"theme_id": W.shared_theme}, only(ADMIN), label="shared"),
    # ---- activities ----------------------------------------------------------------------
    Case("activities.show", A_ACTIVITY, only(*STATION_A)),
    Case("activities.show", {"activity_id": W.B.activity}, only(ADMIN, ORGANISER_B), label="B"),
    # Someone who may plan nowhere is sent to the campaigns with a message, not a 404.
    *with_post(Case("activities.new", {}, only(*UNIT_EDITORS, denied=redirect_to("/campaigns/")))),
    *with_post(
        Case("activities.new_series", {}, only(*UNIT_EDITORS, denied=redirect_to("/campaigns/")))
    ),
    *with_post(Case("activities.edit", A_ACTIVITY, only(*EDIT_A))),
    *with_post(Case("activities.cancel", A_ACTIVITY, only(*EDIT_A))),
    # A series is part of its campaign: whoever sees the campaign sees the series (its
    # occurrences listed are only those the user may see).
    Case("activities.show_series", {"series_id": W.A.series}, only(*CAMPAIGN_A)),
    Case("activities.show_series", {"series_id": W.B.series}, only(ADMIN, ORGANISER_B), label="B"),
    Case("activities.calendar_month", {}, signed_in()),
    Case("activities.calendar_month", {"unit": W.A.unit}, only(*UNIT_A), label="unit"),
    Case("activities.calendar_week", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("activities.calendar_list", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("activities.festivals", {}, signed_in()),
    Case("activities.festival_date", {"code": "spring_festival", "year": 2025}, signed_in()),
    # ---- attendance (staff) --------------------------------------------------------------
    *with_post(Case("attendance.staff", A_ACTIVITY, only(*RECORD_A))),
    Case("attendance.staff", {"activity_id": W.B.activity}, only(ADMIN, ORGANISER_B), label="B"),
    Case(
        "attendance.annul",
        {"activity_id": W.A.activity, "checkin_id": W.A.checkin},
        # No reason given: back to the attendance page with the form's complaint.
        only(*RECORD_A, answer=ALLOWED),
        method="POST",
    ),
    Case(
        "attendance.annul_burst_view",
        {"activity_id": W.A.activity, "minute": W.A.burst},
        # No reason given: back to the attendance page with the form's complaint.
        only(*RECORD_A, answer=ALLOWED),
        method="POST",
    ),
    Case(
        "attendance.checkin_capacity_view",
        A_ACTIVITY,
        # Empty: the activity takes its station's figure again, and back to the page.
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    # The live counter and the tally answer JSON, so a phone can tell a lapsed session apart.
    Case(
        "attendance.live",
        A_ACTIVITY,
        only(*RECORD_A, denied=NOT_FOUND_JSON, logged_out=UNAUTHORISED_JSON),
    ),
    *with_post(Case("attendance.paper", A_ACTIVITY, only(*RECORD_A))),
    Case("attendance.paper_sheet", A_ACTIVITY, only(*RECORD_A)),
    Case("attendance.checkin_sheet_pdf", A_ACTIVITY, only(*RECORD_A)),
    Case("attendance.tally", A_ACTIVITY, only(*RECORD_A)),
    Case(
        "attendance.tally_upload",
        A_ACTIVITY,
        only(*RECORD_A, denied=NOT_FOUND_JSON, logged_out=UNAUTHORISED_JSON),
        method="POST",
        json={"taps": []},
    ),
    Case("attendance.tally_worker", {}, public()),
    # ---- attendance (public QR pages) ----------------------------------------------------
    *with_post(Case("attendance.activity_checkin", {"token": W.A.checkin_token}, public())),
    # With no check-in in this browser, the confirmation sends back to the form.
    Case("attendance.activity_checkin_done", {"token": W.A.checkin_token}, public(REDIRECT)),
    *with_post(Case("attendance.station_checkin", {"code": W.A.station_code}, public())),
    Case("attendance.station_checkin_done", {"code": W.A.station_code}, public(REDIRECT)),
    # Feedback belongs to a scan made in this browser; with none, back to the form.
    Case(
        "attendance.activity_feedback",
        {"token": W.A.checkin_token},
        public(REDIRECT),
        method="POST",
    ),
    Case(
        "attendance.station_feedback", {"code": W.A.station_code}, public(REDIRECT), method="POST"
    ),
    # ---- API (/api/v1, bearer tokens) ----------------------------------------------------
    Case("api-docs.openapi_json", {}, public()),
    # The public check-in takes no token; not a JSON object: the API's own 400, for anyone.
    Case(
        "api_checkins.create_checkin",
        {},
        public(status(400, json=True)),
        method="POST",
        json=[],
        client=BEARER,
    ),
    Case("api_units.list_units", {}, api_signed_in(), client=BEARER),
    Case("api_units.get_unit", {"unit_id": W.A.unit}, api_only(*UNIT_A), client=BEARER),
    Case("api_stations.list_stations", {}, api_signed_in(), client=BEARER),
    Case(
        "api_stations.list_stations",
        {"unit": W.A.unit},
        api_only(*UNIT_A),
        client=BEARER,
        label="unit",
    ),
    Case(
        "api_stations.get_station", {"station_id": W.A.station}, api_only(*STATION_A), client=BEARER
    ),
    Case("api_partners.list_partners", {}, api_signed_in(), client=BEARER),
    # A's partner co-builds A's station: its manager may look at it too.
    Case(
        "api_partners.get_partner", {"partner_id": W.A.partner}, api_only(*STATION_A), client=BEARER
    ),
    Case("api_host-types.list_host_types", {}, api_signed_in(), client=BEARER),
    Case("api_labels.list_labels", {}, api_signed_in(), client=BEARER),
    Case("api_themes.list_themes", {}, api_signed_in(), client=BEARER),
    Case("api_campaigns.list_campaigns", {}, api_signed_in(), client=BEARER),
    Case(
        "api_campaigns.get_campaign",
        {"campaign_id": W.A.campaign},
        api_only(*CAMPAIGN_A),
        client=BEARER,
    ),
    Case("api_activities.list_activities", {}, api_signed_in(), client=BEARER),
    Case("api_activities.get_activity", A_ACTIVITY, api_only(*STATION_A), client=BEARER),
    Case("api_activities.get_attendance", A_ACTIVITY, api_only(*STATION_A), client=BEARER),
    Case(
        "api_activities.create_activity",
        {},
        api_only(
            *EDIT_A,
            answer=ALLOWED,
            viewer_A=status(403, json=True),  # may change nothing at all
            station_manager_A=status(403, json=True),  # records, plans nothing
            # The campaign or station named in the body is not theirs: answered like one
            # that does not exist.
            organiser_B=status(422, json=True),
            sponsor_rep_A=status(403, json=True),  # plans nothing: only organisers plan
        ),
        method="POST",
        json={
            "campaign_id": W.A.campaign,
            "station_id": W.A.station,
            "theme_id": W.shared_theme,
            "title": "Access matrix",
            "day": "2025-05-06",
            "starts_time": "09:00",
            "ends_time": "10:00",
        },
        client=BEARER,
    ),
    Case(
        "api_activities.update_activity",
        A_ACTIVITY,
        api_only(*EDIT_A, answer=ALLOWED),
        method="PATCH",
        json={},
        client=BEARER,
    ),
    Case(
        "api_activities.record_headcounts",
        A_ACTIVITY,
        api_only(*RECORD_A, answer=ALLOWED),
        method="POST",
        json={"counts": {}},
        client=BEARER,
    ),
    Case("api_donations.list_donations", {}, api_signed_in(), client=BEARER),
    Case(
        "api_donations.get_donation",
        {"donation_id": W.A.donation},
        api_only(*SPONSOR_A),
        client=BEARER,
    ),
    Case(
        "api_donations.pledge",
        {},
        api_only(
            *EDIT_A,
            SPONSOR_REP_A,
            answer=ALLOWED,
            viewer_A=status(403, json=True),  # may change nothing at all
            station_manager_A=status(403, json=True),  # records, pledges nothing
            # The sponsor named in the body is not theirs: answered like one that does not exist.
            organiser_B=status(422, json=True),
        ),
        method="POST",
        json={"sponsor_id": W.A.sponsor, "kind": "cash", "description": "Matrix", "value": "10"},
        client=BEARER,
    ),
    # A recap covers a unit's subtree: roles on a station or a sponsor reach no unit.
    Case("api_reports.summary", {"campaign": W.A.campaign}, api_only(*UNIT_A), client=BEARER),
    # The construction notice ranks a unit's sub-units: roles on a station or a sponsor reach
    # no unit.
    Case("api_reports.construction", {"unit": W.A.unit}, api_only(*UNIT_A), client=BEARER),
    # ---- API tokens (the account's page) -------------------------------------------------
    Case("api.tokens", {}, signed_in()),
    Case("api.create_token", {}, signed_in(ALLOWED), method="POST"),
    # A token is its owner's alone: not even an administrator revokes it.
    Case(
        "api.revoke",
        {"token_id": W.spare_api_token},
        only(ORGANISER_A, answer=ALLOWED),
        method="POST",
    ),
    # ---- directory (public) --------------------------------------------------------------
    Case("directory.search", {}, public()),
    Case("directory.map", {}, public()),
    Case("directory.station", {"code": W.A.station_code}, public()),
    Case("directory.station_link", {"code": W.A.station_code}, public(REDIRECT)),
    Case("directory.leaflet_asset", {"filename": "leaflet.js"}, public()),
    Case("directory.stations_geojson", {}, public()),
    Case("directory.stations_kml", {}, public()),
    Case("directory.stations_csv", {}, public()),
    Case("bootstrap.static", {"filename": "css/bootstrap.min.css"}, public()),
    # ---- calendar feeds (public, or by token) and their tokens ---------------------------
    Case("feeds.campaign_feed", {"campaign_id": W.A.campaign}, public()),
    # An internal campaign's feed opens only with a token, whoever asks.
    Case(
        "feeds.campaign_feed",
        {"campaign_id": W.A.internal_campaign},
        public(NOT_FOUND),
        label="internal",
    ),
    Case(
        "feeds.campaign_feed",
        {"campaign_id": W.A.internal_campaign, "token": W.campaign_feed_token},
        public(),
        label="internal-token",
    ),
    Case("feeds.unit_feed", {"unit_id": W.A.unit, "token": W.feed_token}, public()),
    Case("feeds.station_feed", {"station_id": W.A.station}, public()),
    Case("feeds.activity_feed", A_ACTIVITY, public()),
    # An activity of an internal campaign: for those who may see it, signed in.
    Case(
        "feeds.activity_feed",
        {"activity_id": W.A.internal_activity},
        only(*STATION_A, logged_out=NOT_FOUND),
        label="internal",
    ),
    Case("feeds.subscribe", {"kind": "unit", "target_id": W.A.unit}, only(*UNIT_A)),
    Case(
        "feeds.subscribe",
        {"kind": "campaign", "target_id": W.A.campaign},
        only(*CAMPAIGN_A),
        label="campaign",
    ),
    Case(
        "feeds.create_token",
        {"kind": "unit", "target_id": W.A.unit},
        only(*UNIT_A, answer=ALLOWED),
        method="POST",
    ),
    # A feed token is its owner's alone: not even an administrator revokes it.
    Case(
        "feeds.revoke_token",
        {"token_id": W.spare_feed_token},
        only(ORGANISER_A, answer=ALLOWED),
        method="POST",
    ),
    # ---- sponsors ------------------------------------------------------------------------
    Case(
        "sponsors.index",
        {},
        # A representative's list is their own sponsor's page.
        signed_in(sponsor_rep_A=redirect_to("/sponsors/mine")),
    ),
    *with_post(Case("sponsors.new", {}, only(*UNIT_EDITORS))),
    Case("sponsors.show", {"sponsor_id": W.A.sponsor}, only(*SPONSOR_A)),
    Case("sponsors.show", {"sponsor_id": W.B.sponsor}, only(ADMIN, ORGANISER_B), label="B"),
    Case(
        "sponsors.review",
        {"sponsor_id": W.A.sponsor},
        # Already approved: the view says so and goes back to the sponsor.
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    *with_post(Case("sponsors.register", {}, public())),
    Case("sponsors.registered", {}, public()),
    *with_post(Case("sponsors.pledge", {"sponsor_id": W.A.sponsor}, only(*EDIT_A, SPONSOR_REP_A))),
    Case("sponsors.donation", {"donation_id": W.A.donation}, only(*SPONSOR_A)),
    Case("sponsors.donation", {"donation_id": W.B.donation}, only(ADMIN, ORGANISER_B), label="B"),
    # Confirming and handing out gifts is the organisers' (not the giver's) job.
    Case(
        "sponsors.receive",
        {"donation_id": W.A.donation},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    Case(
        "sponsors.hand_out",
        {"donation_id": W.A.donation},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    Case("sponsors.receipt", {"donation_id": W.A.donation}, only(*SPONSOR_A)),
    Case("sponsors.export_donation_list", {"fmt": "csv"}, signed_in()),
    Case(
        "sponsors.export_donation_list",
        {"fmt": "csv", "campaign": W.A.campaign},
        only(*CAMPAIGN_A),
        label="campaign",
    ),
    Case(
        "sponsors.export_distribution_list",
        {"fmt": "csv", "campaign": W.A.campaign},
        only(*CAMPAIGN_A),
    ),
    # Only representatives have a sponsor of their own; others go to the sponsors' list.
    Case("sponsors.mine", {}, only(SPONSOR_REP_A, denied=redirect_to("/sponsors/"))),
    Case("sponsors.honour_index", {}, public()),
    Case("sponsors.honour_campaign", {"campaign_id": W.A.campaign}, public()),
    Case("sponsors.honour_unit", {"unit_id": W.A.unit}, public()),
    # ---- funds ---------------------------------------------------------------------------
    # Money is the units' business: roles on a station or a sponsor reach no line.
    Case("funds.ledger", {"unit": W.A.unit}, only(*UNIT_A)),
    # Without ?unit= the ledger opens at the user's own top unit.
    Case("funds.ledger", {}, only(*UNIT_A, ORGANISER_B), label="own"),
    Case("funds.export", {"fmt": "csv", "unit": W.A.unit}, only(*UNIT_A)),
    Case("funds.export", {"fmt": "xlsx", "unit": W.A.unit}, only(*UNIT_A), label="xlsx"),
    *with_post(Case("funds.new", {}, only(*UNIT_EDITORS))),
    Case("funds.new", {"station": W.A.station}, only(*EDIT_A), label="station"),
    Case("funds.new", {"unit": W.A.unit}, only(*EDIT_A), label="unit"),
    *with_post(Case("funds.edit", {"line_id": W.A.fund_line}, only(*EDIT_A))),
    # No day given: back to the ledger with the form's complaint.
    Case("funds.paid", {"line_id": W.A.fund_line}, only(*EDIT_A, answer=ALLOWED), method="POST"),
    # Without the line's id to confirm, nothing is deleted: back to the line's form.
    Case("funds.delete", {"line_id": W.A.fund_line}, only(*EDIT_A, answer=ALLOWED), method="POST"),
    *with_post(Case("funds.operating_rule", {}, only(*UNIT_EDITORS))),
    Case("funds.operating_rule", {"unit": W.A.unit}, only(*EDIT_A), label="unit"),
    # ---- staffing: the roster and duty ----------------------------------------------------
    # ---- shelf (the goods-sharing shelf) -----------------------------------------------------
    Case("shelf.station", {"station_id": W.A.station}, only(*STATION_A)),
    *[
        Case(
            f"shelf.{name}",
            {"station_id": W.A.station},
            only(*RECORD_A, answer=ALLOWED),
            method="POST",
        )  # fmt: skip
        for name in ("open_", "close", "reopen", "limit", "new_item", "put_on", "take_off")
    ],
    Case(
        "shelf.report", {"unit": W.A.unit, "from": "2025-01-01", "to": "2025-03-31"}, only(*UNIT_A)
    ),
    Case("shelf.report_xlsx", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("shelf.public", {"code": W.A.station_code}, public()),
    *with_post(Case("shelf.public_take", {"code": W.A.station_code}, public())),
    # With no taking in this browser, the confirmation sends back to the form.
    Case("shelf.public_taken", {"code": W.A.station_code}, public(REDIRECT)),
    Case("staffing.roster", {"unit": W.A.unit}, only(*UNIT_A)),
    Case(
        "staffing.roster",
        {"unit": W.A.unit, "show": "without-master"},
        only(*UNIT_A),
        label="without-master",
    ),
    # Without ?unit=: the user's highest unit; a role on a station or a sponsor reaches no
    # unit and is sent to their own duty page.
    Case(
        "staffing.roster",
        {},
        only(
            *UNIT_A,
            ORGANISER_B,
            station_manager_A=redirect_to("/duty"),
            sponsor_rep_A=redirect_to("/duty"),
        ),
        label="own",
    ),
    Case("staffing.duty_rollup", {"unit": W.A.unit, "month": "2025-03"}, only(*UNIT_A)),
    # Those who see a station see its roster; those who may edit it keep it.
    *with_post(
        Case("staffing.station_admins", {"station_id": W.A.station}, only(*STATION_A)),
        viewer_A=NOT_FOUND,
        station_manager_A=NOT_FOUND,
    ),
    *with_post(
        Case("staffing.admin", {"admin_id": W.A.admin}, only(*STATION_A)),
        viewer_A=NOT_FOUND,
        station_manager_A=NOT_FOUND,
    ),
    # No last day given: back to the roster with the complaint, nothing ended.
    Case("staffing.end", {"admin_id": W.A.admin}, only(*EDIT_A, answer=ALLOWED), method="POST"),
    Case(
        "staffing.station_duty", {"station_id": W.A.station, "month": "2025-03"}, only(*STATION_A)
    ),
    Case("staffing.duty_qr", {"station_id": W.A.station}, only(*STATION_A)),
    # Everyone has a duty page (listing the stations their account runs, maybe none).
    *with_post(Case("staffing.duty", {}, signed_in())),
    # A station's duty QR opens only for the accounts that run it (A's master: the manager's).
    *with_post(Case("staffing.duty_station", {"code": W.A.station_code}, only(STATION_MANAGER_A))),
    # ---- volunteers: teams, members, sessions --------------------------------------------
    # Everyone signed in has the list of the teams in their sight (maybe none).
    Case("volunteers.index", {}, signed_in()),
    # A team is kept by a unit the user may edit: whoever may edit some unit makes one.
    *with_post(Case("volunteers.new_team", {}, only(*UNIT_EDITORS))),
    # A's team: A's units, and A's station manager, at whose station it served.
    Case("volunteers.team", {"team_id": W.A.team}, only(*STATION_A)),
    *with_post(Case("volunteers.edit_team", {"team_id": W.A.team}, only(*EDIT_A))),
    *with_post(Case("volunteers.new_member", {"team_id": W.A.team}, only(*EDIT_A))),
    Case("volunteers.member", {"volunteer_id": W.A.volunteer}, only(*STATION_A)),
    Case("volunteers.certificate", {"volunteer_id": W.A.volunteer}, only(*STATION_A)),
    *with_post(Case("volunteers.edit_member", {"volunteer_id": W.A.volunteer}, only(*EDIT_A))),
    # An empty form leaves nobody: the view says so and goes back to the member.
    Case(
        "volunteers.leave",
        {"volunteer_id": W.A.volunteer},
        only(*EDIT_A, answer=ALLOWED),
        method="POST",
    ),
    *with_post(Case("volunteers.new_session", {"team_id": W.A.team}, only(*EDIT_A))),
    *with_post(Case("volunteers.edit", {"session_id": W.A.volunteer_session}, only(*EDIT_A))),
    # Sessions are confirmed by whoever records at the station: A's manager and organisers.
    Case("volunteers.station_sessions", {"station_id": W.A.station}, only(*RECORD_A)),
    # An empty form decides nothing: the view asks to choose and goes back to the station.
    Case(
        "volunteers.decide",
        {"session_id": W.A.volunteer_session},
        only(*RECORD_A, answer=ALLOWED),
        method="POST",
    ),
    # ---- points ----------------------------------------------------------------------------
    # The card page is public: without a card cookie it says how to get one.
    Case("points.card", {}, public()),
    # No card on this browser: back to the card page, no link made.
    Case("points.make_card_link", {}, public(REDIRECT), method="POST"),
    # An unknown (or used, or expired) link is gone for everyone, and changes nothing.
    *with_post(Case("points.link", {"nonce": "no-such-link"}, public(status(410)))),
    # No SMS gateway configured in tests: the "send to my number" path does not exist.
    *with_post(Case("points.send", {}, public(NOT_FOUND))),
    # Spending at a station: whoever may record there.
    *with_post(Case("points.station_points", {"station_id": W.A.station}, only(*RECORD_A))),
    # A unit's rules: its editors.
    *with_post(Case("points.rules", {"unit": W.A.unit}, only(*EDIT_A))),
    Case("points.report", {"unit": W.A.unit}, only(*UNIT_A)),
    # ---- reports -------------------------------------------------------------------------
    Case("reports.recap", {}, signed_in(), label="choose"),
    # A recap covers a unit's subtree: roles on a station or a sponsor reach no unit.
    Case("reports.recap", {"campaign": W.A.campaign}, only(*UNIT_A)),
    Case("reports.recap_pdf", {"campaign": W.A.campaign}, only(*UNIT_A)),
    # No report queue in tests: the status page sends straight on to the PDF.
    Case("reports.recap_status", {"campaign": W.A.campaign}, only(*UNIT_A, answer=REDIRECT)),
    Case("reports.recap_spreadsheet", {"campaign": W.A.campaign, "fmt": "xlsx"}, only(*UNIT_A)),
    Case("reports.league", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("reports.league_pdf", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("reports.league_spreadsheet", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("reports.construction", {"unit": W.A.unit}, only(*UNIT_A)),
    # Without ?unit=: the user's highest unit; a station's or a sponsor's role has none.
    Case("reports.construction", {}, only(*UNIT_A, ORGANISER_B), label="top"),
    Case("reports.construction_pdf", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("reports.construction_spreadsheet", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("reports.traffic", {"unit": W.A.unit}, only(*UNIT_A)),
    # Without ?unit=: the user's highest unit; a station's or a sponsor's role has none.
    Case("reports.traffic", {}, only(*UNIT_A, ORGANISER_B), label="top"),
    Case("reports.traffic_pdf", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("reports.traffic_spreadsheet", {"unit": W.A.unit}, only(*UNIT_A)),
    # Issuing changes what a unit's sub-units receive: editors only. No month posted: the
    # page again with the form's complaint (400), nothing issued.
    Case("reports.traffic_issue", {"unit": W.A.unit}, only(*EDIT_A, answer=ALLOWED), method="POST"),
    # Everyone signed in has a notices page; it lists only what reaches their units.
    Case("reports.notices", {}, signed_in()),
    Case("reports.notices", {"unit": W.A.unit}, only(*UNIT_A), label="unit"),
    Case("reports.notice_pdf", {"notice_id": W.A.notice}, only(*UNIT_A)),
    # The Double Top 100: its page for whoever sees the unit (a draft's lists for its editors
    # only); the draft's downloads, the weights and the confirmation for its editors. Empty
    # forms: weights that are not numbers (400), no digest to confirm (back to the page).
    Case("reports.top100", {"unit": W.A.unit}, only(*UNIT_A)),
    Case("reports.top100", {}, only(*UNIT_A, ORGANISER_B), label="top"),
    Case("reports.top100_pdf", {"unit": W.A.unit}, only(*EDIT_A)),
    Case("reports.top100_spreadsheet", {"unit": W.A.unit}, only(*EDIT_A)),
    Case(
        "reports.top100_weights", {"unit": W.A.unit}, only(*EDIT_A, answer=ALLOWED), method="POST"
    ),
    Case(
        "reports.top100_confirm", {"unit": W.A.unit}, only(*EDIT_A, answer=ALLOWED), method="POST"
    ),
)

# Rules no case needs to cover (Flask's own static files).
UNCLASSIFIED_OK = frozenset({"static"})
