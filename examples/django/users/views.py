"""Two small pages: register a user (a write), and show a user as the read model has them (a read)."""
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from projectord_wait import waits_for_projection

from . import domain
from .models import UserProjection


@require_POST
@waits_for_projection
def register(request):
    try:
        record = domain.register_user(
            request.POST["username"],
            request.POST["email"],
            request.POST.get("first_name", ""),
            request.POST.get("last_name", ""),
        )
    except domain.UserError as error:
        return HttpResponseBadRequest(str(error))
    request.projectord_position = record.id
    return redirect("user", user_id=record.aggregate_id)


def user(request, user_id):
    projection = get_object_or_404(UserProjection, user_id=str(user_id))
    return JsonResponse(
        {
            "user_id": projection.user_id,
            "username": projection.username,
            "email": projection.email,
            "first_name": projection.first_name,
            "last_name": projection.last_name,
            "phone": projection.phone,
            "is_active": projection.is_active,
            "version": projection.current_version,
        }
    )
