"""All models, imported here so Alembic and the app see the whole schema."""

from .api_token import ApiToken
from .audit import AuditEvent
from .case_study import CaseStudy, CaseStudyComment, CaseStudyStatus, DistrictSize
from .checkin import ActionItem, CheckIn, CheckInMode
from .cohort import OUTER_BOUND_MONTHS, TARGET_MONTHS, Cohort, Participation, ParticipationRole
from .library import Governance, Library, SchoolDistrict
from .milestone import (
    CLOSED_STATUSES,
    Milestone,
    MilestoneComment,
    MilestoneStatus,
    MilestoneTemplate,
    StepFact,
    StepScope,
    TemplateStep,
)
from .outbox import EmailOptOut, MailServerState, OutboxMessage, OutboxStatus, SchedulerRun
from .pairing import OPEN_STATUSES, Cadence, Pairing, PairingStatus
from .partnership import (
    Agreement,
    AgreementKind,
    CardModel,
    CommitmentLetter,
    Enrolment,
    LetterSigner,
    OutcomeReport,
    Partnership,
    PartnershipStage,
    PartnershipStageDate,
    SignerRole,
)
from .user import LIBRARY_ROLES, Role, User

__all__ = [
    "ApiToken",
    "CaseStudy",
    "CaseStudyComment",
    "CaseStudyStatus",
    "DistrictSize",
    "ActionItem",
    "Cadence",
    "CheckIn",
    "CheckInMode",
    "EmailOptOut",
    "OutboxMessage",
    "OutboxStatus",
    "MailServerState",
    "SchedulerRun",
    "CLOSED_STATUSES",
    "Milestone",
    "MilestoneComment",
    "MilestoneStatus",
    "MilestoneTemplate",
    "StepFact",
    "StepScope",
    "TemplateStep",
    "Agreement",
    "AgreementKind",
    "CardModel",
    "CommitmentLetter",
    "Enrolment",
    "LetterSigner",
    "OutcomeReport",
    "Partnership",
    "PartnershipStage",
    "PartnershipStageDate",
    "SignerRole",
    "LIBRARY_ROLES",
    "OPEN_STATUSES",
    "OUTER_BOUND_MONTHS",
    "TARGET_MONTHS",
    "AuditEvent",
    "Cohort",
    "Governance",
    "Library",
    "Pairing",
    "PairingStatus",
    "Participation",
    "ParticipationRole",
    "Role",
    "SchoolDistrict",
    "User",
]
