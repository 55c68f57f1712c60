"""Group, version, kind and resource names, and their string forms as upstream prints them.

Mirrors k8s.io/apimachinery/pkg/runtime/schema/group_version.go: `apiVersion` strings parse into a
`GroupVersion` (`v1` is the core group, `apps/v1` a named one), and the `String()` forms used in messages
(`apps/v1, Kind=Deployment`, `deployments.apps`) are reproduced exactly because they appear in Status texts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True, slots=True)
class GroupVersion:
    """An API group and version; `group` is "" for the core group."""

    group: str
    version: str

    @classmethod
    def parse(cls, api_version: str) -> Self:
        """Read an `apiVersion` string as upstream's ParseGroupVersion does.

        "" and "/" give the empty GroupVersion; `v1` the core group; `apps/v1` a named group. More than one
        '/' raises ValueError with upstream's message.
        """
        if api_version in ("", "/"):
            return cls("", "")
        match api_version.count("/"):
            case 0:
                return cls("", api_version)
            case 1:
                group, version = api_version.split("/")
                return cls(group, version)
        raise ValueError(f"unexpected GroupVersion string: {api_version}")

    @property
    def api_version(self) -> str:
        """The `apiVersion` field value: `v1`, `apps/v1`."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def with_kind(self, kind: str) -> GroupVersionKind:
        return GroupVersionKind(self.group, self.version, kind)

    def with_resource(self, resource: str) -> GroupVersionResource:
        return GroupVersionResource(self.group, self.version, resource)

    def __str__(self) -> str:
        return self.api_version


@dataclass(frozen=True, slots=True)
class GroupVersionKind:
    group: str
    version: str
    kind: str

    @classmethod
    def from_api_version_and_kind(cls, api_version: str, kind: str) -> Self:
        """Upstream's FromAPIVersionAndKind: an unparseable `apiVersion` leaves group and version empty."""
        try:
            group_version = GroupVersion.parse(api_version)
        except ValueError:
            return cls("", "", kind)
        return cls(group_version.group, group_version.version, kind)

    @property
    def group_version(self) -> GroupVersion:
        return GroupVersion(self.group, self.version)

    @property
    def api_version(self) -> str:
        return self.group_version.api_version

    @property
    def group_kind(self) -> GroupKind:
        return GroupKind(self.group, self.kind)

    def __str__(self) -> str:
        # Upstream: `apps/v1, Kind=Deployment`, and `/v1, Kind=Pod` for the core group.
        return f"{self.group}/{self.version}, Kind={self.kind}"


@dataclass(frozen=True, slots=True)
class GroupVersionResource:
    group: str
    version: str
    resource: str

    @property
    def group_version(self) -> GroupVersion:
        return GroupVersion(self.group, self.version)

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.resource)

    def __str__(self) -> str:
        return f"{self.group}/{self.version}, Resource={self.resource}"


@dataclass(frozen=True, slots=True)
class GroupResource:
    """A resource within its group; `str()` is the `deployments.apps` form of NotFound and Conflict messages."""

    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


@dataclass(frozen=True, slots=True)
class GroupKind:
    """A kind within its group; `str()` is the `Deployment.apps` form of Invalid messages."""

    group: str
    kind: str

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind
