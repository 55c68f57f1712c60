"""Resources of the `apps` group: the workload controllers' objects (deployments, replica sets, …).

Grouped by API group, as upstream's registry is, so a group's resources share its printers and conventions.
"""
