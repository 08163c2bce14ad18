"""The HTTP API: the journey model for product teams, behind workspace tokens."""
