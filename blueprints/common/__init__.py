"""Cross-cutting web helpers: API error families, authentication, htmx rendering."""
