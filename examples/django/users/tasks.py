from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction

from .models import WelcomeEmail


# Named explicitly: projectord.toml's welcome_email handler queues it by this name.
@shared_task(name="users.tasks.send_welcome_email", bind=True)
def send_welcome_email(self, user_id, email, name=None):
    """Queued by projectord for each UserRegistered, at least once, with a task id derived from the event: the
    WelcomeEmail row of that id is written in the transaction that sends, so a second delivery sends nothing
    (a concurrent one waits on the row's key, then finds it)."""
    with transaction.atomic():
        _, created = WelcomeEmail.objects.get_or_create(
            task_id=self.request.id, defaults={"user_id": user_id, "email": email}
        )
        if created:
            send_mail("Welcome!", f"Hello {name or email}, welcome aboard.", None, [email])
