"""Fakes that the tests and ``make demo`` share: real servers on loopback, not patched functions."""

from .attachments import FakeStorage
from .fake_github import FakeGitHub, GitHubRequest

__all__ = ["FakeGitHub", "FakeStorage", "GitHubRequest"]
