//! Fixture tests: real public collections (tests/fixtures/import/*) import, validate and
//! round-trip through the Postman export.
