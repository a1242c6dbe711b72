"""Fakes shared by the tests: fake platform servers and request builders."""
