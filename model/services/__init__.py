"""Business rules of the journey model. Services flush, never commit: the caller does."""
