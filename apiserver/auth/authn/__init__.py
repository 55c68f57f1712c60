"""Authentication: who sent a request. One module per kind of credential, combined in `union.py`.

The chain kube-apiserver runs, in order: front-proxy headers (`requestheader.py`), client certificates
(`x509.py`), bearer tokens (`tokens.py`: static tokens, ServiceAccount JWTs from `serviceaccount.py`, bootstrap
tokens from `bootstrap.py`), and `anonymous.py` last when enabled. Contracts live in `interface.py`.
"""
