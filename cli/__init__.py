"""The ``journeyops`` command line."""
