"""admission.NewForbidden: the Forbidden error a plugin refuses a request with.

Upstream names the object of the request (its name, else the new object's name or generateName, else
`Unknown`) and qualifies the resource with its group: `pods "x" is forbidden: <reason>`.
"""
from __future__ import annotations

from apiserver.admission.interface import AdmissionAttributes
from apiserver.meta.errors import Forbidden


def object_name(attributes: AdmissionAttributes) -> str:
    if attributes.name:
        return attributes.name
    metadata = (attributes.object or {}).get("metadata")
    if isinstance(metadata, dict):
        return str(metadata.get("name") or metadata.get("generateName") or "Unknown")
    return "Unknown"


def forbidden(attributes: AdmissionAttributes, reason: str) -> Forbidden:
    return Forbidden(attributes.resource, object_name(attributes), reason, group=attributes.group)
