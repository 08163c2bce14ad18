"""Prefect flows: thin, they only sequence tasks."""
