"""factory_boy factories; one module per domain. They commit, like a real use case."""
