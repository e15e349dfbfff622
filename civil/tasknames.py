"""Task and queue names: the API enqueues by name so it never imports the worker code."""

SCORING, DELIVERY, MAINTENANCE = "scoring", "delivery", "maintenance"
SCORE_COMMENT = "civil.score_comment"
DELIVER_EVENT = "civil.deliver_event"
DELIVER_SITE = "civil.deliver_site"
SWEEP_PENDING = "civil.sweep_pending"
DISPATCH_DELIVERIES = "civil.dispatch_deliveries"
NOTIFY_MODERATORS = "civil.notify_moderators"
