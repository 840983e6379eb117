"""``ccenter api``: the authenticated HTTP API for back-end systems, BI and the production desktops.

FastAPI lives here and only here (an import-linter contract says so); the desktop reaches the API
through :mod:`connectors.center`, never through this package.
"""
