"""Resources of the `autoscaling` group: HorizontalPodAutoscalers, served as v2 (preferred) and v1."""
