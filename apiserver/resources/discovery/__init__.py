"""Resources of `discovery.k8s.io`: EndpointSlices, the scalable successor of Endpoints."""
