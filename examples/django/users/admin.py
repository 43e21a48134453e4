import os
import urllib.error
import urllib.request

from django.conf import settings
from django.contrib import admin, messages

from .models import UserEventLog, UserProjection


def ask_projectord(command, handler):
    """POSTs an admin call to the running daemon; returns (HTTP status, body). The token comes from the
    environment (PROJECTORD_ADMIN_TOKEN), as the daemon's own does."""
    request = urllib.request.Request(
        f"{settings.PROJECTORD_URL}/admin/{command}/{handler}",
        method="POST",
        headers={"Authorization": f"Bearer {os.environ.get('PROJECTORD_ADMIN_TOKEN', '')}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class ReadModelAdmin(admin.ModelAdmin):
    """projectord owns these tables: the admin only reads them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UserProjection)
class UserProjectionAdmin(ReadModelAdmin):
    list_display = ("user_id", "username", "email", "first_name", "last_name", "is_active", "current_version")
    list_filter = ("is_active",)
    search_fields = ("username", "email")
    actions = ["rebuild_read_model"]

    @admin.action(description="Rebuild the read model")
    def rebuild_read_model(self, request, queryset):
        # The whole model is rebuilt from the event store, whichever rows were selected.
        try:
            status, body = ask_projectord("rebuild", "users")
        except urllib.error.URLError as error:
            self.message_user(request, f"projectord cannot be reached: {error.reason}", messages.ERROR)
            return
        if status == 202:
            self.message_user(request, "projectord is rebuilding the users read model.", messages.SUCCESS)
        else:
            self.message_user(request, f"projectord refused the rebuild ({status}): {body}", messages.ERROR)


@admin.register(UserEventLog)
class UserEventLogAdmin(ReadModelAdmin):
    list_display = ("global_position", "user_id", "event_type", "event_version", "timestamp")
    list_filter = ("event_type",)
