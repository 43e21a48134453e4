"""The Celery app of the tests: the Django guide's welcome-email task, as a Django project would register it.

Each run of the task is recorded (task id and arguments, as JSON) on the Redis list named by
PROJECTORD_CELERY_RECORD, in the broker's database, so that a test can count how often it ran and with what.
"""
import json
import os

import redis
from celery import Celery

BROKER = os.environ["PROJECTORD_CELERY_BROKER"]
RECORD = os.environ["PROJECTORD_CELERY_RECORD"]

app = Celery("welcome", broker=BROKER)
app.conf.update(accept_content=["json"], task_serializer="json", broker_connection_retry_on_startup=True)
recorder = redis.Redis.from_url(BROKER)


@app.task(name="users.tasks.send_welcome_email", bind=True)
def send_welcome_email(self, user_id, email, name=None):
    recorder.rpush(RECORD, json.dumps({"id": self.request.id, "args": [user_id, email], "name": name}))
