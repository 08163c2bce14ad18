"""Placing signals on journey steps: an offline classifier, an LLM classifier and a router."""
