"""Editing from the console: the YAML editor with server-side dry-run, diff and apply, multi-document create, and
delete with a propagation policy (issue 7 item 5).

Separate from browsing because everything here writes: each request is a server-side apply (or DELETE) made as the
logged-in user through `session.transport`, with the console's own field manager `pilothouse-console`, so RBAC,
admission, strict field validation and audit see exactly what kubectl would have sent. The modules hold no Django
except `views`; they are tested directly with a transport.
"""
