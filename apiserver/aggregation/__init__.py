"""L5 aggregation: proxying to APIService backends and merging their discovery."""
