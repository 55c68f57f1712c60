"""The operator web console: a Django app that talks to the API only through `apiserver.client`."""
