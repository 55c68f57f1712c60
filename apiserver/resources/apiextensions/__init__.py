"""Resources of `apiextensions.k8s.io`: CustomResourceDefinitions; `crd.py` turns each into a ResourceSpec."""
