"""The contract's limits that callers check before a request, importable without httpx."""

MAX_PROMPT_CHARS = 100_000  # a prompt's length, in characters (the contract's POST /v1/tasks)
