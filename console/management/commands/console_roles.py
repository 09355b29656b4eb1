from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from console.roles import ROLES, roles_sync


class Command(BaseCommand):
    help = "Creates the viewer, operator and admin groups with their permissions; optionally puts a user in one."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="username to give the role (made staff; its other roles are removed)")
        parser.add_argument("--role", choices=ROLES, help="the role for --user")

    def handle(self, *args, user=None, role=None, **options):
        if bool(user) != bool(role):
            raise CommandError("Give --user and --role together.")
        for name, count in roles_sync().items():
            self.stdout.write(f"{name}: {count} permissions")
        if not user:
            return
        User = get_user_model()
        try:
            account = User.objects.get(**{User.USERNAME_FIELD: user})
        except User.DoesNotExist as exc:
            raise CommandError(f"No user {user!r}.") from exc
        account.groups.remove(*account.groups.filter(name__in=ROLES))
        account.groups.add(Group.objects.get(name=role))
        account.is_staff = True
        account.save(update_fields=["is_staff"])
        self.stdout.write(f"{user} is now {role}.")
