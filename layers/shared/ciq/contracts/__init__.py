"""Pydantic models of what the API speaks: entities, mutations, responses and limits."""
