"""Schemathesis against the OpenAPI document the app generates: every operation, with valid
and invalid input, as an organiser with a write token on seeded data, never answers 5xx and
always answers as documented (status, content type, body schema)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.models import BeneficiaryGroup
from inclusive_day.attendance.services import set_headcounts
from inclusive_day.auth.models import Role
from inclusive_day.sponsors.models import DonationKind
from inclusive_day.sponsors.services import DonationFields, pledge_donation
from inclusive_day.stations.models import Label, LabelAward, Partner

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}


@pytest.fixture
def seeded(db, make_unit, make_station, make_campaign, make_activity, make_user, make_sponsor):
    """A city with a district, a station (with a label and a partner), a campaign, an
    activity, a sponsor and an organiser."""
    city = make_unit("Kunming", make_unit("Yunnan"))
    district = make_unit("Wuhua", city)
    station = make_station(district, "Wuhua One", code="WH-001")
    partner = Partner(unit=city, name="Sinopec Yunnan")
    station.set_partners([partner])
    smart = db.session.scalar(select(Label).where(Label.code == "smart"))
    station.label_awards = [LabelAward(label=smart, year=2024, awarded_by=city)]
    campaign = make_campaign(city, "Inclusive Day")
    activity = make_activity(station, campaign, datetime(2024, 1, 18, 1, 0, tzinfo=UTC))
    sponsor = make_sponsor(district, "Dianchi Tea")
    organiser = make_user(Role.ORGANISER, on=city)
    _token, raw = issue_token(organiser, "schemathesis", TokenScope.WRITE)
    donation = pledge_donation(
        sponsor,
        DonationFields(
            kind=DonationKind.CASH,
            description="Cash for tea",
            value=Decimal("500"),
            campaign=campaign,
            pledged_on=date(2024, 1, 10),
        ),
        organiser,
    )
    set_headcounts(activity, {BeneficiaryGroup.RIDER: 12}, organiser)
    db.session.commit()
    real_ids = {
        "unit_id": district.id,
        "station_id": station.id,
        "campaign_id": campaign.id,
        "activity_id": activity.id,
        "donation_id": donation.id,
        "sponsor_id": sponsor.id,
        "partner_id": partner.id,
        "campaign": campaign.id,
    }
    # Schemathesis's in-process (WSGI) transport asks for compressed answers but does not
    # decompress them; compression itself is tested in test_delivery.py.
    return {"Authorization": f"Bearer {raw}", "Accept-Encoding": "identity"}, real_ids


def _run(
    operation,
    headers: dict,
    mode: GenerationMode,
    path_parameters: dict | None = None,
    query: dict | None = None,
) -> None:
    strategy = operation.as_strategy(mode, path_parameters=path_parameters, query=query)

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    check()


def test_every_operation_answers_as_documented_and_never_5xx(app, seeded):
    headers, real_ids = seeded
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 21
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        pinned = {n: real_ids[n] for n in names if real_ids.get(n)}
        in_campaign = any(p.name == "campaign" for p in operation.query)
        for mode in EXAMPLES:
            _run(operation, headers, mode)
            # The same again on the seeded rows, so that the answers with data are checked too.
            if pinned:
                _run(operation, headers, mode, path_parameters=pinned)
            if in_campaign and mode is GenerationMode.POSITIVE:
                _run(operation, headers, mode, query={"campaign": real_ids["campaign"]})


def test_the_document_describes_bearer_tokens_and_one_error_shape(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "code"}
    assert {"field", "errors"} <= set(error["properties"])
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            codes = operation["responses"]
            if path == "/api/v1/checkins":
                # Anyone with an activity's check-in token; a scanner's token for its ids.
                assert operation["security"] == [{}, {"bearer": []}]
                assert {"401", "429"} <= set(codes)
            else:
                assert "401" in codes, (method, path)
            for code, response in codes.items():
                if code.startswith("4"):
                    ref = response["$ref"].rsplit("/", 1)[1]
                    body = spec["components"]["responses"][ref]["content"]["application/json"]
                    assert body["schema"] == {"$ref": "#/components/schemas/Error"}


def test_every_operation_has_a_unique_readable_operation_id(client):
    spec = client.get("/api/v1/openapi.json").json
    ids = [
        operation.get("operationId")
        for operations in spec["paths"].values()
        for method, operation in operations.items()
        if method != "parameters"
    ]
    assert None not in ids
    assert len(ids) == len(set(ids))
    assert all(ident.isalnum() and ident[0].islower() for ident in ids)
    assert {"listUnits", "createActivity", "getRecapSummary", "createDonation"} <= set(ids)
