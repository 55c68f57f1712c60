"""Outbound webhook calls (admission, conversion): service references, CA bundles, no redirects, timeouts."""
