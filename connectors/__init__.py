"""One typed client per outside service, and local stand-ins that speak their protocols."""
