"""Every model, imported in one place so that Alembic and the tests see the whole schema."""

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.api.models import ApiToken, TokenScope
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    CheckIn,
    CheckInSource,
    Headcount,
    HeadcountChange,
    HeadcountSource,
    StationVisit,
)
from inclusive_day.audit.models import AuditEvent
from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.feeds.models import FeedKind, FeedToken
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.sponsors.models import (
    Donation,
    DonationKind,
    DonationStatus,
    Sponsor,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.stations.models import (
    Amenity,
    CheckItem,
    HostType,
    Inspection,
    InspectionCadence,
    InspectionCheck,
    InspectionResult,
    Label,
    LabelAward,
    Partner,
    Station,
    StationAmenity,
    StationPartner,
    StationStatus,
)
from inclusive_day.units.models import Level, Unit

__all__ = [
    "Activity",
    "ActivityStatus",
    "Amenity",
    "ApiToken",
    "AuditEvent",
    "BeneficiaryGroup",
    "Campaign",
    "CheckIn",
    "CheckItem",
    "CheckInSource",
    "ConstructionTarget",
    "CoverageGoal",
    "Donation",
    "DonationKind",
    "DonationStatus",
    "FeedKind",
    "FeedToken",
    "FundKind",
    "FundLine",
    "Headcount",
    "HeadcountChange",
    "HeadcountSource",
    "HostType",
    "Inspection",
    "InspectionCadence",
    "InspectionCheck",
    "InspectionResult",
    "Label",
    "LabelAward",
    "Level",
    "Partner",
    "Role",
    "RoleGrant",
    "Sponsor",
    "SponsorKind",
    "SponsorStatus",
    "Station",
    "StationAmenity",
    "StationPartner",
    "StationStatus",
    "StationVisit",
    "Theme",
    "TokenScope",
    "Unit",
    "User",
]
