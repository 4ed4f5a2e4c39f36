"""PolicyError: a problem in the rules or the directory, phrased for the admin: 'rules/10-pii.yaml:12: ...'."""

from __future__ import annotations

from gateway.config.yamlfile import FileProblems


class PolicyError(FileProblems):
    """`problems` holds one line per problem, so `gateway rules check` can list all of them at once."""
