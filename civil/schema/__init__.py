"""Every shape that crosses the wire, requests and responses: one pydantic model each.

The OpenAPI components are generated from these (service/openapi); the serializers build
through them, so a field is named, typed and documented in one place.
"""

from civil.schema.decision import Decision, Reason, Scores, Signal
from civil.schema.intake import (
    ArticleIn,
    AuthorIn,
    CommentIn,
    FeedbackIn,
    PolicyIn,
    PolicyOverrideIn,
)
from civil.schema.moderation import (
    ActionOutcome,
    AuditEntry,
    BulkAction,
    BulkResult,
    BulkSkip,
    Claimed,
    ModeratorAction,
    QueueFilter,
    QueueItem,
    QueuePage,
    Released,
)
from civil.schema.readers import (
    AppealAnswer,
    AppealIn,
    AppealOut,
    ErasureOut,
    ReportIn,
    ReportOut,
    Statement,
)
from civil.schema.responses import (
    Alive,
    CommentState,
    Delivery,
    DeliveryAttempt,
    DeliveryList,
    FeedbackOut,
    Links,
    Ready,
    ReplayedDelivery,
)
from civil.schema.tuning import (
    Calibration,
    PolicyChangeIn,
    PolicyHistory,
    PolicyState,
    Promoted,
    ShadowReport,
)
from civil.schema.wire import Error, Out, Rfc3339, rfc3339, validation_errors

__all__ = [
    "ActionOutcome",
    "Alive",
    "AppealAnswer",
    "AppealIn",
    "AppealOut",
    "ArticleIn",
    "AuditEntry",
    "AuthorIn",
    "BulkAction",
    "BulkResult",
    "BulkSkip",
    "Calibration",
    "Claimed",
    "CommentIn",
    "CommentState",
    "Decision",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryList",
    "ErasureOut",
    "Error",
    "FeedbackIn",
    "FeedbackOut",
    "Links",
    "ModeratorAction",
    "Out",
    "PolicyChangeIn",
    "PolicyHistory",
    "PolicyIn",
    "PolicyOverrideIn",
    "PolicyState",
    "Promoted",
    "QueueFilter",
    "QueueItem",
    "QueuePage",
    "Ready",
    "Reason",
    "Released",
    "ReplayedDelivery",
    "ReportIn",
    "ReportOut",
    "Rfc3339",
    "Scores",
    "ShadowReport",
    "Signal",
    "Statement",
    "rfc3339",
    "validation_errors",
]
