"""Live tail: the console's WebSocket that relays a Kubernetes watch made as the logged-in user.

Separate from the page views because it speaks another protocol (a long-lived WebSocket, not request/response):
`protocol` validates what the page asks for and shapes what it is sent, `batching` groups bursts of events into
~100 ms messages, `relay` keeps one watch open through the user's own transport (re-opening it from the last
resourceVersion, re-list on 410), `consumer` is the Channels consumer (session from the cookie, session timeouts
on open sockets), and `routing` is what the composition root mounts under /console/ws/ behind the Origin check.
"""
