"""gendan transport and framework core: platforms, dispatch, server; knows nothing about orders."""
