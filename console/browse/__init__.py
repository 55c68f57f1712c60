"""Browse any resource the server serves: navigation from discovery, Table-backed lists, detail pages, palette."""
