"""Admin building blocks shared by the apps' consoles."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows without add, edit or delete: these models change only through their services (actions,
    transition buttons and forms that call them)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
