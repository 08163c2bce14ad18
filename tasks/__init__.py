"""Small, idempotent Prefect tasks. They take ids and plain values, never sessions or secrets."""
