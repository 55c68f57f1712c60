"""Auditing (kube-apiserver's `--audit-policy-file` and `--audit-log-*`): who did what, when, with what outcome.

- `policy`: the audit.k8s.io/v1 Policy, its validation, and the level and stages a request is audited at.
- `events`: the audit.k8s.io/v1 Event of one request at each stage, with Secret data and tokens redacted.
- `backend`: JSON lines to a file (or stdout) with lumberjack's size/age/count rotation, written off the event loop.

The ASGI filter that drives them is `apiserver.filters.audit`. This package knows nothing about HTTP or storage:
it sits beside `auth` and `admission`, on top of `meta` only.
"""
