from users import domain
from users.management.event_command import EventCommand


class Command(EventCommand):
    help = "Deactivates a user (UserDeactivated)."

    def add_event_arguments(self, parser):
        parser.add_argument("user_id", type=int)
        parser.add_argument("--reason", default="Requested by user")

    def append(self, **options):
        return domain.deactivate_user(options["user_id"], options["reason"])
