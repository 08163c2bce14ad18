"""What prefect.yaml cannot express: serving the flows from one process for small teams."""
