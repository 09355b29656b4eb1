import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from console.roles import OPERATOR_PERMISSIONS, ROLES

# Which role is offered each state-changing admin action: an operator repairs, only an admin deletes or unlocks.
OPERATOR_ACTIONS = {
    "orders.Order": {"cancel_orders", "release_holds"},
    "sync.Endpoint": {"enable", "disable", "replay_dead"},
    "sync.Delivery": {"replay", "cancel"},
    "sync.OperatorAlert": {"resolve"},
    "channels_integration.InboundMessage": {"reprocess"},
    "notifications.Notification": {"resend"},
}


def offered(user, model_admin) -> set[str]:
    request = RequestFactory().get("/")
    request.user = user
    return set(model_admin.get_actions(request))


def test_migrate_made_the_three_groups(db):
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_a_viewer_only_views(viewer):
    codenames = set(viewer.get_all_permissions())
    assert codenames and all(name.split(".", 1)[1].startswith("view_") for name in codenames)
    assert not any(name.startswith(("auth.", "axes.")) for name in codenames)


def test_an_operator_holds_the_repairs_and_views_but_no_edits(operator_user):
    held = operator_user.get_all_permissions()
    assert set(OPERATOR_PERMISSIONS) <= held
    assert not [p for p in held if p.split(".")[1].startswith(("add_", "delete_"))]
    assert "channels_integration.change_apikey" not in held


def test_an_admin_holds_everything(admin_user_role):
    assert len(admin_user_role.get_all_permissions()) == Permission.objects.count()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_offered_exactly_its_actions(role, role_user):
    user = role_user(role)
    for model, model_admin in admin.site._registry.items():
        actions = offered(user, model_admin)
        label = model._meta.label
        if role == "viewer":
            assert actions == set(), f"a viewer is offered {actions} on {label}"
        elif role == "operator":
            assert actions == OPERATOR_ACTIONS.get(label, set()), label
        else:
            assert OPERATOR_ACTIONS.get(label, set()) <= actions, label


def test_the_command_is_idempotent_and_assigns_a_role(operator_user, capsys):
    Group.objects.get(name="viewer").permissions.clear()
    call_command("console_roles", "--user", operator_user.username, "--role", "viewer")
    call_command("console_roles")
    operator_user.refresh_from_db()
    assert list(operator_user.groups.values_list("name", flat=True)) == ["viewer"]
    assert Group.objects.get(name="viewer").permissions.exists()
    assert "is now viewer" in capsys.readouterr().out


def test_the_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("console_roles", "--user", "ghost", "--role", "viewer")
