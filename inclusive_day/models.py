"""Every model, imported in one place so that Alembic and the tests see the whole schema."""

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.api.models import ApiToken, TokenScope
from inclusive_day.attendance.models import (
    BeneficiaryGroup,
    CheckIn,
    CheckInMinute,
    CheckInRefusal,
    CheckInSource,
    Feedback,
    Headcount,
    HeadcountChange,
    HeadcountSource,
    LimitKind,
    StationVisit,
)
from inclusive_day.audit.models import AuditEvent
from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.feeds.models import FeedKind, FeedToken
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.ratelimit.models import RateCounter
from inclusive_day.reports.models import Notice, NoticeKind, Top100List
from inclusive_day.sponsors.models import (
    Donation,
    DonationKind,
    DonationStatus,
    Sponsor,
    SponsorKind,
    SponsorStatus,
)
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
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
    "AdminRole",
    "Amenity",
    "ApiToken",
    "AuditEvent",
    "BeneficiaryGroup",
    "Campaign",
    "CheckIn",
    "CheckInMinute",
    "CheckInRefusal",
    "CheckInSource",
    "CheckItem",
    "ConstructionTarget",
    "CoverageGoal",
    "Donation",
    "DonationKind",
    "DonationStatus",
    "DutyShift",
    "Feedback",
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
    "LimitKind",
    "Notice",
    "NoticeKind",
    "Partner",
    "RateCounter",
    "Role",
    "RoleGrant",
    "Sponsor",
    "SponsorKind",
    "SponsorStatus",
    "Station",
    "StationAdmin",
    "StationAmenity",
    "StationPartner",
    "StationStatus",
    "StationVisit",
    "Theme",
    "TokenScope",
    "Top100List",
    "Training",
    "Unit",
    "User",
]
