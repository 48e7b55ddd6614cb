"""The response-export engine: start, poll, download to a temporary file, read records; several in flight; shorter windows."""
