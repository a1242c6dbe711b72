"""Every user-facing Chinese string lives in this package."""
