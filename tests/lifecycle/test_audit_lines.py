"""``mixflow audit``'s lines name the alias a promotion moved (``promote champion: v1 -> v2``),
and ``promote --reason`` is a required option, marked so in ``--help``."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.lifecycle.audit import AuditAction, AuditRecord, describe_record


def _record(action: AuditAction, **fields: Any) -> dict[str, Any]:
    base = {"actor": "alice", "model": "brand", "version": "2", "reason": "Q1 model"}
    return AuditRecord(action=action, **{**base, **fields}).to_dict()


@pytest.mark.parametrize(
    ("record", "line"),
    [
        (
            _record(AuditAction.PROMOTE, before="1", after="2", extra={"alias": "champion"}),
            "promote champion: v1 -> v2 by alice: Q1 model",
        ),
        (
            _record(AuditAction.PROMOTE, before=None, after="2", extra={"alias": "challenger"}),
            "promote challenger: (none) -> v2 by alice: Q1 model",
        ),
        (
            _record(
                AuditAction.OVERRIDE,
                before="1",
                after="2",
                extra={
                    "alias": "champion",
                    "failed_gates": ["holdout_r2"],
                    "override_reason": "reviewed",
                },
            ),
            "promote champion: v1 -> v2 (gates overridden: holdout_r2; reviewed) "
            "by alice: Q1 model",
        ),
        (
            _record(AuditAction.ARCHIVE, before="champion"),
            "archive v2 (aliases removed: champion) by alice: Q1 model",
        ),
        (
            _record(AuditAction.REFRESH, version="3", before="2", after="3"),
            "refresh challenger v3; champion: v2 -> v3 by alice: Q1 model",
        ),
        (
            _record(AuditAction.REFRESH, version="3", before="2", after="2"),
            "refresh challenger v3; champion stays v2 by alice: Q1 model",
        ),
        (_record(AuditAction.REGISTER, version="4"), "register v4 by alice: Q1 model"),
    ],
)
def test_audit_lines_name_the_alias_and_versions(record: dict[str, Any], line: str) -> None:
    assert describe_record(record) == line


def test_promote_reason_is_marked_required_and_enforced() -> None:
    runner = CliRunner()
    help_text = runner.invoke(app, ["promote", "--help"], terminal_width=200).output
    (reason_line,) = [row for row in help_text.splitlines() if "--reason" in row]
    assert "required" in reason_line
    missing = runner.invoke(app, ["promote", "brand", "1", "--to", "champion"])
    assert missing.exit_code == 2
    assert "Missing option '--reason'" in missing.output
