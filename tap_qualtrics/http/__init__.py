"""The HTTP layer: the base stream (envelope, paging), credentials, retries, the run's request budget, errors as sentences."""
