"""L6 controllers: reconcile loops that read through informers and write through the public API."""
