"""Resources of `storage.k8s.io`: storage classes, CSI drivers and nodes, capacities and volume attachments.

(Not to be confused with `apiserver.storage`, the revisioned byte store: these are API declarations.)
"""
