"""L3 admission: the ordered admission chain and its plugins."""
