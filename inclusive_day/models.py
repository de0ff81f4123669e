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
from inclusive_day.feeds.models import FeedKind, FeedToken
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
    Inspection,
    InspectionCadence,
    InspectionCheck,
    InspectionResult,
    Station,
    StationAmenity,
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
    "Donation",
    "DonationKind",
    "DonationStatus",
    "FeedKind",
    "FeedToken",
    "Headcount",
    "HeadcountChange",
    "HeadcountSource",
    "Inspection",
    "InspectionCadence",
    "InspectionCheck",
    "InspectionResult",
    "Level",
    "Role",
    "RoleGrant",
    "Sponsor",
    "SponsorKind",
    "SponsorStatus",
    "Station",
    "StationAmenity",
    "StationStatus",
    "StationVisit",
    "Theme",
    "TokenScope",
    "Unit",
    "User",
]
