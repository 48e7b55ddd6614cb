"""The pure survey model: structure from the definition, export columns, answer rows, and value conversions (no HTTP, no Singer)."""
