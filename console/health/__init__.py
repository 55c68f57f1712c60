"""The console's Health page: /livez, /readyz and /healthz check by check with their history, the storage backend and
request charts, all read from the server's `GET /debug/pilothouse/health` as the logged-in user.

`report` turns that JSON into display values (pure, tested without Django), `charts` draws them as SVG geometry,
`views` is the Django view. Nothing here imports server or storage code: the JSON is the only contract.
"""
