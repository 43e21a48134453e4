"""The user aggregate's commands: each checks the user's history and appends one event to EventStoreRecord.

The payloads are what projectord's `users` and `event_log` handlers read: UserRegistered {username, email,
first_name, last_name}, UserEmailChanged {old_email, new_email}, UserProfileUpdated {first_name, last_name,
phone: only those that change}, UserDeactivated {reason}. Each command returns the record it appended; its
id is the event's position in the store, which projectord_wait.wait_for takes.
"""
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max

from .models import EventStoreRecord


class UserError(Exception):
    """A command that the user's history refuses."""


class ConcurrentWrite(UserError):
    """Another writer appended to the same user first; read the history again and retry."""


@dataclass
class User:
    """What the commands need to know about a user, folded from their events."""

    user_id: int
    version: int = 0
    email: str = ""
    is_active: bool = False


def load_user(user_id):
    user = User(user_id)
    for record in EventStoreRecord.objects.filter(aggregate_id=user_id).order_by("version"):
        user.version = record.version
        if record.event_type == "UserRegistered":
            user.email = record.event_data["email"]
            user.is_active = True
        elif record.event_type == "UserEmailChanged":
            user.email = record.event_data["new_email"]
        elif record.event_type == "UserDeactivated":
            user.is_active = False
    return user


def _active_user(user_id):
    user = load_user(user_id)
    if user.version == 0:
        raise UserError(f"no user {user_id}")
    if not user.is_active:
        raise UserError(f"user {user_id} is deactivated")
    return user


def _append(user_id, version, event_type, data):
    # The savepoint keeps the caller's transaction usable when the unique (aggregate_id, version) refuses us.
    try:
        with transaction.atomic():
            return EventStoreRecord.objects.create(
                aggregate_id=user_id, version=version, event_type=event_type, event_data=data
            )
    except IntegrityError as error:
        raise ConcurrentWrite(f"user {user_id} changed meanwhile: {error}") from error


def register_user(username, email, first_name="", last_name=""):
    """Appends UserRegistered for a new user id (one above the highest); two registrations racing for the same
    id meet the unique version 1 and one of them gets ConcurrentWrite."""
    with transaction.atomic():
        registrations = EventStoreRecord.objects.filter(event_type="UserRegistered")
        if registrations.filter(event_data__username=username).exists():
            raise UserError(f"username {username} is taken")
        user_id = (EventStoreRecord.objects.aggregate(last=Max("aggregate_id"))["last"] or 0) + 1
        data = {"username": username, "email": email, "first_name": first_name, "last_name": last_name}
        return _append(user_id, 1, "UserRegistered", data)


def change_email(user_id, new_email):
    with transaction.atomic():
        user = _active_user(user_id)
        if new_email == user.email:
            raise UserError(f"user {user_id} already has {new_email}")
        data = {"old_email": user.email, "new_email": new_email}
        return _append(user_id, user.version + 1, "UserEmailChanged", data)


def update_profile(user_id, **changes):
    """changes: first_name, last_name and/or phone; the others keep their values."""
    unknown = set(changes) - {"first_name", "last_name", "phone"}
    if unknown or not changes:
        raise UserError(f"a profile update changes first_name, last_name or phone, not {sorted(unknown)}")
    with transaction.atomic():
        user = _active_user(user_id)
        return _append(user_id, user.version + 1, "UserProfileUpdated", changes)


def deactivate_user(user_id, reason):
    with transaction.atomic():
        user = _active_user(user_id)
        return _append(user_id, user.version + 1, "UserDeactivated", {"reason": reason})
