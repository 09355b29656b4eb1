"""Admin building blocks shared by the apps' consoles."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows without add, edit or delete: these models change only through their services (actions,
    transition buttons and forms that call them).

    Actions that change anything declare `permissions=["operate"]`: they need the model's change permission,
    although the edit form stays hidden from everyone.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
