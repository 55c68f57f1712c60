"""Observability beside the layers: Prometheus metrics under kube-apiserver's names (and, later, logging setup).

Imports nothing from the API server's layers, so every layer, storage included, may record into it.
"""
