"""The journey model: tables, repositories, services and settings."""
