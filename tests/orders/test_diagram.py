from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from orders.diagram import render_dot, render_mermaid
from orders.fsm import TRANSITION_NAMES

DOCS = Path(settings.BASE_DIR) / "docs"


def test_committed_diagram_matches_the_fsm_in_code():
    assert (DOCS / "order-states.dot").read_text() == render_dot()
    assert (DOCS / "order-states.md").read_text() == render_mermaid()
    assert (DOCS / "order-states.svg").exists()


def test_diagram_draws_every_transition():
    dot = render_dot()
    for name in TRANSITION_NAMES:
        assert f'label="{name}' in dot


def test_check_mode_fails_on_a_stale_diagram(tmp_path):
    call_command("order_state_diagram", out=str(tmp_path))
    call_command("order_state_diagram", out=str(tmp_path), check=True)
    (tmp_path / "order-states.md").write_text("stale")
    with pytest.raises(CommandError, match="Out of date"):
        call_command("order_state_diagram", out=str(tmp_path), check=True)
