from users import domain
from users.management.event_command import EventCommand


class Command(EventCommand):
    help = "Changes a user's email (UserEmailChanged)."

    def add_event_arguments(self, parser):
        parser.add_argument("user_id", type=int)
        parser.add_argument("new_email")

    def append(self, **options):
        return domain.change_email(options["user_id"], options["new_email"])
