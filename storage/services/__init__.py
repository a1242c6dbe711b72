"""Order operations on the database: platform-neutral, language-neutral.

Each operation runs inside the caller's unit of work, checks the lifecycle
rules, writes the change and its audit event, and returns the domain events
that the handlers turn into replies and notifications.
"""
