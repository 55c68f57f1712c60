"""L4 ASGI plumbing shared by the filters, the endpoints and the in-process client.

Reading requests (`request.py`), writing responses (`responses.py`) and streaming until the client goes away
(`streaming.py`), all as plain ASGI with no framework, because every API request pays for this code.
"""
