from users import domain
from users.management.event_command import EventCommand


class Command(EventCommand):
    help = "Registers a user (UserRegistered); projectord's welcome_email handler has the welcome email sent."

    def add_event_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("email")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def append(self, **options):
        return domain.register_user(
            options["username"], options["email"], options["first_name"], options["last_name"]
        )
