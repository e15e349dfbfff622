"""The document's components, generated from the wire models in civil.schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from civil import schema
from civil.schema import admin, coral

REF = "#/components/schemas/{model}"
# Requests are documented as what validates them; responses as what the serializers dump.
REQUESTS: dict[str, type[BaseModel]] = {
    "CommentIn": schema.CommentIn,
    "FeedbackIn": schema.FeedbackIn,
    "QueueFilter": schema.QueueFilter,
    "ModeratorAction": schema.ModeratorAction,
    "BulkAction": schema.BulkAction,
    "ReportIn": schema.ReportIn,
    "AppealIn": schema.AppealIn,
    "CoralRequest": coral.CoralRequest,
    "CoralSecretIn": coral.CoralSecretIn,
    "SiteCreate": admin.SiteCreate,
    "SiteUpdate": admin.SiteUpdate,
    "NotifyIn": admin.NotifyIn,
    "ModeratorCreate": admin.ModeratorCreate,
    "ModeratorUpdate": admin.ModeratorUpdate,
    "PasswordReset": admin.PasswordReset,
    "PolicyChangeIn": schema.PolicyChangeIn,
}
RESPONSES: dict[str, type[BaseModel]] = {
    "CommentState": schema.CommentState,
    "Decision": schema.Decision,
    "Reason": schema.Reason,
    "FeedbackOut": schema.FeedbackOut,
    "Delivery": schema.Delivery,
    "DeliveryList": schema.DeliveryList,
    "ReplayedDelivery": schema.ReplayedDelivery,
    "Error": schema.Error,
    "Alive": schema.Alive,
    "Ready": schema.Ready,
    "QueueItem": schema.QueueItem,
    "QueuePage": schema.QueuePage,
    "ActionOutcome": schema.ActionOutcome,
    "Claimed": schema.Claimed,
    "Released": schema.Released,
    "BulkResult": schema.BulkResult,
    "ReportOut": schema.ReportOut,
    "AppealOut": schema.AppealOut,
    "AppealAnswer": schema.AppealAnswer,
    "Statement": schema.Statement,
    "ErasureOut": schema.ErasureOut,
    "CoralResponse": coral.CoralResponse,
    "CoralConfig": coral.CoralConfig,
    "SiteOut": admin.SiteOut,
    "SiteList": admin.SiteList,
    "SiteCredentials": admin.SiteCredentials,
    "RotatedKey": admin.RotatedKey,
    "RotatedSecret": admin.RotatedSecret,
    "Deleted": admin.Deleted,
    "ModeratorOut": admin.ModeratorOut,
    "ModeratorList": admin.ModeratorList,
    "ModeratorCreated": admin.ModeratorCreated,
    "RotatedToken": admin.RotatedToken,
    "PolicyState": schema.PolicyState,
    "PolicyHistory": schema.PolicyHistory,
    "ShadowReport": schema.ShadowReport,
    "Promoted": schema.Promoted,
    "Calibration": schema.Calibration,
}


def ref(name: str) -> dict[str, str]:
    if name not in REQUESTS and name not in RESPONSES:
        raise KeyError(f"no wire model documented as {name}")
    return {"$ref": REF.format(model=name)}


def _add(out: dict[str, Any], name: str, model: type[BaseModel], mode: str) -> None:
    generated = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    for nested, body in generated.pop("$defs", {}).items():
        out.setdefault(nested, body)
    # A self-referencing model (Decision keeps the automatic one in `auto`) comes back as a
    # bare $ref to its own definition, which is already in place.
    if generated != ref(name):
        out[name] = generated


def schemas() -> dict[str, Any]:
    """Every wire model's JSON Schema, its nested models beside it, referenced by name."""
    out: dict[str, Any] = {}
    for name, model in REQUESTS.items():
        _add(out, name, model, "validation")
    for name, model in RESPONSES.items():
        _add(out, name, model, "serialization")
    return out


def queue_filter_parameters() -> list[dict[str, Any]]:
    """The queue filter's fields as query parameters (GET /v1/queue takes them as strings)."""
    properties = schema.QueueFilter.model_json_schema(ref_template=REF)["properties"]
    return [
        {"name": name, "in": "query", "schema": _not_null(body)}
        for name, body in properties.items()
    ]


def _not_null(body: dict[str, Any]) -> dict[str, Any]:
    # A query parameter is absent or a string; "null" is not one of its values.
    options = [o for o in body.get("anyOf", []) if o.get("type") != "null"]
    plain = options[0] if len(options) == 1 else body
    extra = {k: v for k, v in body.items() if k in ("description", "default") and v is not None}
    return {**{k: v for k, v in plain.items() if k != "title"}, **extra}
