"""ServiceAccount pages: list and create ServiceAccounts, issue tokens (TokenRequest), download a kubeconfig,
list an account's bindings and its legacy token Secrets (revoked by deletion).

Tokens are issued by the API as the logged-in user (`create serviceaccounts/token`) and returned once in the
response; the console never stores them.
"""
