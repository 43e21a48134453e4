"""The event store the app writes, the read models projectord writes, and the record of sent welcome emails.

EventStoreRecord is the table projectord's `django_event_store` preset reads (users_eventstorerecord).
UserProjection and UserEventLog are unmanaged: projectord creates, fills and rebuilds user_projection and
user_event_log (`projectord migrate`), Django only reads them.
"""
import uuid

from django.db import models
from django.utils import timezone


class EventStoreRecord(models.Model):
    """One event of one user. A user's versions count 1, 2, 3, ...: the unique (aggregate_id, version) pair
    refuses a second writer who read the same history (optimistic concurrency)."""

    aggregate_id = models.IntegerField()
    event_id = models.CharField(max_length=36, unique=True, default=uuid.uuid4)
    event_type = models.CharField(max_length=100)
    event_data = models.JSONField()
    version = models.IntegerField()
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate_id", "version"], name="users_eventstorerecord_aggregate_id_version_uniq"
            )
        ]

    def __str__(self):
        return f"{self.event_type} v{self.version} of user {self.aggregate_id}"


class UserProjection(models.Model):
    """A user as their events make them, written by projectord's `users` handler."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.CharField(max_length=255, unique=True)
    username = models.CharField(max_length=150, unique=True)
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=30)
    last_name = models.CharField(max_length=30)
    phone = models.CharField(max_length=20)
    is_active = models.BooleanField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deactivated_at = models.DateTimeField(null=True)
    current_version = models.PositiveIntegerField()
    last_event_processed = models.PositiveIntegerField()

    class Meta:
        managed = False
        db_table = "user_projection"

    def __str__(self):
        return self.username


class UserEventLog(models.Model):
    """Every event, as projectord's `event_log` handler appends it; global_position is the event's id."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    event_version = models.PositiveIntegerField()
    event_data = models.JSONField()
    timestamp = models.DateTimeField()
    processed_at = models.DateTimeField()
    global_position = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "user_event_log"
        ordering = ["global_position"]

    def __str__(self):
        return f"{self.event_type} v{self.event_version} of user {self.user_id}"


class WelcomeEmail(models.Model):
    """A welcome email sent, keyed by the Celery task id, which projectord derives from the event's
    idempotency key: a task delivered twice finds its row and sends nothing."""

    task_id = models.CharField(max_length=36, primary_key=True)
    user_id = models.CharField(max_length=255)
    email = models.EmailField(max_length=254)
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"welcome email to {self.email}"
