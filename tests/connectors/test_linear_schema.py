"""Every GraphQL document the Linear client sends validates against Linear's schema."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from connectors.linear import DOCUMENTS

SCHEMA_VARIABLE = "JOURNEYOPS_LINEAR_SCHEMA"


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    location = os.environ.get(SCHEMA_VARIABLE)
    if not location or not Path(location).is_file():
        pytest.skip(
            f"{SCHEMA_VARIABLE} does not name Linear's schema file "
            f"(got {location!r}); set it to validate the GraphQL documents"
        )
    return build_schema(Path(location).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates(schema: GraphQLSchema, name: str) -> None:
    errors = validate(schema, parse(DOCUMENTS[name]))
    assert errors == [], [error.message for error in errors]
