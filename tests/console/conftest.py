import pytest
from django.contrib.auth.models import Group, User

from console.roles import ROLES


def _member(role: str) -> User:
    user = User.objects.create_user(f"{role}-user", f"{role}@example.com", "pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def role_user(db):
    """role name → a staff user whose only permissions come from that role's group."""
    return _member


@pytest.fixture
def viewer(db):
    return _member("viewer")


@pytest.fixture
def operator_user(db):
    return _member("operator")


@pytest.fixture
def admin_user_role(db):
    return _member("admin")


__all__ = ["ROLES"]
