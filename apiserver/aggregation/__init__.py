"""L5 aggregation: proxying to APIService backends and merging their discovery (kube-aggregator's request side).

Separate from the endpoints because it serves no resource of its own: it decides, from APIService objects, which
group-versions another server answers, and relays those requests there after this server's own filter chain.

- `apiservices`: the index of remote APIServices the proxy and discovery read on every request;
- `proxy`: the ASGI app in front of the router that forwards remote group-versions (X-Remote-* headers);
- `transport`: TLS towards backends (front-proxy client certificate, caBundle, server name);
- `backend`: the aggregator's own GETs (availability probe, discovery fetch);
- `availability`: the Available condition's checks and upstream's reasons;
- `discovery`: remote group-versions merged into /apis, /apis/<group> and aggregated discovery.
"""
