"""L3 resources: one declaration module per built-in resource, collected by the catalog."""
