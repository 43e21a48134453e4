"""The project end to end: writes through the ORM, a real projectord daemon projecting them, a real Celery
worker sending the welcome email, the admin action rebuilding the read model.

Needs the daemon binary (PROJECTORD_BIN, or projectord on PATH) and CELERY_BROKER_URL (a Redis the worker
and the daemon share); both run against the test database Django created. Django empties the tables it
manages after each test, which a daemon that had read them takes for a store gone back in time: so each test
starts a daemon of its own on a freshly migrated projectord schema, and removes both afterwards.
"""
import io
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import TestCase, TransactionTestCase, override_settings
from django.urls import reverse

from projectord_wait import wait_for

from . import domain
from .models import EventStoreRecord, UserEventLog, UserProjection, WelcomeEmail
from .tasks import send_welcome_email

CONFIG = Path(settings.BASE_DIR) / "projectord.toml"
DEADLINE_SECONDS = 60


def poll(condition, what):
    """Returns condition()'s first true value, checking until the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {DEADLINE_SECONDS} s: {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class EndToEndTest(TransactionTestCase):
    # Positions start at 1 in every test: a store whose first ids are gone reads as holes to wait for.
    reset_sequences = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mail_dir = tempfile.mkdtemp(prefix="projectord-django-mail-")
        cls.addClassCleanup(shutil.rmtree, cls.mail_dir)
        listen = f"127.0.0.1:{free_port()}"
        cls.env = {
            **os.environ,
            "PGDATABASE": connection.settings_dict["NAME"],
            "PROJECTORD_LISTEN": listen,
            "PROJECTORD_ADMIN_TOKEN": secrets.token_hex(16),
            "PROJECTORD_LOG_LEVEL": "warn",
            "EMAIL_FILE_PATH": cls.mail_dir,
        }
        # This process asks the daemon for waits and rebuilds as the page and the admin action do.
        daemon_url = override_settings(PROJECTORD_URL=f"http://{listen}")
        daemon_url.enable()
        cls.addClassCleanup(daemon_url.disable)
        token = mock.patch.dict(os.environ, PROJECTORD_ADMIN_TOKEN=cls.env["PROJECTORD_ADMIN_TOKEN"])
        token.start()
        cls.addClassCleanup(token.stop)

        queue = settings.CELERY_TASK_ROUTES[send_welcome_email.name]["queue"]
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)  # tasks of an interrupted run
        worker = subprocess.Popen(
            ["/usr/bin/python3", "-m", "celery", "-A", "mysite", "--quiet", "worker", "--pool=solo", "-Q", queue,
             "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
            cwd=settings.BASE_DIR, env=cls.env,
        )
        cls.addClassCleanup(stop, worker)

    def setUp(self):
        binary = os.environ.get("PROJECTORD_BIN") or shutil.which("projectord")
        self.assertIsNotNone(binary, "set PROJECTORD_BIN to the daemon binary")
        projectord = [binary, "--config", str(CONFIG)]
        subprocess.run([*projectord, "migrate"], env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.addCleanup(self.drop_projectord_tables, projectord)
        daemon = subprocess.Popen([*projectord, "run"], env=self.env)
        self.addCleanup(stop, daemon)

        def answers_healthz():
            self.assertIsNone(daemon.poll(), "projectord exited")
            return self.status_of("/healthz") == 200

        poll(answers_healthz, "projectord answers /healthz")

    def drop_projectord_tables(self, projectord):
        subprocess.run(
            [*projectord, "migrate", "--uninstall"], env=self.env, check=True, stdout=subprocess.DEVNULL
        )
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE user_projection, user_event_log")

    def status_of(self, path):
        try:
            with urllib.request.urlopen(settings.PROJECTORD_URL + path, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except urllib.error.URLError:
            return None

    def emails_to(self, address):
        """How many messages the worker's mail backend wrote to `address`."""
        return sum(path.read_text().count(f"\nTo: {address}\n") for path in Path(self.mail_dir).iterdir())

    def test_a_user_written_by_the_management_commands_is_in_the_read_models_when_each_command_returns(self):
        out = io.StringIO()
        call_command("register_user", "ada", "ada@example.com", first_name="Ada", last_name="Lovelace", stdout=out)
        ada = str(EventStoreRecord.objects.get(event_type="UserRegistered").aggregate_id)
        self.assertEqual(UserProjection.objects.get(user_id=ada).email, "ada@example.com")

        call_command("change_email", ada, "ada@lovelace.org", stdout=out)
        self.assertEqual(UserProjection.objects.get(user_id=ada).email, "ada@lovelace.org")
        call_command("update_profile", ada, phone="+44 20 7946 0123", stdout=out)
        call_command("deactivate_user", ada, reason="Spam account", stdout=out)

        projection = UserProjection.objects.get(user_id=ada)
        self.assertEqual(
            (projection.username, projection.email, projection.first_name, projection.last_name, projection.phone),
            ("ada", "ada@lovelace.org", "Ada", "Lovelace", "+44 20 7946 0123"),
        )
        self.assertFalse(projection.is_active)
        self.assertIsNotNone(projection.deactivated_at)
        self.assertEqual(projection.current_version, 4)
        log = UserEventLog.objects.filter(user_id=ada)
        self.assertEqual(
            [(entry.event_type, entry.event_version, entry.global_position) for entry in log],
            [(record.event_type, record.version, record.id)
             for record in EventStoreRecord.objects.filter(aggregate_id=ada).order_by("id")],
        )
        self.assertEqual(log.last().event_data, {"reason": "Spam account"})

    def test_the_register_page_redirects_to_a_page_that_already_shows_the_new_user(self):
        response = self.client.post(reverse("register"), {"username": "grace", "email": "grace@example.com"},
                                    follow=True)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["username"], "grace")
        self.assertTrue(response.json()["is_active"])

    def test_the_welcome_email_is_sent_once_even_when_its_task_is_delivered_twice(self):
        barbara = domain.register_user("barbara", "barbara@example.com", "Barbara", "Liskov")
        sent = poll(lambda: WelcomeEmail.objects.filter(email="barbara@example.com").first(),
                    "the worker sends Barbara's welcome email")
        self.assertEqual(sent.user_id, str(barbara.aggregate_id))

        # The same task again, as projectord delivers it after a crash between queueing and its checkpoint.
        send_welcome_email.apply_async((sent.user_id, sent.email), {"name": "Barbara"}, task_id=sent.task_id)
        # The worker runs its queue in order: once the next registration's email is out, the repeat has run.
        domain.register_user("edsger", "edsger@example.com", "Edsger")
        poll(lambda: WelcomeEmail.objects.filter(email="edsger@example.com").exists(),
             "the worker sends Edsger's welcome email")

        self.assertEqual(WelcomeEmail.objects.filter(email="barbara@example.com").count(), 1)
        self.assertEqual(self.emails_to("barbara@example.com"), 1)
        self.assertEqual(self.emails_to("edsger@example.com"), 1)

    def test_the_admin_action_makes_the_daemon_rebuild_the_read_model(self):
        wait_for(domain.register_user("alan", "alan@example.com", "Alan", "Turing").id)
        live_table = self.table_oid()

        self.assertEqual(self.choose_rebuild_in_the_admin(), ["projectord is rebuilding the users read model."])
        # The rebuilt model is swapped in as a table of its own.
        poll(lambda: self.table_oid() != live_table, "the rebuilt user_projection is swapped in")
        self.assertEqual(UserProjection.objects.get().email, "alan@example.com")

    def test_the_admin_action_reports_the_daemons_refusal(self):
        wait_for(domain.register_user("alan", "alan@example.com").id)
        with mock.patch.dict(os.environ, PROJECTORD_ADMIN_TOKEN="wrong"):
            [message] = self.choose_rebuild_in_the_admin()
        self.assertTrue(message.startswith("projectord refused the rebuild (401)"), message)

    def choose_rebuild_in_the_admin(self):
        """Runs the action on the UserProjection list as a superuser; returns the messages the next page shows."""
        self.client.force_login(User.objects.create_superuser("admin", "admin@example.com", "unused"))
        response = self.client.post(
            reverse("admin:users_userprojection_changelist"),
            {"action": "rebuild_read_model", "_selected_action": [UserProjection.objects.get().pk]},
            follow=True,
        )
        return [str(message) for message in response.context["messages"]]

    def table_oid(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'user_projection'::regclass::oid")
            return cursor.fetchone()[0]


class OptimisticConcurrencyTest(TestCase):
    def test_a_writer_who_read_an_older_version_of_the_user_is_refused(self):
        ada = domain.register_user("ada", "ada@example.com").aggregate_id
        stale = domain.load_user(ada)
        domain.change_email(ada, "ada@lovelace.org")

        with mock.patch.object(domain, "load_user", return_value=stale):
            with self.assertRaises(domain.ConcurrentWrite):
                domain.change_email(ada, "ada@analytical.engine")
        self.assertEqual(domain.load_user(ada).email, "ada@lovelace.org")

    def test_a_deactivated_user_takes_no_further_commands(self):
        ada = domain.register_user("ada", "ada@example.com").aggregate_id
        domain.deactivate_user(ada, "Requested by user")

        with self.assertRaises(domain.UserError):
            domain.update_profile(ada, phone="+1 202 555 0100")
